//! A month's UKE file for the sandbox's population, as the demo institution's receipt computer
//! would write it: one 医科 outpatient receipt per person, with the KO records of the
//! certificates usable here in the month in the priority order — and, on chosen receipts, a deliberate mistake
//! of each kind the receipt checks find, listed in [`MonthFile::planted`] so that a check can be
//! held to finding exactly those: mistakes in the receipt itself, and mistakes only PMH shows (a
//! KO PMH does not hold, another recipient number, a certificate left out, one expired or not
//! yet valid, one for another institution, a 負担金額 above the cap).
//!
//! A person whose correct receipt already gives a finding (the population's own anomalies: a
//! broken check digit, a single-only programme combined, a certificate that ends within the
//! month …) is left out, so that the planted findings are the only ones. The PMH comparison is
//! made as the gateway makes it: PMH's certificates mapped on the month's last day (the
//! population's today when the month runs on), at the demo institution.

use chrono::{Datelike, NaiveDate};
use pmh_core::claims::{
    self, ClaimMonth, FindingCode, Insurance, Receipt, ReceiptKind, Subsidy, against_pmh,
};
use pmh_core::domain::{
    Certificate, MedicalInstitutionCode, PayerNumber, ServiceDate, check_digit,
};
use pmh_core::mapping::{self, Mapped, VisitContext, programme_order};
use pmh_core::masters::MasterSnapshot;
use pmh_formats::pmh::WireSubsidy;
use pmh_formats::uke::{self, Examiner, Institution, ScoreTable};

use crate::population::{DEMO_INSTITUTION, Persona, Population};

/// A file and the findings planted in it.
pub struct MonthFile {
    pub bytes: Vec<u8>,
    /// (receipt 順番号, the finding's code), in receipt order.
    pub planted: Vec<(u32, FindingCode)>,
    /// Receipts written.
    pub receipts: usize,
}

/// The mistakes planted, in turn, on every `EVERY`-th receipt (the next one in turn it can
/// carry). The population's receipts all have insurance and none is 後期 with 公費 often
/// enough, so the kinds that need those (a single-only programme combined, more than four 公費,
/// a last digit of another kind, a programme outside its setting) are the core's tests' alone;
/// and the sandbox keeps no 管理票 ledger, so a 負担金額 that differs from it is the gateway's
/// tests'.
pub const MISTAKES: [FindingCode; 15] = [
    FindingCode::PayerNumberCheckDigit,
    FindingCode::KoNotInPmh,
    FindingCode::RecipientNumberForm,
    FindingCode::KoRecipientDiffers,
    FindingCode::RecipientNumberMissing,
    FindingCode::CertificateMissing,
    FindingCode::KoOrder,
    FindingCode::CertificateExpired,
    FindingCode::ReceiptKindKohiCount,
    FindingCode::CertificateNotYetValid,
    FindingCode::ReceiptKindInsurance,
    FindingCode::DesignatedInstitutionOther,
    FindingCode::KoDaysOverHo,
    FindingCode::KoBurdenOverCap,
    FindingCode::KoPointsOverHo,
];
const EVERY: usize = 5;
/// Kinds few people of the population can carry (a certificate that ended before the month,
/// starts after it, or names another institution): each planted once, on the first receipt that
/// can carry it.
const RARE: [FindingCode; 3] = [
    FindingCode::CertificateExpired,
    FindingCode::CertificateNotYetValid,
    FindingCode::DesignatedInstitutionOther,
];

/// The UKE file of `month` (its first day) for `pop`, at most `limit` receipts.
pub fn month_file(
    pop: &Population,
    masters: &MasterSnapshot,
    month: NaiveDate,
    limit: usize,
) -> MonthFile {
    let claim_month = ClaimMonth::of(month);
    let mut receipts = Vec::new();
    let mut planted = Vec::new();
    let mut turn = 0usize;
    for p in &pop.personas {
        if receipts.len() >= limit {
            break;
        }
        let number = u32::try_from(receipts.len() + 1).unwrap_or(u32::MAX);
        let Some(pmh) = pmh_of(p, masters, claim_month, pop.today) else {
            continue;
        };
        let Some(mut r) = receipt(p, masters, claim_month, &pmh, number) else {
            continue;
        };
        // Only people whose correct receipt is clean, against PMH too.
        let offline = claims::check(std::slice::from_ref(&r), ScoreTable::Medical, masters);
        if !offline.is_empty() || !against_pmh(&r, claim_month, &pmh, &offline).is_empty() {
            continue;
        }
        let planting = Planting {
            persona: p,
            masters,
            month: claim_month,
            pmh: &pmh,
        };
        // A mistake is planted only where it gives exactly its own finding.
        let plant = |r: &mut Receipt, want: FindingCode| {
            let mut tried = r.clone();
            planting.plant(&mut tried, want)?;
            let offline = claims::check(std::slice::from_ref(&tried), ScoreTable::Medical, masters);
            let mut all: Vec<FindingCode> = offline.iter().map(|f| f.code).collect();
            all.extend(
                against_pmh(&tried, claim_month, &pmh, &offline)
                    .iter()
                    .map(|f| f.code),
            );
            (all == [want]).then(|| *r = tried)
        };
        // A kind few people can carry, once, on the first receipt that can carry it.
        let rare = RARE
            .iter()
            .filter(|k| !planted.iter().any(|(_, c)| c == *k))
            .find(|k| plant(&mut r, **k).is_some());
        if let Some(&want) = rare {
            planted.push((number, want));
        } else if (receipts.len() + 1) % EVERY == 0 {
            // The kind planted least so far that this receipt can carry, in turn among equals.
            let mut turns: Vec<(usize, usize, FindingCode)> = MISTAKES
                .into_iter()
                .filter(|k| !RARE.contains(k))
                .enumerate()
                .map(|(i, k)| {
                    let times = planted.iter().filter(|(_, c)| *c == k).count();
                    (
                        times,
                        (i + MISTAKES.len() - turn % MISTAKES.len()) % MISTAKES.len(),
                        k,
                    )
                })
                .collect();
            turns.sort();
            for (_, _, want) in turns {
                if plant(&mut r, want).is_some() {
                    planted.push((number, want));
                    turn += 1;
                    break;
                }
            }
        }
        receipts.push(r);
    }
    let institution = Institution {
        line: 1,
        examiner: Examiner::Shiharai,
        prefecture: DEMO_INSTITUTION[..2].parse().expect("digits"),
        table: ScoreTable::Medical,
        code: DEMO_INSTITUTION[3..].to_owned(),
        name: "さくら医院（サンドボックス）".into(),
        billing_month: month
            .checked_add_months(chrono::Months::new(1))
            .expect("a next month"),
    };
    MonthFile {
        bytes: uke::write(&institution, &receipts),
        planted,
        receipts: receipts.len(),
    }
}

/// What PMH holds for `p`, mapped as the gateway maps it for a month's outpatient receipt.
fn pmh_of(
    p: &Persona,
    masters: &MasterSnapshot,
    month: ClaimMonth,
    today: NaiveDate,
) -> Option<Mapped> {
    let birthdate = NaiveDate::parse_from_str(&p.insured.birthdate, "%Y-%m-%d").ok()?;
    let certs: Vec<Certificate> = p
        .certificates
        .iter()
        .map(WireSubsidy::to_certificate)
        .collect();
    let ctx = VisitContext {
        institution: MedicalInstitutionCode::parse(DEMO_INSTITUTION).ok(),
        birthdate: Some(birthdate),
        ..VisitContext::on(ServiceDate::new(month.asked_on(today)))
    };
    Some(mapping::map(&certs, masters, &ctx))
}

/// A date of the wire contract (`YYYYMMDD`), parsed as the gateway parses it.
fn day(s: &Option<String>) -> Option<NaiveDate> {
    pmh_core::domain::date::parse_compact(s.as_deref()?.trim()).ok()
}

/// Whether the certificate names designated institutions and the demo institution is not one.
fn elsewhere(c: &WireSubsidy) -> bool {
    !c.designated_medical_institutions.is_empty()
        && !c
            .designated_medical_institutions
            .iter()
            .any(|i| i.medical_institution_code == DEMO_INSTITUTION)
}

/// A KO for certificate `c` with its order class, when its programme is known.
fn ko_for(c: &WireSubsidy, masters: &MasterSnapshot, burden: u64) -> Option<((u8, u16), Subsidy)> {
    let payer = PayerNumber::parse(&c.medical_subsidy_insurer_number).ok()?;
    let order = programme_order(&payer, masters)?;
    let recipient = c
        .medical_subsidy_recipient_number
        .clone()
        .filter(|r| r.len() == 7 && r.bytes().all(|b| b.is_ascii_digit()));
    Some((
        order,
        Subsidy {
            line: 0,
            payer_number: payer.as_str().to_owned(),
            recipient_number: recipient,
            days: Some(2),
            points: Some(800),
            burden_yen: Some(burden),
            outpatient_copay: None,
            inpatient_copay: None,
            meals: None,
            meal_yen: None,
        },
    ))
}

/// The monthly cap PMH's certificates of `payer` give for the setting, the lowest.
fn monthly_cap(payer: &str, pmh: &Mapped) -> Option<u64> {
    pmh.active
        .iter()
        .chain(&pmh.inactive)
        .filter(|s| s.payer_number == payer)
        .filter_map(|s| s.copay.caps.per_month)
        .map(|y| y.0)
        .min()
}

/// The 負担金額 of a correct KO: 1,600 yen, or the monthly cap when lower.
fn burden_for(payer: &str, pmh: &Mapped) -> u64 {
    monthly_cap(payer, pmh).map_or(1600, |cap| cap.min(1600))
}

/// Sorts KOs by the priority rules and sets the レセプト種別's count digit to match.
fn settle(r: &mut Receipt, mut kos: Vec<((u8, u16), Subsidy)>) -> Option<()> {
    kos.sort_by_key(|(o, k)| (*o, k.payer_number.clone()));
    let k = r.kind.as_str().as_bytes().to_vec();
    let count = u8::try_from(kos.len()).ok()? + 1 + b'0';
    r.kind = ReceiptKind::parse(&String::from_utf8(vec![k[0], k[1], count, k[3]]).ok()?)?;
    r.subsidies = kos.into_iter().map(|(_, k)| k).collect();
    Some(())
}

/// A correct outpatient receipt of `p` for the month: the 公費 usable here in it, or none.
fn receipt(
    p: &Persona,
    masters: &MasterSnapshot,
    month: ClaimMonth,
    pmh: &Mapped,
    number: u32,
) -> Option<Receipt> {
    let kos: Vec<((u8, u16), Subsidy)> = p
        .certificates
        .iter()
        .filter(|c| !c.is_always_reimbursement && !elsewhere(c))
        .filter(|c| day(&c.valid_from).is_none_or(|f| f <= month.last))
        .filter(|c| day(&c.valid_to).is_none_or(|t| t >= month.first))
        .filter_map(|c| {
            ko_for(
                c,
                masters,
                burden_for(&c.medical_subsidy_insurer_number, pmh),
            )
        })
        .collect();
    // With no 公費 usable here the receipt is the insurance's alone (1112).
    if kos.len() > 4 {
        return None;
    }
    let insured = &p.insured;
    let late = insured.insurer_number.len() == 8 && insured.insurer_number.starts_with("39");
    let kind = format!(
        "1{}{}{}",
        if late { 3 } else { 1 },
        kos.len() + 1,
        if late { 8 } else { 2 }
    );
    let birthdate = NaiveDate::parse_from_str(&insured.birthdate, "%Y-%m-%d").ok()?;
    let mut r = Receipt {
        line: 0,
        number,
        kind: ReceiptKind::parse(&kind)?,
        month: month.first,
        name: format!("患者{:04}", number),
        kana: None,
        sex: None,
        birthdate: Some(birthdate),
        benefit_ratio: None,
        remarks: Vec::new(),
        insurance: Some(Insurance {
            line: 0,
            insurer_number: insured.insurer_number.clone(),
            symbol: insured.symbol.clone(),
            number: Some(insured.number.clone()),
            days: Some(2),
            points: Some(800 + 10 * u64::from(month.first.month())),
            meals: None,
            meal_yen: None,
            burden_yen: Some(2400),
        }),
        subsidies: Vec::new(),
        branch: insured.branch.clone(),
    };
    settle(&mut r, kos)?;
    Some(r)
}

/// A KO of a national programme that takes a 受給者番号, with one.
fn national_with_recipient(k: &Subsidy, masters: &MasterSnapshot) -> bool {
    k.recipient_number.is_some()
        && PayerNumber::parse(&k.payer_number)
            .ok()
            .and_then(|p| masters.national(p.law_code()))
            .is_some_and(|n| n.recipient_number_required)
}

/// Plants `want` on `r` when it can carry it; the finding the checks will give.
/// What a mistake is planted with: the person, the masters, the month, PMH's certificates.
struct Planting<'a> {
    persona: &'a Persona,
    masters: &'a MasterSnapshot,
    month: ClaimMonth,
    pmh: &'a Mapped,
}

impl Planting<'_> {
    /// Plants `want` on `r` when it can carry it (the caller keeps it only when it gives exactly
    /// its own finding).
    fn plant(&self, r: &mut Receipt, want: FindingCode) -> Option<()> {
        let masters = self.masters;
        let bump = |d: u8| if d == b'9' { b'0' } else { d + 1 };
        match want {
            FindingCode::PayerNumberCheckDigit => {
                let ko = r.subsidies.first_mut()?;
                let mut b = ko.payer_number.clone().into_bytes();
                let last = b.len() - 1;
                b[last] = bump(b[last]);
                ko.payer_number = String::from_utf8(b).ok()?;
            }
            FindingCode::KoNotInPmh => {
                // Another 実施機関 of the same national programme, its check digit right.
                let ko = r.subsidies.iter_mut().find(|k| {
                    PayerNumber::parse(&k.payer_number)
                        .ok()
                        .and_then(|p| masters.national(p.law_code()))
                        .is_some()
                })?;
                let b = ko.payer_number.as_bytes();
                let body = format!("{}{}", &ko.payer_number[..6], char::from(bump(b[6])));
                let other = check_digit::complete(&body)?;
                if self.holds_payer(&other) {
                    return None;
                }
                ko.payer_number = other;
            }
            FindingCode::RecipientNumberForm => {
                // A national programme's 7-digit number with its check digit off by one.
                let ko = r
                    .subsidies
                    .iter_mut()
                    .find(|k| national_with_recipient(k, masters))?;
                let mut b = ko.recipient_number.clone()?.into_bytes();
                b[6] = bump(b[6]);
                ko.recipient_number = Some(String::from_utf8(b).ok()?);
            }
            FindingCode::KoRecipientDiffers => {
                // Another well-formed number (its check digit right).
                let ko = r
                    .subsidies
                    .iter_mut()
                    .find(|k| national_with_recipient(k, masters))?;
                let b = ko.recipient_number.clone()?.into_bytes();
                let body = format!(
                    "{}{}",
                    std::str::from_utf8(&b[..5]).ok()?,
                    char::from(bump(b[5]))
                );
                ko.recipient_number = Some(check_digit::complete(&body)?);
            }
            FindingCode::RecipientNumberMissing => {
                let ko = r
                    .subsidies
                    .iter_mut()
                    .find(|k| national_with_recipient(k, masters))?;
                ko.recipient_number = None;
            }
            FindingCode::CertificateMissing => {
                // The last KO left out (the count digit following).
                let mut kos = self.keyed(r)?;
                kos.pop()?;
                settle(r, kos)?;
            }
            FindingCode::KoOrder => {
                if r.subsidies.len() < 2 {
                    return None;
                }
                let rank = |k: &Subsidy| {
                    let p = PayerNumber::parse(&k.payer_number).ok()?;
                    masters.national(p.law_code()).map(|n| n.priority_rank)
                };
                let (a, b) = (rank(&r.subsidies[0]), rank(&r.subsidies[1]));
                if a.is_none() || a == b {
                    return None;
                }
                r.subsidies.swap(0, 1);
            }
            FindingCode::CertificateExpired | FindingCode::CertificateNotYetValid => {
                // A KO for a certificate of the person's that ended before the month (or
                // starts after it).
                let c = self.persona.certificates.iter().find(|c| {
                    let out = if want == FindingCode::CertificateExpired {
                        day(&c.valid_to).is_some_and(|t| t < self.month.first)
                    } else {
                        day(&c.valid_from).is_some_and(|f| f > self.month.last)
                    };
                    out && !c.is_always_reimbursement && !elsewhere(c) && self.alone(c)
                })?;
                self.add(r, c)?;
            }
            FindingCode::DesignatedInstitutionOther => {
                let c = self.persona.certificates.iter().find(|c| {
                    elsewhere(c)
                        && !c.is_always_reimbursement
                        && day(&c.valid_from).is_none_or(|f| f <= self.month.first)
                        && day(&c.valid_to).is_none_or(|t| t >= self.month.last)
                        && self.alone(c)
                })?;
                self.add(r, c)?;
            }
            FindingCode::KoBurdenOverCap => {
                let (ko, cap) = r
                    .subsidies
                    .iter_mut()
                    .find_map(|k| Some((monthly_cap(&k.payer_number, self.pmh)?, k)))
                    .map(|(cap, k)| (k, cap))?;
                ko.burden_yen = Some(cap + 10);
            }
            FindingCode::ReceiptKindKohiCount => {
                let k = r.kind.as_str().as_bytes().to_vec();
                let more = if k[2] < b'5' { k[2] + 1 } else { k[2] - 1 };
                r.kind =
                    ReceiptKind::parse(&String::from_utf8(vec![k[0], k[1], more, k[3]]).ok()?)?;
            }
            FindingCode::ReceiptKindInsurance => {
                // Said to be 公費のみ though it has an HO (the count digit kept as the KOs say).
                let k = r.kind.as_str().as_bytes().to_vec();
                let count = u8::try_from(r.subsidies.len()).ok()? + b'0';
                r.kind =
                    ReceiptKind::parse(&String::from_utf8(vec![k[0], b'2', count, b'2']).ok()?)?;
            }
            FindingCode::KoDaysOverHo => {
                let days = r.insurance.as_ref()?.days?;
                r.subsidies.first_mut()?.days = Some(days + 1);
            }
            FindingCode::KoPointsOverHo => {
                let points = r.insurance.as_ref()?.points?;
                r.subsidies.first_mut()?.points = Some(points + 1);
            }
            _ => return None,
        }
        Some(())
    }

    /// Whether PMH holds a certificate of `payer` for the person.
    fn holds_payer(&self, payer: &str) -> bool {
        self.pmh
            .active
            .iter()
            .chain(&self.pmh.inactive)
            .any(|s| s.payer_number == payer)
    }

    /// Whether `c` is the person's only certificate of its payer number (a KO for it pairs with
    /// it alone).
    fn alone(&self, c: &WireSubsidy) -> bool {
        self.persona
            .certificates
            .iter()
            .filter(|o| o.medical_subsidy_insurer_number == c.medical_subsidy_insurer_number)
            .count()
            == 1
    }

    /// The receipt's KOs with their order classes.
    fn keyed(&self, r: &Receipt) -> Option<Vec<((u8, u16), Subsidy)>> {
        r.subsidies
            .iter()
            .map(|k| {
                let p = PayerNumber::parse(&k.payer_number).ok()?;
                Some((programme_order(&p, self.masters)?, k.clone()))
            })
            .collect()
    }

    /// `r` with a KO for `c` in its place (at most four, its programme not already there).
    fn add(&self, r: &mut Receipt, c: &WireSubsidy) -> Option<()> {
        let mut kos = self.keyed(r)?;
        if kos.len() >= 4
            || kos
                .iter()
                .any(|(_, k)| k.payer_number.get(..2) == c.medical_subsidy_insurer_number.get(..2))
        {
            return None;
        }
        let (order, ko) = ko_for(c, self.masters, 0)?;
        // The KO's own number form must be right, so that the mistake is PMH's alone.
        let law = PayerNumber::parse(&ko.payer_number).ok()?.law_code();
        if self
            .masters
            .national(law)
            .is_some_and(|n| n.recipient_number_required)
            && ko.recipient_number.is_none()
        {
            return None;
        }
        if self.masters.national(law).is_some_and(|n| n.single_only) {
            return None;
        }
        kos.push((order, ko));
        settle(r, kos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmh_core::domain::InsuredIdentity;
    use pmh_formats::pmh::EligibilityRequest;

    /// The file read back and checked — from itself and the masters, and against what the
    /// sandbox's PMH holds for each patient — gives exactly the planted findings, one of each
    /// kind at least, and nothing on the correct receipts; for the population's month and the two
    /// before it (a month further ahead has no certificate that starts after it: the population's
    /// future ones start within 60 days).
    #[test]
    fn the_checks_find_exactly_what_was_planted() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let pop = Population::generate(42, today, 1200);
        let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
        for month in [(2026, 9), (2026, 10), (2026, 11)] {
            let first = NaiveDate::from_ymd_opt(month.0, month.1, 1).unwrap();
            let file = month_file(&pop, &masters, first, 400);
            let read = uke::read(&file.bytes);
            assert!(read.problems.is_empty(), "{:?}", read.problems);
            assert_eq!(read.receipts.len(), file.receipts);
            assert!(
                file.receipts >= 200,
                "{month:?}: {} receipts",
                file.receipts
            );
            let offline = claims::check(&read.receipts, ScoreTable::Medical, &masters);
            let mut found: Vec<(u32, FindingCode)> =
                offline.iter().map(|f| (f.receipt, f.code)).collect();
            for r in &read.receipts {
                let ho = r.insurance.as_ref().unwrap();
                let insured = InsuredIdentity::new(
                    &ho.insurer_number,
                    ho.symbol.as_deref(),
                    ho.number.as_deref().unwrap(),
                    r.branch.as_deref(),
                    r.birthdate.unwrap(),
                )
                .unwrap();
                let req = EligibilityRequest::new(DEMO_INSTITUTION, &insured, first, "x");
                let p = pop
                    .lookup(&req)
                    .expect("the receipt's patient is a persona");
                let month = ClaimMonth::of(first);
                let pmh = pmh_of(p, &masters, month, today).unwrap();
                found.extend(
                    against_pmh(r, month, &pmh, &offline)
                        .into_iter()
                        .map(|f| (f.receipt, f.code)),
                );
            }
            found.sort();
            let mut planted = file.planted.clone();
            planted.sort();
            assert_eq!(found, planted, "{month:?}");
            for code in MISTAKES {
                assert!(
                    planted.iter().any(|(_, c)| *c == code),
                    "{month:?}: {code:?} not planted"
                );
            }
        }
    }
}
