//! A month's UKE file for the sandbox's population, as the demo institution's receipt computer
//! would write it: one 医科 outpatient receipt per person with certificates valid in the month,
//! their KO records in the priority order — and, on chosen receipts, a deliberate mistake of
//! each kind the receipt checks find, listed in [`MonthFile::planted`] so that a check can be
//! held to finding exactly those.
//!
//! A person whose correct receipt already gives a finding (the population's own anomalies: a
//! broken check digit, a single-only programme combined …) is left out, so that the planted
//! findings are the only ones.

use chrono::{Datelike, NaiveDate};
use pmh_core::claims::{self, FindingCode, Insurance, Receipt, ReceiptKind, Subsidy};
use pmh_core::domain::PayerNumber;
use pmh_core::mapping::{ProgrammeKind, order_class};
use pmh_core::masters::MasterSnapshot;
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
/// a last digit of another kind, a programme outside its setting) are the core's tests' alone.
const MISTAKES: [FindingCode; 8] = [
    FindingCode::PayerNumberCheckDigit,
    FindingCode::RecipientNumberForm,
    FindingCode::RecipientNumberMissing,
    FindingCode::KoOrder,
    FindingCode::ReceiptKindKohiCount,
    FindingCode::ReceiptKindInsurance,
    FindingCode::KoDaysOverHo,
    FindingCode::KoPointsOverHo,
];
const EVERY: usize = 5;

/// The UKE file of `month` (its first day) for `pop`, at most `limit` receipts.
pub fn month_file(
    pop: &Population,
    masters: &MasterSnapshot,
    month: NaiveDate,
    limit: usize,
) -> MonthFile {
    let last = month
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .expect("a month has a last day");
    let mut receipts = Vec::new();
    let mut planted = Vec::new();
    let mut turn = 0usize;
    for p in &pop.personas {
        if receipts.len() >= limit {
            break;
        }
        let number = u32::try_from(receipts.len() + 1).unwrap_or(u32::MAX);
        let Some(mut r) = receipt(p, masters, month, last, number) else {
            continue;
        };
        // Only people whose correct receipt is clean.
        if !claims::check(std::slice::from_ref(&r), ScoreTable::Medical, masters).is_empty() {
            continue;
        }
        // The next mistake in turn that this receipt can carry.
        if (receipts.len() + 1) % EVERY == 0 {
            for k in 0..MISTAKES.len() {
                let want = MISTAKES[(turn + k) % MISTAKES.len()];
                if let Some(code) = plant(&mut r, want, masters) {
                    planted.push((number, code));
                    // A kind passed over is tried first again next time.
                    if k == 0 {
                        turn += 1;
                    }
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

/// A correct outpatient receipt of `p` for the month, when a certificate is valid in it.
fn receipt(
    p: &Persona,
    masters: &MasterSnapshot,
    month: NaiveDate,
    last: NaiveDate,
    number: u32,
) -> Option<Receipt> {
    let day = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let mut kos: Vec<((u8, u16), Subsidy)> = p
        .certificates
        .iter()
        .filter(|c| !c.is_always_reimbursement)
        .filter(|c| day(&c.valid_from).is_none_or(|f| f <= last))
        .filter(|c| day(&c.valid_to).is_none_or(|t| t >= month))
        .filter_map(|c| {
            let payer = PayerNumber::parse(&c.medical_subsidy_insurer_number).ok()?;
            let order = match masters.national(payer.law_code()) {
                Some(n) => order_class(ProgrammeKind::National, Some(n.priority_rank)),
                None => match masters.local(&payer) {
                    Some(l) => order_class(ProgrammeKind::Local, Some(l.priority)),
                    None => return None,
                },
            };
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
                    burden_yen: Some(1600),
                    outpatient_copay: None,
                    inpatient_copay: None,
                    meals: None,
                    meal_yen: None,
                },
            ))
        })
        .collect();
    if kos.is_empty() || kos.len() > 4 {
        return None;
    }
    kos.sort_by_key(|(o, k)| (*o, k.payer_number.clone()));
    let insured = &p.insured;
    let late = insured.insurer_number.len() == 8 && insured.insurer_number.starts_with("39");
    let kind = format!(
        "1{}{}{}",
        if late { 3 } else { 1 },
        kos.len() + 1,
        if late { 8 } else { 2 }
    );
    let birthdate = NaiveDate::parse_from_str(&insured.birthdate, "%Y-%m-%d").ok()?;
    Some(Receipt {
        line: 0,
        number,
        kind: ReceiptKind::parse(&kind)?,
        month,
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
            points: Some(800 + 10 * u64::from(month.month())),
            meals: None,
            meal_yen: None,
            burden_yen: Some(2400),
        }),
        subsidies: kos.into_iter().map(|(_, k)| k).collect(),
        branch: insured.branch.clone(),
    })
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
fn plant(r: &mut Receipt, want: FindingCode, masters: &MasterSnapshot) -> Option<FindingCode> {
    let bump = |d: u8| if d == b'9' { b'0' } else { d + 1 };
    match want {
        FindingCode::PayerNumberCheckDigit => {
            let ko = r.subsidies.first_mut()?;
            let mut b = ko.payer_number.clone().into_bytes();
            let last = b.len() - 1;
            b[last] = bump(b[last]);
            ko.payer_number = String::from_utf8(b).ok()?;
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
        FindingCode::ReceiptKindKohiCount => {
            let k = r.kind.as_str().as_bytes().to_vec();
            let more = if k[2] < b'5' { k[2] + 1 } else { k[2] - 1 };
            r.kind = ReceiptKind::parse(&String::from_utf8(vec![k[0], k[1], more, k[3]]).ok()?)?;
        }
        FindingCode::ReceiptKindInsurance => {
            // Said to be 公費のみ though it has an HO (the count digit kept as the KOs say).
            let k = r.kind.as_str().as_bytes().to_vec();
            let count = u8::try_from(r.subsidies.len()).ok()? + b'0';
            r.kind = ReceiptKind::parse(&String::from_utf8(vec![k[0], b'2', count, b'2']).ok()?)?;
        }
        FindingCode::RecipientNumberMissing => {
            let ko = r
                .subsidies
                .iter_mut()
                .find(|k| national_with_recipient(k, masters))?;
            ko.recipient_number = None;
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
    Some(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file read back and checked gives exactly the planted findings — one of each kind —
    /// and nothing on the correct receipts; on any month of the population's year.
    #[test]
    fn the_checks_find_exactly_what_was_planted() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let pop = Population::generate(42, today, 1200);
        let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
        for month in [(2026, 10), (2026, 11), (2027, 1)] {
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
            let mut found: Vec<(u32, FindingCode)> =
                claims::check(&read.receipts, ScoreTable::Medical, &masters)
                    .into_iter()
                    .map(|f| (f.receipt, f.code))
                    .collect();
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
