//! The checks of a receipt against what PMH holds for its patient in the claim month, and
//! against the month the 管理票 ledger counted at this institution.
//!
//! PMH's certificates come mapped (`mapping::map` for the receipt's setting, on a day of the
//! month, with this institution's code), active and inactive alike; each KO is paired with the
//! certificates of its 負担者番号:
//!
//! - none: `ko_not_in_pmh` (naming PMH's certificate of the same 法別 when there is one, a
//!   likely mistyped number); a KO whose payer number already failed its check digit is paired
//!   with that certificate silently — the finding on the check digit says it;
//! - the recipient number differs from every one of them: `ko_recipient_differs` (unless the
//!   recipient number already failed its form);
//! - validity not covering the month: `certificate_expired` (ends before its last day),
//!   `certificate_not_yet_valid` (starts after its first day);
//! - the certificate names designated institutions and this is not one: `designated_institution_other`;
//! - the KO's 負担金額 above the certificate's monthly cap for the setting: `ko_burden_over_cap`.
//!
//! A certificate valid on some day of the month that could be used here (a programme the masters
//! know, covering the setting, the patient's age and insurance, not reimbursement-only, this
//! institution designated where any is) and that no KO claims is `certificate_missing`: the
//! patient may have paid what the 公費 owed, a refund.

use chrono::NaiveDate;

use super::{Finding, FindingCode, Receipt};
use crate::mapping::{Flag, Mapped, MappedSubsidy, WarningCode};

/// The month a receipt claims: its first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimMonth {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl ClaimMonth {
    /// The day a check about this month asks PMH for (and maps its certificates on): the
    /// month's last, or `today` while the month runs (never before its first).
    pub fn asked_on(self, today: NaiveDate) -> NaiveDate {
        self.last.min(today).max(self.first)
    }

    /// The month of `day`.
    pub fn of(day: NaiveDate) -> Self {
        use chrono::Datelike;
        let first = day.with_day(1).expect("day 1 exists");
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .expect("a month has a last day");
        Self { first, last }
    }
}

/// What makes a certificate unusable at this institution in this setting: it is then not
/// "missing" from a receipt that leaves it out.
const NOT_USABLE: [WarningCode; 7] = [
    WarningCode::UnknownProgramme,
    WarningCode::SettingNotCovered,
    WarningCode::AgeOutsideProgramme,
    WarningCode::InsuranceKindNotCovered,
    WarningCode::ProgrammeNotInForce,
    WarningCode::PayerNumberMissing,
    WarningCode::PayerNumberMalformed,
];

fn overlaps(s: &MappedSubsidy, m: ClaimMonth) -> bool {
    s.validity
        .is_some_and(|v| v.from.is_none_or(|f| f <= m.last) && v.to.is_none_or(|t| t >= m.first))
}

fn usable(s: &MappedSubsidy) -> bool {
    !s.flags.contains(&Flag::ReimbursementOnly)
        && !s.flags.contains(&Flag::DesignatedInstitutionMismatch)
        && !s.warnings.iter().any(|w| NOT_USABLE.contains(&w.code))
}

fn label(s: &MappedSubsidy) -> String {
    s.programme
        .short_name
        .clone()
        .unwrap_or_else(|| format!("負担者番号 {}", s.payer_number))
}

/// Digits of a recipient number as written (full-width folded, spaces dropped), for comparing.
fn same_recipient(a: Option<&str>, b: Option<&str>) -> bool {
    let norm = |s: Option<&str>| {
        s.map(|s| {
            s.chars()
                .filter_map(|c| match c {
                    '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
                    ' ' | '\u{3000}' => None,
                    c => Some(c),
                })
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
    };
    norm(a) == norm(b)
}

/// The findings on `receipt` against `pmh`: every certificate PMH holds for its patient, mapped
/// for the receipt's setting. `earlier` are the findings already made on the receipt (by
/// [`super::check`]): a field they name is not named again.
pub fn against_pmh(
    receipt: &Receipt,
    month: ClaimMonth,
    pmh: &Mapped,
    earlier: &[Finding],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut find = |code: FindingCode, line: usize, ja: String, en: String| {
        out.push(Finding {
            code,
            receipt: receipt.number,
            line,
            ja,
            en,
        });
    };
    let flagged = |line: usize, codes: &[FindingCode]| {
        earlier
            .iter()
            .any(|f| f.receipt == receipt.number && f.line == line && codes.contains(&f.code))
    };
    let all: Vec<&MappedSubsidy> = pmh.active.iter().chain(&pmh.inactive).collect();
    let mut claimed = vec![false; all.len()];
    let inpatient = receipt.kind.inpatient();
    for (i, ko) in receipt.subsidies.iter().enumerate() {
        let nth = i + 1;
        let same_payer: Vec<usize> = (0..all.len())
            .filter(|&j| all[j].payer_number == ko.payer_number)
            .collect();
        if same_payer.is_empty() {
            // A certificate of the same programme (法別) that no KO claims: the likely one meant.
            let law = ko.payer_number.get(..2);
            let meant = (0..all.len()).find(|&j| {
                !claimed[j]
                    && overlaps(all[j], month)
                    && all[j].payer_number.get(..2) == law
                    && !receipt
                        .subsidies
                        .iter()
                        .any(|k| k.payer_number == all[j].payer_number)
            });
            if flagged(ko.line, &[FindingCode::PayerNumberCheckDigit]) {
                if let Some(j) = meant {
                    claimed[j] = true;
                }
                continue;
            }
            match meant {
                Some(j) => {
                    claimed[j] = true;
                    find(
                        FindingCode::KoNotInPmh,
                        ko.line,
                        format!(
                            "第{nth}公費の負担者番号 {} の受給者証はPMHにありません。PMHには同じ制度（{}）の負担者番号 {} があります。入力を確認してください。",
                            ko.payer_number,
                            label(all[j]),
                            all[j].payer_number
                        ),
                        format!(
                            "第{nth}公費: PMH holds no certificate of payer {}; it holds {} of the same programme ({})",
                            ko.payer_number,
                            all[j].payer_number,
                            label(all[j])
                        ),
                    );
                }
                None => find(
                    FindingCode::KoNotInPmh,
                    ko.line,
                    format!(
                        "第{nth}公費の負担者番号 {} の受給者証はPMHにありません。受給者証の原本を確認してください。",
                        ko.payer_number
                    ),
                    format!(
                        "第{nth}公費: PMH holds no certificate of payer {} for this patient",
                        ko.payer_number
                    ),
                ),
            }
            continue;
        }
        for &j in &same_payer {
            claimed[j] = true;
        }
        let recipient_flagged = flagged(
            ko.line,
            &[
                FindingCode::RecipientNumberForm,
                FindingCode::RecipientNumberMissing,
            ],
        );
        let matching: Vec<&MappedSubsidy> = same_payer
            .iter()
            .map(|&j| all[j])
            .filter(|s| {
                recipient_flagged
                    || same_recipient(
                        ko.recipient_number.as_deref(),
                        s.recipient_number.as_deref(),
                    )
            })
            .collect();
        let Some(first) = matching.first() else {
            find(
                FindingCode::KoRecipientDiffers,
                ko.line,
                format!(
                    "第{nth}公費（{}）の受給者番号が、PMHの受給者証の番号と異なります。受給者証を確認してください。",
                    label(all[same_payer[0]])
                ),
                format!(
                    "第{nth}公費 ({}): the recipient number differs from PMH's certificate",
                    label(all[same_payer[0]])
                ),
            );
            continue;
        };
        let name = label(first);
        // The span the matching certificates cover (a renewal continues the earlier one).
        let from = matching
            .iter()
            .map(|s| s.validity.and_then(|v| v.from))
            .min()
            .flatten();
        let unbounded_to = matching
            .iter()
            .any(|s| s.validity.is_some_and(|v| v.to.is_none()));
        let to = if unbounded_to {
            None
        } else {
            matching
                .iter()
                .filter_map(|s| s.validity.and_then(|v| v.to))
                .max()
        };
        let readable = matching.iter().all(|s| s.validity.is_some());
        if readable {
            if let Some(t) = to.filter(|t| *t < month.last) {
                let (ja, en) = if t < month.first {
                    ("この月より前に", "before this month")
                } else {
                    ("月の途中で", "during the month")
                };
                find(
                    FindingCode::CertificateExpired,
                    ko.line,
                    format!(
                        "第{nth}公費（{name}）の受給者証は{ja}有効期間が終わっています（{t}まで）。{t}より後の診療は請求できません。",
                    ),
                    format!("第{nth}公費 ({name}): the certificate ended {en} (valid to {t})"),
                );
            }
            if let Some(f) = from.filter(|f| *f > month.first) {
                let (ja, en) = if f > month.last {
                    ("この月の後から", "after this month")
                } else {
                    ("月の途中から", "during the month")
                };
                find(
                    FindingCode::CertificateNotYetValid,
                    ko.line,
                    format!(
                        "第{nth}公費（{name}）の受給者証は{ja}有効です（{f}から）。{f}より前の診療は請求できません。",
                    ),
                    format!("第{nth}公費 ({name}): the certificate starts {en} (valid from {f})"),
                );
            }
        }
        if matching
            .iter()
            .all(|s| s.flags.contains(&Flag::DesignatedInstitutionMismatch))
        {
            find(
                FindingCode::DesignatedInstitutionOther,
                ko.line,
                format!(
                    "第{nth}公費（{name}）の受給者証の指定医療機関に、この医療機関が含まれていません。"
                ),
                format!(
                    "第{nth}公費 ({name}): this institution is not among the certificate's designated institutions"
                ),
            );
        }
        let cap = matching.iter().filter_map(|s| s.copay.caps.per_month).min();
        if let (Some(cap), Some(yen)) = (cap, ko.burden_yen)
            && yen > cap.0
        {
            let setting = if inpatient { "入院" } else { "外来" };
            find(
                FindingCode::KoBurdenOverCap,
                ko.line,
                format!(
                    "第{nth}公費（{name}）の負担金額 {yen}円が、受給者証の{setting}の月額上限 {}円を超えています。",
                    cap.0
                ),
                format!(
                    "第{nth}公費 ({name}): 負担金額 {yen} yen is above the certificate's monthly cap of {} yen",
                    cap.0
                ),
            );
        }
    }
    for (j, s) in all.iter().enumerate() {
        if claimed[j] || !overlaps(s, month) || !usable(s) {
            continue;
        }
        // Another certificate of the same payer and recipient was claimed (a renewal).
        if all.iter().enumerate().any(|(k, o)| {
            claimed[k]
                && o.payer_number == s.payer_number
                && same_recipient(o.recipient_number.as_deref(), s.recipient_number.as_deref())
        }) {
            continue;
        }
        let name = label(s);
        find(
            FindingCode::CertificateMissing,
            receipt.line,
            format!(
                "PMHには、この月に有効な{name}の受給者証（負担者番号 {}）がありますが、レセプトに記録されていません。患者さんに払い戻しが必要な場合があります。",
                s.payer_number
            ),
            format!(
                "PMH holds a certificate of {name} (payer {}) valid in the month that the receipt does not claim: the patient may be owed a refund",
                s.payer_number
            ),
        );
    }
    out
}

/// What the 管理票 ledger holds for one KO's certificate in the claim month: the amounts of
/// this institution's own visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerMonth {
    /// The KO's position on the receipt (0 = 第1公費).
    pub ko: usize,
    /// The patient's charges at this institution under the certificate, in yen.
    pub own_yen: u64,
    /// Visits counted.
    pub visits: u32,
}

/// The findings on `receipt` against the ledger's months: each KO's 負担金額 equal to what the
/// ledger counted for this institution, where it counted any visit.
pub fn against_ledger(receipt: &Receipt, months: &[LedgerMonth]) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in months.iter().filter(|m| m.visits > 0) {
        let Some(ko) = receipt.subsidies.get(m.ko) else {
            continue;
        };
        let nth = m.ko + 1;
        let yen = ko.burden_yen.unwrap_or(0);
        if yen != m.own_yen {
            out.push(Finding {
                code: FindingCode::KoBurdenDiffersFromLedger,
                receipt: receipt.number,
                line: ko.line,
                ja: format!(
                    "第{nth}公費（負担者番号 {}）の負担金額 {yen}円が、管理票の記録（この医療機関の{}回分、{}円）と合いません。",
                    ko.payer_number, m.visits, m.own_yen
                ),
                en: format!(
                    "第{nth}公費 (payer {}): 負担金額 {yen} yen differs from the ledger's {} yen for {} visits here",
                    ko.payer_number, m.own_yen, m.visits
                ),
            });
        }
    }
    out
}
