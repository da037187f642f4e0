//! The checks a receipt's 公費 can be given from the receipt and the masters alone (the checks
//! against PMH and the ledger use these findings' shape, in the gateway):
//!
//! - each KO's 負担者番号 check digit; its 受給者番号 in the form the programme takes (7 digits
//!   with a check digit for a national programme that has one; a local programme's own number,
//!   as the KO field holds it: up to 7 digits); a programme that does not cover
//!   the receipt's setting (入院 only on an outpatient receipt, a programme without 調剤);
//! - the KO records in the priority rules' order (national by rank, then local), a single-only
//!   programme alone, at most four;
//! - the レセプト種別 against the file and the receipt: 医科 / 調剤 as the IR says, 医保 / 後期 /
//!   公費のみ as the HO says (後期 insurers are 法別 39), the number of 公費 as the KOs count, the
//!   last digit in the range its kind allows;
//! - each KO's 診療実日数 and 合計点数 not above the HO's.

use std::fmt;

use super::{Receipt, ScoreTable};
use crate::domain::{PayerNumber, RecipientNumber};
use crate::masters::{CareScope, MasterSnapshot, PharmacyRule};

/// What a finding is about: a stable code (its words may improve; the code does not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingCode {
    PayerNumberCheckDigit,
    RecipientNumberForm,
    RecipientNumberMissing,
    SettingNotCovered,
    KoOrder,
    SingleOnlyCombined,
    TooManyKo,
    ReceiptKindClaim,
    ReceiptKindInsurance,
    ReceiptKindKohiCount,
    ReceiptKindLastDigit,
    KoDaysOverHo,
    KoPointsOverHo,
    // Against PMH and the ledger (`against`).
    KoNotInPmh,
    KoRecipientDiffers,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateMissing,
    DesignatedInstitutionOther,
    KoBurdenOverCap,
    KoBurdenDiffersFromLedger,
}

impl FindingCode {
    pub const ALL: &'static [Self] = &[
        Self::PayerNumberCheckDigit,
        Self::RecipientNumberForm,
        Self::RecipientNumberMissing,
        Self::SettingNotCovered,
        Self::KoOrder,
        Self::SingleOnlyCombined,
        Self::TooManyKo,
        Self::ReceiptKindClaim,
        Self::ReceiptKindInsurance,
        Self::ReceiptKindKohiCount,
        Self::ReceiptKindLastDigit,
        Self::KoDaysOverHo,
        Self::KoPointsOverHo,
        Self::KoNotInPmh,
        Self::KoRecipientDiffers,
        Self::CertificateExpired,
        Self::CertificateNotYetValid,
        Self::CertificateMissing,
        Self::DesignatedInstitutionOther,
        Self::KoBurdenOverCap,
        Self::KoBurdenDiffersFromLedger,
    ];

    /// Found against PMH's certificates or the 管理票 ledger (`against`), not from the receipt
    /// and the masters alone.
    pub const fn needs_pmh_or_ledger(self) -> bool {
        matches!(
            self,
            Self::KoNotInPmh
                | Self::KoRecipientDiffers
                | Self::CertificateExpired
                | Self::CertificateNotYetValid
                | Self::CertificateMissing
                | Self::DesignatedInstitutionOther
                | Self::KoBurdenOverCap
                | Self::KoBurdenDiffersFromLedger
        )
    }

    /// The code on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PayerNumberCheckDigit => "payer_number_check_digit",
            Self::RecipientNumberForm => "recipient_number_form",
            Self::RecipientNumberMissing => "recipient_number_missing",
            Self::SettingNotCovered => "setting_not_covered",
            Self::KoOrder => "ko_order",
            Self::SingleOnlyCombined => "single_only_combined",
            Self::TooManyKo => "too_many_ko",
            Self::ReceiptKindClaim => "receipt_kind_claim",
            Self::ReceiptKindInsurance => "receipt_kind_insurance",
            Self::ReceiptKindKohiCount => "receipt_kind_kohi_count",
            Self::ReceiptKindLastDigit => "receipt_kind_last_digit",
            Self::KoDaysOverHo => "ko_days_over_ho",
            Self::KoPointsOverHo => "ko_points_over_ho",
            Self::KoNotInPmh => "ko_not_in_pmh",
            Self::KoRecipientDiffers => "ko_recipient_differs",
            Self::CertificateExpired => "certificate_expired",
            Self::CertificateNotYetValid => "certificate_not_yet_valid",
            Self::CertificateMissing => "certificate_missing",
            Self::DesignatedInstitutionOther => "designated_institution_other",
            Self::KoBurdenOverCap => "ko_burden_over_cap",
            Self::KoBurdenDiffersFromLedger => "ko_burden_differs_from_ledger",
        }
    }
}

/// One finding on one receipt. Its words name payer numbers (public) and positions, never a
/// recipient or insured number, a name or a birthdate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: FindingCode,
    /// The receipt's レセプト番号 (順番号).
    pub receipt: u32,
    /// The line the finding is about (the KO's, the HO's, or the RE's).
    pub line: usize,
    /// For the clerk.
    pub ja: String,
    /// The same in English.
    pub en: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "receipt {} (line {}): {}: {}",
            self.receipt,
            self.line,
            self.code.as_str(),
            self.en
        )
    }
}

/// What the masters say of a KO's programme, for the checks.
struct Programme {
    /// 0 national, 1 local, 2 unknown; then the rank within.
    order: (u8, u16),
    label: String,
    single_only: bool,
    care_scope: Option<CareScope>,
    pharmacy_not_covered: bool,
    /// A national programme whose 受給者番号 is 7 digits with a check digit.
    national_recipient: bool,
    /// A local programme: its 受給者番号 is its own, written in the KO's field of at most 7
    /// digits.
    local: bool,
}

fn programme(payer: &PayerNumber, masters: &MasterSnapshot) -> Programme {
    let law = payer.law_code();
    // The answers' order: the masters' rank, unknown programmes last.
    let order = crate::mapping::programme_order(payer, masters).unwrap_or(
        crate::mapping::order_class(crate::mapping::ProgrammeKind::Unknown, None),
    );
    if let Some(n) = masters.national(law) {
        return Programme {
            order,
            label: n.short_name.clone(),
            single_only: n.single_only,
            care_scope: Some(n.care_scope),
            pharmacy_not_covered: n.pharmacy_rule == PharmacyRule::NotCovered,
            national_recipient: n.recipient_number_required,
            local: false,
        };
    }
    if let Some(l) = masters.local(payer) {
        return Programme {
            order,
            label: l.short_name.clone(),
            single_only: false,
            care_scope: Some(l.care_scope),
            pharmacy_not_covered: false,
            national_recipient: false,
            local: true,
        };
    }
    Programme {
        order,
        label: format!("法別{law}"),
        single_only: false,
        care_scope: None,
        pharmacy_not_covered: false,
        national_recipient: false,
        local: false,
    }
}

/// A local programme's 受給者番号 as the KO record holds it: 1 to 7 digits (full-width ones too).
fn local_recipient_form(rn: &str) -> bool {
    let n = rn.chars().count();
    (1..=7).contains(&n)
        && rn
            .chars()
            .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
}

/// The findings on `receipts` of a file whose IR gives `table` (医科 when unknown).
pub fn check(receipts: &[Receipt], table: ScoreTable, masters: &MasterSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in receipts {
        one(r, table, masters, &mut out);
    }
    out
}

fn one(r: &Receipt, table: ScoreTable, masters: &MasterSnapshot, out: &mut Vec<Finding>) {
    let mut find = |code: FindingCode, line: usize, ja: String, en: String| {
        out.push(Finding {
            code,
            receipt: r.number,
            line,
            ja,
            en,
        });
    };
    let inpatient = table != ScoreTable::Pharmacy && r.kind.inpatient();
    // Each KO on its own.
    let mut programmes = Vec::new();
    for (i, ko) in r.subsidies.iter().enumerate() {
        let nth = i + 1;
        let payer = match PayerNumber::parse(&ko.payer_number) {
            Ok(p) => p,
            Err(e) if e.is_check_digit() => {
                find(
                    FindingCode::PayerNumberCheckDigit,
                    ko.line,
                    format!(
                        "第{nth}公費の負担者番号 {} の検証番号が合いません（{e}）。受給者証の番号を確認してください。",
                        ko.payer_number
                    ),
                    format!("第{nth}公費: payer number {e}"),
                );
                continue;
            }
            Err(_) => continue, // the reader said so
        };
        let p = programme(&payer, masters);
        match (&ko.recipient_number, p.national_recipient) {
            (Some(rn), true) if RecipientNumber::parse_national(rn).is_err() => find(
                FindingCode::RecipientNumberForm,
                ko.line,
                format!(
                    "第{nth}公費（{}）の受給者番号が7桁・検証番号の形になっていません。受給者証を確認してください。",
                    p.label
                ),
                format!(
                    "第{nth}公費 ({}): the recipient number is not 7 digits with a valid check digit",
                    p.label
                ),
            ),
            (Some(rn), false) if p.local && !local_recipient_form(rn) => find(
                FindingCode::RecipientNumberForm,
                ko.line,
                format!(
                    "第{nth}公費（{}）の受給者番号が、KOレコードの受給者番号（7桁以内の数字）の形になっていません。受給者証を確認してください。",
                    p.label
                ),
                format!(
                    "第{nth}公費 ({}): the recipient number is not the KO field's form (up to 7 digits)",
                    p.label
                ),
            ),
            (None, true) => find(
                FindingCode::RecipientNumberMissing,
                ko.line,
                format!(
                    "第{nth}公費（{}）には受給者番号が必要ですが、記録されていません。",
                    p.label
                ),
                format!(
                    "第{nth}公費 ({}) takes a recipient number, but none is recorded",
                    p.label
                ),
            ),
            _ => {}
        }
        let uncovered = if table == ScoreTable::Pharmacy {
            p.pharmacy_not_covered
                .then_some(("調剤", "pharmacy (調剤)"))
        } else {
            match p.care_scope {
                Some(CareScope::Inpatient) if !inpatient => {
                    Some(("入院外", "an outpatient receipt"))
                }
                Some(CareScope::Outpatient) if inpatient => Some(("入院", "an inpatient receipt")),
                _ => None,
            }
        };
        if let Some((ja, en)) = uncovered {
            find(
                FindingCode::SettingNotCovered,
                ko.line,
                format!(
                    "第{nth}公費（{}、負担者番号 {}）は{ja}のレセプトを対象としていません。",
                    p.label, ko.payer_number
                ),
                format!(
                    "第{nth}公費 ({}, payer {}) does not cover {en}",
                    p.label, ko.payer_number
                ),
            );
        }
        programmes.push((nth, ko, p));
    }
    // The KOs together.
    if r.subsidies.len() > 4 {
        find(
            FindingCode::TooManyKo,
            r.subsidies[4].line,
            format!(
                "公費が{}件あります。1枚のレセプトに記録できるのは4件までです。",
                r.subsidies.len()
            ),
            format!(
                "{} KO records: a receipt carries at most 4",
                r.subsidies.len()
            ),
        );
    }
    for pair in programmes.windows(2) {
        let ((a_nth, _, a), (b_nth, b_ko, b)) = (&pair[0], &pair[1]);
        if b.order < a.order {
            find(
                FindingCode::KoOrder,
                b_ko.line,
                format!(
                    "公費の順序が優先順位と異なります：第{b_nth}公費（{}）は第{a_nth}公費（{}）より先に記録します。",
                    b.label, a.label
                ),
                format!(
                    "KO order: 第{b_nth}公費 ({}) comes before 第{a_nth}公費 ({}) by the priority rules",
                    b.label, a.label
                ),
            );
        }
    }
    let others = r.subsidies.len() > 1 || r.insurance.is_some();
    for (nth, ko, p) in &programmes {
        if p.single_only && others {
            find(
                FindingCode::SingleOnlyCombined,
                ko.line,
                format!(
                    "第{nth}公費（{}）は単独で請求する公費ですが、保険または他の公費と併用されています。",
                    p.label
                ),
                format!(
                    "第{nth}公費 ({}) is billed alone, but the receipt has insurance or another 公費",
                    p.label
                ),
            );
        }
    }
    // The レセプト種別.
    let kind = r.kind.as_str().as_bytes();
    let claim_ok = match table {
        ScoreTable::Medical => kind[0] == b'1',
        ScoreTable::Dental => kind[0] == b'3',
        ScoreTable::Pharmacy => kind[0] == b'4',
    };
    if !claim_ok {
        find(
            FindingCode::ReceiptKindClaim,
            r.line,
            format!(
                "レセプト種別 {} の1桁目が、ファイルの点数表（IR）と合いません。",
                r.kind.as_str()
            ),
            format!(
                "レセプト種別 {}: its first digit does not fit the file's 点数表 (IR)",
                r.kind.as_str()
            ),
        );
    }
    let late_elderly = r
        .insurance
        .as_ref()
        .is_some_and(|h| h.insurer_number.len() == 8 && h.insurer_number.starts_with("39"));
    let expected = match (&r.insurance, late_elderly) {
        (None, _) => b'2',
        (Some(_), true) => b'3',
        (Some(_), false) => b'1',
    };
    let insurance_ok = kind[1] == expected || (expected == b'1' && kind[1] == b'4');
    if !insurance_ok {
        let (ja, en) = match expected {
            b'2' => (
                "保険者レコード（HO）がないため公費のみ（2桁目 2）",
                "no HO record: 公費のみ (second digit 2)",
            ),
            b'3' => (
                "保険者番号が後期高齢者医療（法別39）のため2桁目 3",
                "a 後期高齢者 insurer (法別 39): second digit 3",
            ),
            _ => (
                "医療保険の保険者レコード（HO）があるため2桁目 1",
                "an HO record of health insurance: second digit 1",
            ),
        };
        find(
            FindingCode::ReceiptKindInsurance,
            r.line,
            format!(
                "レセプト種別 {} の2桁目が保険と合いません：{ja}のはずです。",
                r.kind.as_str()
            ),
            format!("レセプト種別 {}: {en}", r.kind.as_str()),
        );
    }
    if r.kind.subsidies() != r.subsidies.len() {
        find(
            FindingCode::ReceiptKindKohiCount,
            r.line,
            format!(
                "レセプト種別 {} の公費の数（{}件）が公費レコード（KO）の数（{}件）と合いません。",
                r.kind.as_str(),
                r.kind.subsidies(),
                r.subsidies.len()
            ),
            format!(
                "レセプト種別 {} says {} 公費; the receipt has {} KO records",
                r.kind.as_str(),
                r.kind.subsidies(),
                r.subsidies.len()
            ),
        );
    }
    let last = kind[3];
    let last_ok = match (table, kind[1]) {
        (ScoreTable::Pharmacy, _) if last % 2 == 1 => false,
        (_, b'2') => matches!(last, b'1' | b'2'),
        (_, b'3') => matches!(last, b'7' | b'8' | b'9' | b'0'),
        _ => true,
    };
    if !last_ok {
        find(
            FindingCode::ReceiptKindLastDigit,
            r.line,
            format!(
                "レセプト種別 {} の4桁目がこの種類のレセプトにない値です（調剤は偶数、公費のみは1・2、後期は7〜0）。",
                r.kind.as_str()
            ),
            format!(
                "レセプト種別 {}: its last digit is not one this kind takes (調剤 even, 公費のみ 1 or 2, 後期 7 to 0)",
                r.kind.as_str()
            ),
        );
    }
    // Each KO within the HO.
    if let Some(ho) = &r.insurance {
        for (i, ko) in r.subsidies.iter().enumerate() {
            let nth = i + 1;
            if let (Some(k), Some(h)) = (ko.days, ho.days)
                && k > h
            {
                find(
                    FindingCode::KoDaysOverHo,
                    ko.line,
                    format!(
                        "第{nth}公費の診療実日数（{k}日）が保険の診療実日数（{h}日）を超えています。"
                    ),
                    format!("第{nth}公費: {k} days, more than the HO's {h}"),
                );
            }
            if let (Some(k), Some(h)) = (ko.points, ho.points)
                && k > h
            {
                find(
                    FindingCode::KoPointsOverHo,
                    ko.line,
                    format!(
                        "第{nth}公費の合計点数（{k}点）が保険の合計点数（{h}点）を超えています。"
                    ),
                    format!("第{nth}公費: {k} points, more than the HO's {h}"),
                );
            }
        }
    }
}
