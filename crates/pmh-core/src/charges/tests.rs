//! Golden cases, each derived by hand from the rules in a comment (never from the code's own
//! output), and properties over generated months.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::domain::{
    AgeGroup, CopayCaps, HighCostClass, InsuranceKind, LawCode, PayerNumber, Rounding, Yen,
    check_digit,
};
use crate::masters::{CopayMethod, KohiLimitRule, MasterSnapshot, RateRule};

fn masters() -> &'static MasterSnapshot {
    static M: std::sync::OnceLock<MasterSnapshot> = std::sync::OnceLock::new();
    M.get_or_init(|| MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH))
}

fn d(s: &str) -> NaiveDate {
    crate::domain::date::parse_iso(s).unwrap()
}

fn insurance(kind: InsuranceKind, rate: u8, class: Option<&str>, seventy: bool) -> Insurance {
    Insurance::new(
        kind,
        rate,
        class.map(|c| HighCostClass::parse(c).unwrap()),
        Some(seventy),
    )
    .unwrap()
}

fn kenpo(rate: u8, class: Option<&str>) -> Insurance {
    insurance(InsuranceKind::HealthInsurance, rate, class, false)
}

/// A national programme with its rate and rules from the shipped masters, and a monthly cap.
fn national(law: &str, cap: Option<u64>) -> Subsidy {
    let p = masters().national(LawCode::parse(law).unwrap()).unwrap();
    let method = if p.default_rate_percent == 0 {
        Method::Free
    } else {
        Method::Rate {
            percent: p.default_rate_percent,
        }
    };
    let terms = Terms {
        method,
        caps: CopayCaps {
            per_month: cap.map(Yen),
            ..Default::default()
        },
        charged_times_per_month: None,
        rounding: p.rounding,
        counting: Default::default(),
        class_without_certificate: None,
    };
    Subsidy {
        label: p.short_name.clone(),
        law_code: Some(p.law_code),
        kohi_limit: p.kohi_limit,
        rate_rule: p.rate_rule,
        shared_cap: p.monthly_cap_shared,
        local: false,
        paid_elsewhere: Vec::new(),
        terms: [Some(terms); 3],
        meals: masters().meal_rules().national(p.law_code).map(meal_rule),
    }
}

/// A local programme with its rules per setting from the shipped masters.
fn local(payer_prefix: &str) -> Subsidy {
    let payer = PayerNumber::parse(&if payer_prefix.len() == 8 {
        payer_prefix.to_owned()
    } else {
        check_digit::complete(&format!("{payer_prefix}01")).unwrap()
    })
    .unwrap();
    let p = masters().local(&payer).unwrap();
    let terms = Setting::ALL.map(|s| {
        let r = masters()
            .local_rules()
            .lookup(&p.payer_match, s.care(), s.claim(), None)?;
        Some(Terms {
            method: match r.method {
                CopayMethod::Free => Method::Free,
                CopayMethod::Rate => Method::Rate {
                    percent: r.rate_percent?,
                },
                CopayMethod::PerVisit => Method::PerVisit { amount: r.amount? },
                CopayMethod::PerDay => Method::PerDay { amount: r.amount? },
                CopayMethod::CopayRate => Method::CopayRate {
                    percent: r.rate_percent?,
                },
            },
            caps: r.caps,
            charged_times_per_month: r.charged_times_per_month,
            rounding: r.rounding,
            counting: r.counting,
            class_without_certificate: r.class_without_certificate,
        })
    });
    Subsidy {
        label: p.short_name.clone(),
        law_code: None,
        kohi_limit: KohiLimitRule::None,
        rate_rule: RateRule::Programme,
        shared_cap: false,
        local: true,
        paid_elsewhere: Vec::new(),
        terms,
        meals: masters().meal_rules().local(&p.payer_match).map(meal_rule),
    }
}

fn meal_rule(r: &crate::masters::ProgrammeMealRule) -> SubsidyMeals {
    SubsidyMeals {
        rule: r.rule,
        provisional: r.status == crate::masters::LimitStatus::Provisional,
    }
}

fn visit(id: &str, date: &str, setting: Setting, parts: &[(u64, &[usize])]) -> Visit {
    Visit {
        id: id.into(),
        date: d(date),
        setting,
        parts: parts
            .iter()
            .map(|(c, s)| Part {
                cost: Yen(*c),
                subsidies: s.to_vec(),
            })
            .collect(),
        meals: Vec::new(),
        consultation: Consultation::default(),
    }
}

/// 生活保護 with a 医療券's 本人支払額 of `amount` a month.
fn welfare(amount: u64) -> Subsidy {
    let mut s = national("12", None);
    s.terms = [Some(Terms {
        method: Method::Monthly {
            amount: Yen(amount),
        },
        caps: CopayCaps::default(),
        charged_times_per_month: None,
        rounding: Rounding::Yen,
        counting: Default::default(),
        class_without_certificate: None,
    }); 3];
    s
}

/// An amount on the 管理票 dated the 1st of April 2026 (before every visit of the tests).
fn on_the_first(amount: u64) -> Vec<PaidElsewhere> {
    vec![PaidElsewhere {
        date: d("2026-04-01"),
        amount: Yen(amount),
        own: false,
    }]
}

const OUT: Setting = Setting::MedicalOutpatient;
const IN: Setting = Setting::MedicalInpatient;
const RX: Setting = Setting::Pharmacy;

fn run(ins: Insurance, subs: Vec<Subsidy>, visits: Vec<Visit>, id: &str) -> Quote {
    let m = Month::new(ins, subs, visits).unwrap();
    let q = quote(&m, id, masters()).unwrap();
    every_line_in_both_languages(&q.trace);
    q
}

/// Every trace line of every quote the tests compute: Japanese words for the clerk (no run of
/// three Latin letters: no English left in it), English beside it, and each code's depth.
fn every_line_in_both_languages(trace: &[TraceLine]) {
    for l in trace {
        let mut run = String::new();
        for c in l.ja.chars().chain([' ']) {
            if c.is_ascii_alphabetic() {
                run.push(c);
                continue;
            }
            assert!(
                run.len() < 3,
                "English {run:?} in the Japanese line {:?}",
                l.ja
            );
            run.clear();
        }
        assert!(!l.ja.is_empty() && !l.en.is_empty(), "{l:?}");
        assert!(l.depth <= 2, "{l:?}");
    }
}

/// The receipt of a quote's month for a setting.
fn receipt(q: &Quote, s: Setting) -> &ReceiptCharges {
    q.month.receipts.iter().find(|r| r.setting == s).unwrap()
}

/// (insurance, 高額, every 公費's payment, patient) of a receipt.
fn split(r: &ReceiptCharges) -> (u64, u64, Vec<u64>, u64) {
    (
        r.insurance.0,
        r.high_cost.0,
        r.subsidies.iter().map(|s| s.pays.0).collect(),
        r.patient.0,
    )
}

// ---- The published examples (the table of worked examples under "Copay" in the domain notes).

#[test]
fn golden_1_outpatient_3_wari_nanbyo_cap_2500() {
    // Cost 50,000. Insurance 7割 = 35,000; copay 15,000. 難病 2割 (lower than 3割) of 50,000 =
    // 10,000, cap 2,500 → patient 2,500; 難病 pays 15,000 − 2,500 = 12,500. No class given.
    let q = run(
        kenpo(30, None),
        vec![national("54", Some(2_500))],
        vec![visit("v", "2026-04-10", OUT, &[(50_000, &[0])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (35_000, 0, vec![12_500], 2_500));
    assert_eq!(q.window_charge, Yen(2_500));
    // With class ウ the 難病 part's own limit (80,100) is not reached and the part (2,500
    // after its limit … 15,000 copay < 21,000) does not join the receipt limit: the same.
    let q = run(
        kenpo(30, Some("A03")),
        vec![national("54", Some(2_500))],
        vec![visit("v", "2026-04-10", OUT, &[(50_000, &[0])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (35_000, 0, vec![12_500], 2_500));
}

#[test]
fn golden_2_late_elderly_1_wari_nanbyo() {
    // 後期 1割: insurance 45,000, copay 5,000. 難病 takes the insurance rate when lower: 1割 =
    // 5,000 → cap 2,500; 難病 pays 2,500; patient 2,500.
    let q = run(
        insurance(InsuranceKind::LateElderly, 10, None, true),
        vec![national("54", Some(2_500))],
        vec![visit("v", "2026-04-10", OUT, &[(50_000, &[0])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (45_000, 0, vec![2_500], 2_500));
    assert!(
        q.trace.iter().any(|l| l.en.contains("the insurance rate")),
        "{:#?}",
        q.trace
    );
}

#[test]
fn golden_3_seventy_plus_low_income_nanbyo() {
    // 70+ 2割, 低所得Ⅱ (B05, 外来 8,000): insurance 40,000; copay 10,000; the 難病 part is held
    // to the patient's class: 外来 8,000 → 高額 2,000. 難病 2割 = 10,000, no more than the 8,000
    // left, cap 2,500 → patient 2,500; 難病 pays 8,000 − 2,500 = 5,500.
    let q = run(
        insurance(InsuranceKind::HealthInsurance, 20, Some("B05"), true),
        vec![national("54", Some(2_500))],
        vec![visit("v", "2026-04-10", OUT, &[(50_000, &[0])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (40_000, 2_000, vec![5_500], 2_500));
}

#[test]
fn golden_4_under_the_cap_ko_in_yen_window_in_tens() {
    // Cost 5,020, 70+ 2割: insurance 4,016; copay 1,004. 難病 2割 = 1,004 < cap 2,500: the KO
    // 負担金額 is 1,004 (yen), the window 1,000 (4 yen rounds down).
    let q = run(
        insurance(InsuranceKind::HealthInsurance, 20, None, true),
        vec![national("54", Some(2_500))],
        vec![visit("v", "2026-04-10", OUT, &[(5_020, &[0])])],
        "v",
    );
    let r = receipt(&q, OUT);
    assert_eq!(split(r), (4_016, 0, vec![0], 1_004));
    assert_eq!(r.subsidies[0].patient_share, Yen(1_004));
    assert_eq!(r.subsidies[0].works_on, Yen(1_004));
    assert_eq!((q.exact_charge, q.window_charge), (Yen(1_004), Yen(1_000)));
}

#[test]
fn golden_5_tuberculosis_alone_five_percent() {
    // 結核 10 alone (no insurance): 5 % of 6,750 = 337.5 → 338 in yen (half up) → window 340;
    // the 公費 pays 6,750 − 338 = 6,412.
    let q = run(
        insurance(InsuranceKind::None, 0, None, false),
        vec![national("10", None)],
        vec![visit("v", "2026-04-10", OUT, &[(6_750, &[0])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (0, 0, vec![6_412], 338));
    assert_eq!(q.window_charge, Yen(340));
}

#[test]
fn golden_6_inpatient_jiritsu_shien_and_insurance_only_items() {
    // 入院 3割, class ウ, 自立支援 更生 (cap 30,000) on 200,000 + insurance-only 400,000.
    // Part A: insurance 140,000, copay 60,000; 特定給付対象療養 limit (under 70) 80,100 +
    // max(0, 200,000 − 267,000) × 1 % = 80,100 → not reached. 自立支援 1割 = 20,000 (< 30,000)
    // → it pays 40,000 (on 60,000). Part B: insurance 280,000, copay 120,000.
    // Receipt: part A's 60,000 ≥ 21,000 joins; ウ on 600,000: 80,100 + 3,330 = 83,430;
    // patient 20,000 + 120,000 = 140,000 → 83,430, 高額 56,570. Insurance 420,000.
    let q = run(
        kenpo(30, Some("A03")),
        vec![national("15", Some(30_000))],
        vec![visit(
            "v",
            "2026-04-10",
            IN,
            &[(200_000, &[0]), (400_000, &[])],
        )],
        "v",
    );
    let r = receipt(&q, IN);
    assert_eq!(split(r), (420_000, 56_570, vec![40_000], 83_430));
    assert_eq!(r.subsidies[0].works_on, Yen(60_000));
    assert_eq!(r.subsidies[0].patient_share, Yen(20_000));
    assert_eq!(q.window_charge, Yen(83_430));
    let t = english(&q.trace);
    assert!(
        t.contains("80,100円 + (600,000円 − 267,000円) × 1% = 83,430円"),
        "{t}"
    );
}

#[test]
fn golden_21000_rule_a_small_kohi_part_stays_out_of_the_class_limit() {
    // 入院 3割, class ウ (A03), under 70: a 難病 part of 50,000 (monthly cap 10,000) beside
    // 300,000 of insurance-only items — the worked case of the 21,000-yen rule
    // (健康保険法施行令 第41条第1項: under 70, only an 一部負担金等 of 21,000 yen or more is
    // added up for the limit). 難病 part: insurance 35,000, copay 15,000; its own limit (ウ on
    // 50,000: 80,100) not reached; 難病 2割 = 10,000, at its cap → the patient 10,000, the 公費
    // 5,000. 15,000 after its own limit is under 21,000: it stays out. The insurance-only part:
    // insurance 210,000, copay 90,000, held to ウ on its own 300,000: 80,100 + (300,000 −
    // 267,000) × 1 % = 80,430 → 高額 9,570. The patient pays 10,000 + 80,430 = 90,430 — more
    // than the 80,930 the whole 350,000 would cost with no 公費, and nothing corrects that.
    let q = run(
        kenpo(30, Some("A03")),
        vec![national("54", Some(10_000))],
        vec![visit(
            "v",
            "2026-04-10",
            IN,
            &[(50_000, &[0]), (300_000, &[])],
        )],
        "v",
    );
    let r = receipt(&q, IN);
    assert_eq!(split(r), (245_000, 9_570, vec![5_000], 90_430));
    assert_eq!(q.window_charge, Yen(90_430));
    let t = english(&q.trace);
    assert!(t.contains("does not join the receipt's limit"), "{t}");
    assert!(!t.contains("Without any 公費"), "{t}");
}

#[test]
fn golden_kanen_pays_the_insurance_copay_up_to_its_shared_monthly_cap() {
    // 肝炎治療 (法別 38, 肝炎治療特別促進事業実施要綱): the patient pays the insurance-stage
    // copay (3割 here) until the month's payments on the 自己負担限度月額管理票 reach the cap,
    // 10,000 yen (20,000 for the upper income class), counted across institutions. The 管理票
    // sequence 5,700, then 2,250, then 4,300 cut to 2,050 at the cap: visits of 19,000 (3割 =
    // 5,700) and 7,500 (2,250) here, then 14,340 (4,302): 10,000 − 7,950 = 2,050 is left.
    let kanen = |elsewhere: u64| {
        let mut s = national("38", Some(10_000));
        s.paid_elsewhere = on_the_first(elsewhere);
        s
    };
    let visits = vec![
        visit("k1", "2026-04-02", OUT, &[(19_000, &[0])]),
        visit("k2", "2026-04-09", OUT, &[(7_500, &[0])]),
        visit("k3", "2026-04-16", OUT, &[(14_340, &[0])]),
    ];
    let charges: Vec<Yen> = ["k1", "k2", "k3"]
        .iter()
        .map(|id| run(kenpo(30, None), vec![kanen(0)], visits.clone(), id).window_charge)
        .collect();
    assert_eq!(charges, [Yen(5_700), Yen(2_250), Yen(2_050)]);
    // The same third visit when the first two were at another institution (on the 管理票).
    let elsewhere = run(
        kenpo(30, None),
        vec![kanen(7_950)],
        vec![visit("k3", "2026-04-16", OUT, &[(14_340, &[0])])],
        "k3",
    );
    assert_eq!(elsewhere.window_charge, Yen(2_050));
    // A 2割 patient (70–74) pays the insurance's own 2割.
    let two = run(
        insurance(InsuranceKind::HealthInsurance, 20, None, true),
        vec![kanen(0)],
        vec![visit("k1", "2026-04-02", OUT, &[(19_000, &[0])])],
        "k1",
    );
    assert_eq!(two.window_charge, Yen(3_800));
    // The shipped master: the cap shared on a 管理票, the insurance copay as the rate.
    let p = masters().national(LawCode::parse("38").unwrap()).unwrap();
    assert!(p.monthly_cap_shared);
    assert_eq!(
        (p.default_rate_percent, p.rate_rule),
        (30, RateRule::LowerOfInsurance)
    );
}

/// The 自己負担上限額管理票 of the 精神通院 example (cap 5,000), seen from the hospital and from
/// the pharmacy: each enters the other's payments from the paper 管理票.
#[test]
fn golden_kanrihyo_seishin_tsuin_hospital_and_pharmacy() {
    let seishin = |elsewhere: u64| {
        let mut s = national("21", Some(5_000));
        s.paid_elsewhere = on_the_first(elsewhere);
        s
    };
    let hospital = |v: &[(&str, &str, u64)], elsewhere: u64, id: &str| {
        let visits = v
            .iter()
            .map(|(id, day, cost)| visit(id, day, OUT, &[(*cost, &[0])]))
            .collect();
        run(kenpo(30, None), vec![seishin(elsewhere)], visits, id)
    };
    let pharmacy = |v: &[(&str, &str, u64)], elsewhere: u64, id: &str| {
        let visits = v
            .iter()
            .map(|(id, day, cost)| visit(id, day, RX, &[(*cost, &[0])]))
            .collect();
        run(kenpo(30, None), vec![seishin(elsewhere)], visits, id)
    };
    // 4/1 hospital, 10,000: 1割 = 1,000 (running 1,000).
    let h1 = hospital(&[("h1", "2026-04-01", 10_000)], 0, "h1");
    assert_eq!((h1.window_charge, h1.shares[0]), (Yen(1_000), Yen(1_000)));
    // 4/1 pharmacy, 5,000: 500 (running 1,500); the hospital's 1,000 is on the 管理票.
    let p1 = pharmacy(&[("p1", "2026-04-01", 5_000)], 1_000, "p1");
    assert_eq!(p1.window_charge, Yen(500));
    // 4/3 hospital, 30,000: 3,000 (running 4,500): own 1,000 + pharmacy 500 before it.
    let h2 = hospital(
        &[("h1", "2026-04-01", 10_000), ("h2", "2026-04-03", 30_000)],
        500,
        "h2",
    );
    assert_eq!(h2.window_charge, Yen(3_000));
    assert_eq!(h2.month.cap_remaining[0], Some(Yen(500)));
    // 4/3 pharmacy, 10,000: 1,000 cut to the 500 left (running 5,000).
    let p2 = pharmacy(
        &[("p1", "2026-04-01", 5_000), ("p2", "2026-04-03", 10_000)],
        4_000,
        "p2",
    );
    assert_eq!(p2.window_charge, Yen(500));
    assert_eq!(p2.month.cap_remaining[0], Some(Yen(0)));
    // 4/5 hospital and pharmacy: nothing more.
    let h3 = hospital(
        &[
            ("h1", "2026-04-01", 10_000),
            ("h2", "2026-04-03", 30_000),
            ("h3", "2026-04-05", 20_000),
        ],
        1_000,
        "h3",
    );
    assert_eq!(h3.window_charge, Yen(0));
    let p3 = pharmacy(
        &[
            ("p1", "2026-04-01", 5_000),
            ("p2", "2026-04-03", 10_000),
            ("p3", "2026-04-05", 8_000),
        ],
        4_000,
        "p3",
    );
    assert_eq!(p3.window_charge, Yen(0));
}

// ---- Own cases.

#[test]
fn two_subsidies_on_the_same_items_nanbyo_and_marusho() {
    // 3割, cost 30,000: copay 9,000. 難病 2割 = 6,000 → cap 5,000 (pays 4,000). マル障 (1割)
    // works on the 5,000 left: 1割 of 30,000 = 3,000 → patient 3,000; マル障 pays 2,000.
    let q = run(
        kenpo(30, None),
        vec![national("54", Some(5_000)), local("80136")],
        vec![visit("v", "2026-04-10", OUT, &[(30_000, &[0, 1])])],
        "v",
    );
    assert_eq!(
        split(receipt(&q, OUT)),
        (21_000, 0, vec![4_000, 2_000], 3_000)
    );
    assert_eq!(receipt(&q, OUT).subsidies[1].works_on, Yen(5_000));
    // マル障 負担なし (80137): the patient pays nothing; マル障 pays the 5,000; the 管理票 still
    // records 難病's 5,000.
    let q = run(
        kenpo(30, None),
        vec![national("54", Some(5_000)), local("80137")],
        vec![visit("v", "2026-04-10", OUT, &[(30_000, &[0, 1])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (21_000, 0, vec![4_000, 5_000], 0));
    assert_eq!(q.shares, [Yen(5_000), Yen(0)]);
}

#[test]
fn two_subsidies_seishin_tsuin_and_marusho() {
    // 3割, cost 20,000: copay 6,000; 精神通院 1割 = 2,000 (cap 5,000) → pays 4,000; マル障 1割
    // of 20,000 = 2,000 on the 2,000 left → patient 2,000, マル障 pays 0.
    let q = run(
        kenpo(30, None),
        vec![national("21", Some(5_000)), local("80136")],
        vec![visit("v", "2026-04-10", OUT, &[(20_000, &[0, 1])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (14_000, 0, vec![4_000, 0], 2_000));
}

#[test]
fn maruko_at_the_clinic_and_at_the_pharmacy() {
    // マル子 (Hachioji 88131248): 200 yen per clinic visit, nothing at the pharmacy.
    // Clinic: cost 5,000, 3割 copay 1,500 → 200; マル子 pays 1,300.
    // Pharmacy: cost 3,000, copay 900 → 0; マル子 pays 900. The two receipts are separate.
    let visits = vec![
        visit("clinic", "2026-04-10", OUT, &[(5_000, &[0])]),
        visit("rx", "2026-04-10", RX, &[(3_000, &[0])]),
    ];
    let q = run(
        kenpo(30, None),
        vec![local("88131248")],
        visits.clone(),
        "clinic",
    );
    assert_eq!(split(receipt(&q, OUT)), (3_500, 0, vec![1_300], 200));
    assert_eq!(split(receipt(&q, RX)), (2_100, 0, vec![900], 0));
    assert_eq!(q.window_charge, Yen(200));
    let q = run(kenpo(30, None), vec![local("88131248")], visits, "rx");
    assert_eq!(q.window_charge, Yen(0));
    // A copay under 200 is charged as it is: cost 500, copay 150 → 150.
    let q = run(
        kenpo(30, None),
        vec![local("88131248")],
        vec![visit("v", "2026-04-10", OUT, &[(500, &[0])])],
        "v",
    );
    assert_eq!(q.exact_charge, Yen(150));
}

#[test]
fn welfare_alone_with_an_own_payment() {
    // 生活保護 alone with a 本人支払額 of 3,000 a month: the first visit (10,000) 3,000, the
    // second (5,000) nothing; 生活保護 pays the rest.
    let s = welfare(3_000);
    let visits = vec![
        visit("a", "2026-04-01", OUT, &[(10_000, &[0])]),
        visit("b", "2026-04-08", OUT, &[(5_000, &[0])]),
    ];
    let none = insurance(InsuranceKind::None, 0, None, false);
    let q = run(none.clone(), vec![s.clone()], visits.clone(), "a");
    assert_eq!(q.window_charge, Yen(3_000));
    let q = run(none, vec![s], visits, "b");
    assert_eq!(q.window_charge, Yen(0));
    assert_eq!(split(receipt(&q, OUT)), (0, 0, vec![12_000], 3_000));
}

#[test]
fn welfare_with_insurance_has_its_own_part_limit() {
    // 生活保護 with insurance (3割), 入院 cost 200,000: copay 60,000, the 生活保護 part limit
    // (under 70) 35,400 → 高額 24,600; 生活保護 pays the 35,400; patient 0.
    let q = run(
        kenpo(30, None),
        vec![national("12", None)],
        vec![visit("v", "2026-04-10", IN, &[(200_000, &[0])])],
        "v",
    );
    assert_eq!(split(receipt(&q, IN)), (140_000, 24_600, vec![35_400], 0));
}

#[test]
fn tokutei_shippei_holds_the_receipt_to_10000_or_20000() {
    // 人工透析 外来, 3割, class ウ, cost 400,000: copay 120,000; ウ would allow 81,430 but
    // 特定疾病 10,000 is lower → patient 10,000, 高額 110,000.
    let mut ins = kenpo(30, Some("A03"));
    ins.specific_disease = Some(SpecificDisease::Standard);
    let q = run(
        ins,
        vec![],
        vec![visit("v", "2026-04-10", OUT, &[(400_000, &[])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (280_000, 110_000, vec![], 10_000));
    // Under 70 in ア with 人工透析: 20,000.
    let mut ins = kenpo(30, Some("A01"));
    ins.specific_disease = Some(SpecificDisease::DialysisHighIncome);
    let q = run(
        ins,
        vec![],
        vec![visit("v", "2026-04-10", OUT, &[(400_000, &[])])],
        "v",
    );
    assert_eq!(q.exact_charge, Yen(20_000));
}

#[test]
fn the_75th_birthday_month_halves_the_limits() {
    // 後期 1割, 一般 (B04), 外来 cost 150,000: copay 15,000; the 外来 limit 18,000 halved to
    // 9,000 → patient 9,000, 高額 6,000.
    let mut ins = insurance(InsuranceKind::LateElderly, 10, Some("B04"), true);
    ins.turning_75 = true;
    let q = run(
        ins,
        vec![],
        vec![visit("v", "2026-04-10", OUT, &[(150_000, &[])])],
        "v",
    );
    assert_eq!(split(receipt(&q, OUT)), (135_000, 6_000, vec![], 9_000));
    // Without the birthday: 15,000 is within 18,000.
    let q = run(
        insurance(InsuranceKind::LateElderly, 10, Some("B04"), true),
        vec![],
        vec![visit("v", "2026-04-10", OUT, &[(150_000, &[])])],
        "v",
    );
    assert_eq!(q.exact_charge, Yen(15_000));
}

#[test]
fn many_times_replaces_the_formula() {
    // 入院 3割, ウ, 多数回, cost 1,000,000: copay 300,000 → 44,400; 高額 255,600.
    let mut ins = kenpo(30, Some("A03"));
    ins.many_times = true;
    let q = run(
        ins,
        vec![],
        vec![visit("v", "2026-04-10", IN, &[(1_000_000, &[])])],
        "v",
    );
    assert_eq!(split(receipt(&q, IN)), (700_000, 255_600, vec![], 44_400));
}

#[test]
fn the_cap_is_reached_in_the_middle_of_a_visit() {
    // 難病 cap 2,500, 3割: 4/1 cost 5,000 → 2割 1,000; 4/8 cost 10,000 → 2,000 but only 1,500
    // remains → 1,500; 4/15 → 0.
    let visits = vec![
        visit("a", "2026-04-01", OUT, &[(5_000, &[0])]),
        visit("b", "2026-04-08", OUT, &[(10_000, &[0])]),
        visit("c", "2026-04-15", OUT, &[(8_000, &[0])]),
    ];
    let nan = || vec![national("54", Some(2_500))];
    assert_eq!(
        run(kenpo(30, None), nan(), visits.clone(), "a").window_charge,
        Yen(1_000)
    );
    assert_eq!(
        run(kenpo(30, None), nan(), visits.clone(), "b").window_charge,
        Yen(1_500)
    );
    assert_eq!(
        run(kenpo(30, None), nan(), visits.clone(), "c").window_charge,
        Yen(0)
    );
    // With 1,200 already paid elsewhere (管理票): a 1,000, b only the 300 left.
    let mut s = national("54", Some(2_500));
    s.paid_elsewhere = on_the_first(1_200);
    let q = run(kenpo(30, None), vec![s], visits, "b");
    assert_eq!((q.exact_charge, q.window_charge), (Yen(300), Yen(300)));
}

#[test]
fn amounts_on_the_kanrihyo_count_where_their_date_falls() {
    // 難病 (cap 2,500, shared on the 自己負担上限額管理票, 2割 of the 10割 cost). The 管理票 is
    // filled in the order the patient's visits happen: another institution's 2,000 on 4/10
    // comes after this clinic's visit on 4/1 (5,000 → 1,000 then, 1,500 of the cap left) and
    // before the one on 4/20 (10,000 → 2,000, but 2,500 − 1,000 − 2,000 < 0: nothing).
    let mut s = national("54", Some(2_500));
    s.paid_elsewhere = vec![PaidElsewhere {
        date: d("2026-04-10"),
        amount: Yen(2_000),
        own: false,
    }];
    let visits = vec![
        visit("a", "2026-04-01", OUT, &[(5_000, &[0])]),
        visit("b", "2026-04-20", OUT, &[(10_000, &[0])]),
    ];
    let a = run(kenpo(30, None), vec![s.clone()], visits.clone(), "a");
    let b = run(kenpo(30, None), vec![s.clone()], visits.clone(), "b");
    assert_eq!((a.window_charge, b.window_charge), (Yen(1_000), Yen(0)));
    assert!(
        a.trace.iter().all(|t| !t.en.contains("2,000円 on 04-10")),
        "{:?}",
        a.trace
    );
    assert!(
        b.trace.iter().any(|t| t.en.contains("2,000円 on 04-10")),
        "{:?}",
        b.trace
    );
    // The month: 1,000 here, 2,000 elsewhere: nothing of the cap remains.
    assert_eq!(a.month.cap_remaining, vec![Some(Yen(0))]);
    // Dated the 1st, the entry comes first: 500 of the cap is left for the visit of 4/1.
    s.paid_elsewhere[0].date = d("2026-04-01");
    let a = run(kenpo(30, None), vec![s], visits, "a");
    assert_eq!(a.window_charge, Yen(500));
}

#[test]
fn visits_of_one_day_count_in_the_order_given() {
    // 難病 cap 2,500, 2割: two visits on 4/8, 10,000 (2,000) and 5,000 (1,000). The one given
    // first takes its share in full; the second gets what is left of the cap.
    let x = visit("x", "2026-04-08", OUT, &[(10_000, &[0])]);
    let y = visit("y", "2026-04-08", OUT, &[(5_000, &[0])]);
    let nan = || vec![national("54", Some(2_500))];
    let xy = vec![x.clone(), y.clone()];
    assert_eq!(
        (
            run(kenpo(30, None), nan(), xy.clone(), "x").window_charge,
            run(kenpo(30, None), nan(), xy, "y").window_charge
        ),
        (Yen(2_000), Yen(500))
    );
    let yx = vec![y, x];
    assert_eq!(
        (
            run(kenpo(30, None), nan(), yx.clone(), "y").window_charge,
            run(kenpo(30, None), nan(), yx, "x").window_charge
        ),
        (Yen(1_000), Yen(1_500))
    );
}

/// 後期 2割 (一般Ⅱ, B09) outpatient, optionally in the 75歳到達月 or with 特定疾病.
fn ippan_ii(turning_75: bool, marucho: bool) -> Insurance {
    let mut i = insurance(InsuranceKind::LateElderly, 20, Some("B09"), true);
    i.turning_75 = turning_75;
    i.specific_disease = marucho.then_some(SpecificDisease::Standard);
    i
}

/// The patient's month at one outpatient visit on `date` with `parts`.
fn one_visit(ins: Insurance, subs: Vec<Subsidy>, date: &str, parts: &[(u64, &[usize])]) -> Quote {
    run(ins, subs, vec![visit("v", date, OUT, parts)], "v")
}

#[test]
fn golden_late_elderly_2wari_care_measure() {
    // 厚生労働省「後期高齢者医療制度の負担割合見直しに係る計算事例集」 (as transcribed in the
    // published engine tests of the myclinic receipt computer, calc.hairyosochi.test.ts): the
    // copay of the items no 公費 covers is held to 6,000 + (their cost − 30,000) × 10 % from
    // 2022-10 to 2025-09, then to the 外来 limit 18,000.
    let ins = || ippan_ii(false, false);
    let day = "2023-06-12";
    for (cost, pays) in [
        (20_000, 4_000),   // 事例1: 2割 4,000 is within 6,000 − 1,000
        (80_000, 11_000),  // 事例3: 6,000 + 5,000 (2割 would be 16,000)
        (130_000, 16_000), // 事例4: 6,000 + 10,000
        (200_000, 18_000), // 事例2: the 外来 limit
    ] {
        let q = one_visit(ins(), vec![], day, &[(cost, &[])]);
        assert_eq!(q.window_charge, Yen(pays), "cost {cost}: {:?}", q.trace);
    }
    let q = one_visit(ins(), vec![], day, &[(80_000, &[])]);
    assert!(
        q.trace
            .iter()
            .any(|t| t.en.contains("配慮措置") && t.en.contains("11,000円")),
        "{:?}",
        q.trace
    );
    // 75歳到達月: the 外来 limit is halved (9,000), the 配慮措置 is not (事例5–7).
    for (cost, pays) in [(100_000, 9_000), (40_000, 7_000), (50_000, 8_000)] {
        let q = one_visit(ippan_ii(true, false), vec![], day, &[(cost, &[])]);
        assert_eq!(q.window_charge, Yen(pays), "到達月 {cost}: {:?}", q.trace);
    }
    // 特定疾病: not under the 配慮措置; the lower of マル長 and the class limit (事例8, 21).
    for (cost, pays) in [(150_000, 10_000), (40_000, 8_000)] {
        let q = one_visit(ippan_ii(false, true), vec![], day, &[(cost, &[])]);
        assert_eq!(q.window_charge, Yen(pays), "マル長 {cost}: {:?}", q.trace);
    }
    // 公費 parts are not subject to it (事例16–18): 難病 (cap 5,000) on 40,000 = 2割 8,000 → 5,000,
    // beside 50,000 of other items → 6,000 + 2,000 = 8,000: 13,000.
    let nanbyo = || vec![national("54", Some(5_000))];
    let q = one_visit(ins(), nanbyo(), day, &[(40_000, &[0]), (50_000, &[])]);
    assert_eq!(q.window_charge, Yen(13_000), "{:?}", q.trace);
    // 難病 35,000 (7,000 → 5,000) beside 105,000 (6,000 + 7,500 = 13,500): 18,500, held to 18,000.
    let q = one_visit(ins(), nanbyo(), day, &[(35_000, &[0]), (105_000, &[])]);
    assert_eq!(q.window_charge, Yen(18_000), "{:?}", q.trace);
    // 結核 (5 %) on 60,000 = 3,000 beside 80,000 (6,000 + 5,000 = 11,000): 14,000.
    let q = one_visit(
        ins(),
        vec![national("10", None)],
        day,
        &[(60_000, &[0]), (80_000, &[])],
    );
    assert_eq!(q.window_charge, Yen(14_000), "{:?}", q.trace);
    // Outside its period (from 2025-10) the 2割 stands: 80,000 → 16,000, and the trace is silent.
    let q = one_visit(ins(), vec![], "2025-10-06", &[(80_000, &[])]);
    assert_eq!(q.window_charge, Yen(16_000));
    assert!(
        q.trace.iter().all(|t| !t.en.contains("配慮措置")),
        "{:?}",
        q.trace
    );
    // Not for inpatients: 2割 of 80,000 under the 入院 limit 57,600.
    let q = run(
        ins(),
        vec![],
        vec![visit("i", day, IN, &[(80_000, &[])])],
        "i",
    );
    assert_eq!(q.window_charge, Yen(16_000));
}

/// The window charges of every visit of the month, in the order given.
fn windows(ins: &Insurance, subs: &[Subsidy], visits: &[Visit]) -> Vec<u64> {
    visits
        .iter()
        .map(|v| {
            run(ins.clone(), subs.to_vec(), visits.to_vec(), &v.id)
                .window_charge
                .0
        })
        .collect()
}

#[test]
fn a_cap_or_a_limit_reached_is_collected_to_the_yen() {
    // Each visit's window charge is rounded to 10 yen (健康保険法 §75); the visit that reaches a
    // cap or a limit collects what is left of it, so that the month's windows add up to it
    // exactly (as the 管理票 examples show: MHLW's 肝炎 管理票 cuts 4,300 to 2,050 at its cap).
    //
    // 難病 cap 2,500 at 2割: 5,030 three times → 1,006 (window 1,010), 1,006 (1,010), then only
    // 488 of the cap is left: 2,500 − 2,020 collected = 480, not 490.
    let visits: Vec<Visit> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, id)| visit(id, &format!("2026-04-0{}", i + 1), OUT, &[(5_030, &[0])]))
        .collect();
    let nan = vec![national("54", Some(2_500))];
    assert_eq!(
        windows(&kenpo(30, None), &nan, &visits),
        [1_010, 1_010, 480]
    );
    let a = run(kenpo(30, None), nan.clone(), visits.clone(), "a");
    let c = run(kenpo(30, None), nan, visits, "c");
    assert!(c.to_the_yen && c.earlier_windows == Yen(2_020), "{c:?}");
    assert_eq!(c.exact_charge, Yen(488));
    // The 管理票 rows are the 公費-level amounts as a window collects them: 1,010, 1,010, 480 —
    // the month's rows add up to the cap.
    assert_eq!(
        (a.shares.clone(), c.shares.clone()),
        (vec![Yen(1_010)], vec![Yen(480)])
    );
    assert_eq!(c.shares_so_far, [Yen(2_500)]);
    // A 高額 limit with its 1 % part (健康保険法施行令 §42: the 1 % to the yen, 50 銭 up): ウ
    // in 2026-04, 300,070 at 3割 = 90,021 over 80,100 + 33,070 × 1 % = 80,430.7 → 80,431, and the
    // window collects 80,431, not 80,430.
    let q = one_visit(
        kenpo(30, Some("A03")),
        vec![],
        "2026-04-10",
        &[(300_070, &[])],
    );
    assert_eq!(
        (q.window_charge, q.to_the_yen),
        (Yen(80_431), true),
        "{:?}",
        q.trace
    );
    // Under the limit the visit is rounded as always: 10,030 → 3,009 → 3,010.
    let q = one_visit(
        kenpo(30, Some("A03")),
        vec![],
        "2026-04-10",
        &[(10_030, &[])],
    );
    assert_eq!((q.window_charge, q.to_the_yen), (Yen(3_010), false));
    // A 生活保護 本人支払額 (3,333 on the 医療券) is collected exactly: 2,000, then 1,333.
    let s = welfare(3_333);
    let none = insurance(InsuranceKind::None, 0, None, false);
    let visits = vec![
        visit("a", "2026-04-01", OUT, &[(2_000, &[0])]),
        visit("b", "2026-04-08", OUT, &[(5_000, &[0])]),
    ];
    assert_eq!(windows(&none, &[s], &visits), [2_000, 1_333]);
}

#[test]
fn the_75th_birthday_month_halves_the_limits_and_marucho_but_not_a_kohi_cap() {
    // 計算事例集 (後期 2割, myclinic calc.hairyosochi.test.ts) 事例12: 一般Ⅱ in the 75歳到達月,
    // 難病 (cap 5,000) on 50,000: the part is held to the halved 外来 limit 9,000 (2割 would be
    // 10,000), and the patient pays the 難病 cap, 5,000, not halved.
    let q = one_visit(
        ippan_ii(true, false),
        vec![national("54", Some(5_000))],
        "2023-06-12",
        &[(50_000, &[0])],
    );
    let r = receipt(&q, OUT);
    assert_eq!(
        (r.high_cost, r.patient),
        (Yen(1_000), Yen(5_000)),
        "{:?}",
        q.trace
    );
    assert_eq!(r.subsidies[0].works_on, Yen(9_000));
    // 事例9: マル長 in the 75歳到達月, 70,000 at 2割: マル長 halved to 5,000 (lower than the halved
    // 外来 limit 9,000).
    let q = one_visit(ippan_ii(true, true), vec![], "2023-06-12", &[(70_000, &[])]);
    assert_eq!(q.window_charge, Yen(5_000), "{:?}", q.trace);
}

/// An inpatient visit on `date` costing `cost` under `subsidies`, with `meals` meals a day on
/// `days` days from `date`.
fn stay(date: &str, cost: u64, subsidies: &[usize], days: u32, meals: u8) -> Visit {
    let mut v = visit("stay", date, IN, &[(cost, subsidies)]);
    let first = d(date);
    v.meals = (0..days)
        .map(|i| MealDay {
            date: first + chrono::Days::new(u64::from(i)),
            count: meals,
        })
        .collect();
    v
}

#[test]
fn golden_meals_in_hospital_by_date_class_and_programme() {
    // 食事療養標準負担額 per meal (the amounts of the 厚生労働大臣告示; 令和6年度改定 2024-06,
    // the 2025-04 見直し): 一般 460 → 490 → 510. 3 days × 3 meals; 100,000 at 3割 (ウ: within
    // 80,100 + 1 %): 30,000 for the care, the meals on their own line.
    let ins = || kenpo(30, Some("A03"));
    for (date, per_meal) in [
        ("2024-05-10", 460),
        ("2024-07-10", 490),
        ("2025-05-10", 510),
    ] {
        let q = run(ins(), vec![], vec![stay(date, 100_000, &[], 3, 3)], "stay");
        let m = receipt(&q, IN).meals.clone().unwrap();
        assert_eq!(
            (m.count, m.standard, m.patient),
            (9, Yen(9 * per_meal), Yen(9 * per_meal))
        );
        assert_eq!(q.meal_charge, Yen(9 * per_meal));
        assert_eq!(
            q.window_charge,
            Yen(30_000 + 9 * per_meal),
            "{date}: {:?}",
            q.trace
        );
        // Outside the 高額 limit: the care's 30,000 is what the limit sees.
        assert_eq!(receipt(&q, IN).patient, Yen(30_000));
    }
    // 住民税非課税 (オ, A05): 240 a meal (2025-04); after 90 days (長期該当) 190.
    let mut low = kenpo(30, Some("A05"));
    let q = run(
        low.clone(),
        vec![],
        vec![stay("2025-05-10", 10_000, &[], 2, 3)],
        "stay",
    );
    assert_eq!(
        receipt(&q, IN).meals.as_ref().unwrap().standard,
        Yen(6 * 240)
    );
    low.long_stay = true;
    let q = run(
        low,
        vec![],
        vec![stay("2025-05-10", 10_000, &[], 2, 3)],
        "stay",
    );
    assert_eq!(
        receipt(&q, IN).meals.as_ref().unwrap().standard,
        Yen(6 * 190)
    );
    // 生活保護 pays the meals (医療扶助): 公費のみ, 本人支払額 0 → nothing at the window; its KO
    // carries the 標準負担額 it pays.
    let welfare = welfare(0);
    let none = insurance(InsuranceKind::None, 0, None, false);
    let q = run(
        none,
        vec![welfare],
        vec![stay("2025-05-10", 50_000, &[0], 2, 3)],
        "stay",
    );
    let m = receipt(&q, IN).meals.clone().unwrap();
    assert_eq!((m.by_subsidy, m.patient), (vec![(0, Yen(3_060))], Yen(0)));
    assert_eq!(q.window_charge, Yen(0));
    // 難病 (cap 10,000): its patient pays the lower 指定難病 amount, 300 a meal, and the meals are
    // not counted in the cap: 20,000 at 2割 = 4,000 + 6 × 300 = 1,800; 6,000 of the cap is left.
    let q = run(
        kenpo(30, Some("A03")),
        vec![national("54", Some(10_000))],
        vec![stay("2025-05-10", 20_000, &[0], 2, 3)],
        "stay",
    );
    assert_eq!(q.window_charge, Yen(5_800), "{:?}", q.trace);
    assert_eq!(q.month.cap_remaining, vec![Some(Yen(6_000))]);
    // 小児慢性: half of the 指定難病 amount: 6 × 150 = 900, the 公費 pays the other 900.
    let q = run(
        kenpo(20, Some("A03")),
        vec![national("52", Some(10_000))],
        vec![stay("2025-05-10", 20_000, &[0], 2, 3)],
        "stay",
    );
    let m = receipt(&q, IN).meals.clone().unwrap();
    assert_eq!((m.patient, m.by_subsidy), (Yen(900), vec![(0, Yen(900))]));
    // Meals belong to a stay: an outpatient visit with meals is refused; so is a 4th meal a day.
    let mut out = visit("o", "2025-05-10", OUT, &[(1_000, &[])]);
    out.meals = vec![MealDay {
        date: d("2025-05-10"),
        count: 1,
    }];
    let err = Month::new(kenpo(30, None), vec![], vec![out]).unwrap_err();
    assert_eq!(err, ChargeError::MealsOutsideHospital { visit: 1 });
    let err = Month::new(
        kenpo(30, None),
        vec![],
        vec![stay("2025-05-10", 1_000, &[], 1, 4)],
    )
    .unwrap_err();
    assert_eq!(err, ChargeError::MealsMalformed { visit: 1, count: 4 });
}

/// A local programme with `method`, charged at most `times` times a month, counted so.
fn counted(method: Method, times: Option<u16>, counting: crate::masters::VisitCounting) -> Subsidy {
    let t = Terms {
        method,
        caps: CopayCaps::default(),
        charged_times_per_month: times,
        rounding: Rounding::Yen,
        counting,
        class_without_certificate: None,
    };
    Subsidy {
        label: "地単".into(),
        law_code: None,
        kohi_limit: KohiLimitRule::None,
        rate_rule: RateRule::Programme,
        shared_cap: false,
        local: true,
        paid_elsewhere: Vec::new(),
        terms: [Some(t); 3],
        meals: None,
    }
}

fn counting(
    unit: crate::masters::CountUnit,
    scope: crate::masters::CountScope,
    when: crate::masters::CountWhen,
) -> crate::masters::VisitCounting {
    crate::masters::VisitCounting { unit, scope, when }
}

#[test]
fn local_visit_rules_count_as_the_programme_says() {
    use crate::masters::{CountScope as S, CountUnit as U, CountWhen as W};
    let ins = || kenpo(30, None);
    let c = |v: &str, day: &str, flags: (bool, bool, bool)| {
        let mut x = visit(v, day, OUT, &[(5_000, &[0])]);
        x.consultation = Consultation {
            first_visit: flags.0,
            treatment_day: flags.1,
            joins_visit: flags.2,
        };
        x
    };
    const PLAIN: (bool, bool, bool) = (false, true, false);
    // 大阪市 こども医療費助成 (1医療機関 1日500円, 月2日まで): three days → 500, 500, 0; a second
    // department joining the visit of the first day adds nothing and is not another day.
    let osaka = counted(
        Method::PerDay { amount: Yen(500) },
        Some(2),
        counting(U::Day, S::Institution, W::Charged),
    );
    let visits = vec![
        c("a", "2026-04-01", PLAIN),
        c("a2", "2026-04-01", (false, true, true)),
        c("b", "2026-04-08", PLAIN),
        c("d", "2026-04-15", PLAIN),
    ];
    assert_eq!(windows(&ins(), &[osaka], &visits), [500, 0, 500, 0]);
    // Per visit (東京都 マル子 200円): a second department joining is one visit with it; a second
    // consultation the same day is another; a day that is no treatment day pays nothing.
    let maruko = counted(
        Method::PerVisit { amount: Yen(200) },
        None,
        counting(U::Visit, S::Institution, W::Charged),
    );
    let visits = vec![
        c("a", "2026-04-01", PLAIN),
        c("a2", "2026-04-01", (false, true, true)),
        c("a3", "2026-04-01", PLAIN),
        c("rx", "2026-04-02", (false, false, false)),
    ];
    assert_eq!(windows(&ins(), &[maruko], &visits), [200, 0, 200, 0]);
    // 初診時一部負担金 (札幌市 子ども医療費助成: 医療機関ごと初診時 580円): 580 at the 初診, then
    // nothing at 再診.
    let sapporo = counted(
        Method::PerVisit { amount: Yen(580) },
        None,
        counting(U::FirstVisit, S::Institution, W::Charged),
    );
    let visits = vec![
        c("f", "2026-04-01", (true, true, false)),
        c("r", "2026-04-08", PLAIN),
    ];
    assert_eq!(windows(&ins(), &[sapporo], &visits), [580, 0]);
    // Visits at other institutions count when the programme says so (scope all): one entered
    // from the 管理票 on 4/3 leaves one of two charges here.
    let mut all = counted(
        Method::PerVisit { amount: Yen(500) },
        Some(2),
        counting(U::Visit, S::All, W::Charged),
    );
    all.paid_elsewhere = vec![PaidElsewhere {
        date: d("2026-04-03"),
        amount: Yen(0),
        own: false,
    }];
    let visits = vec![
        c("a", "2026-04-01", PLAIN),
        c("b", "2026-04-08", PLAIN),
        c("e", "2026-04-15", PLAIN),
    ];
    assert_eq!(windows(&ins(), &[all.clone()], &visits), [500, 0, 0]);
    // Counted per institution, the same entry does not count: 500, 500, 0.
    all.terms = all.terms.map(|t| {
        t.map(|t| Terms {
            counting: counting(U::Visit, S::Institution, W::Charged),
            ..t
        })
    });
    assert_eq!(windows(&ins(), &[all.clone()], &visits), [500, 500, 0]);
    // This institution's committed visits outside the quote count (the ledger's own rows).
    all.paid_elsewhere = vec![PaidElsewhere {
        date: d("2026-04-03"),
        amount: Yen(500),
        own: true,
    }];
    assert_eq!(windows(&ins(), &[all], &visits), [500, 0, 0]);
    // A day another 公費 made free (第1公費 free on the same items): counted only by a programme
    // that counts every day (when any), not by one that counts paid days (when charged).
    let free = |id: &str, day: &str| visit(id, day, OUT, &[(5_000, &[0, 1])]);
    let paid = |id: &str, day: &str| visit(id, day, OUT, &[(5_000, &[1])]);
    let visits = vec![
        free("a", "2026-04-01"),
        paid("b", "2026-04-08"),
        paid("e", "2026-04-15"),
    ];
    let first = counted(Method::Free, None, Default::default());
    for (when, expected) in [(W::Any, [0, 500, 0]), (W::Charged, [0, 500, 500])] {
        let second = counted(
            Method::PerVisit { amount: Yen(500) },
            Some(2),
            counting(U::Visit, S::Institution, when),
        );
        assert_eq!(
            windows(&ins(), &[first.clone(), second], &visits),
            expected,
            "{when:?}"
        );
    }
    // A share of the copay with a small monthly cap: half of it, up to 1,000 a month — 1,500
    // (3割 of 5,000) → 750, then 750 but only 250 left, then 0.
    let mut half = counted(Method::CopayRate { percent: 50 }, None, Default::default());
    half.terms = half.terms.map(|t| {
        t.map(|t| Terms {
            caps: CopayCaps {
                per_month: Some(Yen(1_000)),
                ..Default::default()
            },
            ..t
        })
    });
    let visits = vec![
        c("a", "2026-04-01", PLAIN),
        c("b", "2026-04-08", PLAIN),
        c("e", "2026-04-15", PLAIN),
    ];
    assert_eq!(windows(&ins(), &[half], &visits), [750, 250, 0]);
}

#[test]
fn real_local_programmes_from_the_masters() {
    // Each row as the programme's public page states it (masters/README.md), 3割 of 5,000 =
    // 1,500 a visit at one clinic.
    let ins = || kenpo(30, None);
    let five = |n: usize, first: bool| -> Vec<Visit> {
        (0..n)
            .map(|i| {
                let mut v = visit(
                    &format!("v{i}"),
                    &format!("2026-04-{:02}", i + 1),
                    OUT,
                    &[(5_000, &[0])],
                );
                v.consultation.first_visit = first && i == 0;
                v
            })
            .collect()
    };
    // 札幌市 (初診時一部負担金 580 at the 初診 only).
    assert_eq!(
        windows(&ins(), &[local("88011002")], &five(3, true)),
        [580, 0, 0]
    );
    // 静岡市 (1回500円, 月4回まで at one institution).
    assert_eq!(
        windows(&ins(), &[local("88221007")], &five(5, false)),
        [500, 500, 500, 500, 0]
    );
    // 京都府 子育て支援 (1医療機関 月200円) and 福岡市 (月500円): the copay up to the month's amount.
    assert_eq!(
        windows(&ins(), &[local("88261003")], &five(2, false)),
        [200, 0]
    );
    assert_eq!(
        windows(&ins(), &[local("88401302")], &five(2, false)),
        [500, 0]
    );
    // 大阪市 (1日500円, 月2日まで).
    assert_eq!(
        windows(&ins(), &[local("88271010")], &five(3, false)),
        [500, 500, 0]
    );
}

#[test]
fn a_programme_pays_up_to_a_class_limit_without_a_certificate() {
    // A 1割 local programme capped at 57,600 a month for 入院, which without a 限度額適用認定証
    // pays only up to the ウ limit: 1,000,000 at 3割 = 300,000 copay; ウ 80,100 + (1,000,000 −
    // 267,000) × 1 % = 87,430. With the class given, 高額 holds the receipt at 87,430 and the
    // programme takes it down to its 57,600 (paying 29,830). Without it, the programme pays 87,430 − 57,600 = 29,830 and the
    // patient the rest at the window: 300,000 − 29,830 = 270,170 (高額 claimed later).
    let mut s = counted(Method::Rate { percent: 10 }, None, Default::default());
    s.terms = s.terms.map(|t| {
        t.map(|t| Terms {
            caps: CopayCaps {
                per_month: Some(Yen(57_600)),
                ..Default::default()
            },
            class_without_certificate: Some(HighCostClass::parse("A03").unwrap()),
            ..t
        })
    });
    let stay = || vec![visit("i", "2026-04-10", IN, &[(1_000_000, &[0])])];
    let with = run(kenpo(30, Some("A03")), vec![s.clone()], stay(), "i");
    assert_eq!(with.window_charge, Yen(57_600));
    // The local programme pays last, on what the limit leaves: 高額 212,570 on the receipt.
    let r = receipt(&with, IN);
    assert_eq!(
        (r.high_cost, r.subsidies[0].pays),
        (Yen(212_570), Yen(29_830))
    );
    let without = run(kenpo(30, None), vec![s], stay(), "i");
    assert_eq!(without.window_charge, Yen(270_170), "{:?}", without.trace);
    assert_eq!(receipt(&without, IN).subsidies[0].pays, Yen(29_830));
}

#[test]
fn a_month_is_one_calendar_month_and_the_limits_follow_it() {
    let err = Month::new(
        kenpo(30, None),
        vec![],
        vec![
            visit("a", "2026-07-31", OUT, &[(1_000, &[])]),
            visit("b", "2026-08-01", OUT, &[(1_000, &[])]),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(err, ChargeError::MonthsDiffer { visit: 2, .. }),
        "{err}"
    );
    // July uses the confirmed ウ, August the provisional one, and says so. 入院 cost 1,000,000:
    // July 80,100 + 7,330 = 87,430; August 85,800 + (1,000,000 − 286,000) × 1 % = 92,940.
    let july = run(
        kenpo(30, Some("A03")),
        vec![],
        vec![visit("v", "2026-07-20", IN, &[(1_000_000, &[])])],
        "v",
    );
    assert_eq!(july.exact_charge, Yen(87_430));
    assert!(july.month.provisional.is_empty());
    let august = run(
        kenpo(30, Some("A03")),
        vec![],
        vec![visit("v", "2026-08-20", IN, &[(1_000_000, &[])])],
        "v",
    );
    assert_eq!(august.exact_charge, Yen(92_940));
    assert!(
        august.month.provisional[0].contains("A03"),
        "{:?}",
        august.month.provisional
    );
}

#[test]
fn inputs_that_cannot_be_computed_are_named() {
    let v = |parts: &[(u64, &[usize])]| vec![visit("v", "2026-04-10", OUT, parts)];
    let err = Month::new(kenpo(30, None), vec![], v(&[(1_000, &[0])])).unwrap_err();
    assert!(err.to_string().contains("not among the subsidies"), "{err}");
    let err = Month::new(kenpo(30, None), vec![], vec![]).unwrap_err();
    assert_eq!(err, ChargeError::NoVisits);
    let err = Month::new(
        insurance(InsuranceKind::None, 0, None, false),
        vec![],
        v(&[(1_000, &[])]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no payer"), "{err}");
    // 結核入院 (11) does not cover a pharmacy claim.
    let mut s = national("11", None);
    s.terms[Setting::Pharmacy.index()] = None;
    let err = Month::new(
        kenpo(30, None),
        vec![s],
        vec![visit("v", "2026-04-10", RX, &[(1_000, &[0])])],
    )
    .unwrap_err();
    assert!(err.to_string().contains("調剤"), "{err}");
    let err = Insurance::new(InsuranceKind::HealthInsurance, 25, None, None).unwrap_err();
    assert_eq!(err, ChargeError::InsuranceRate(25));
    let err = Insurance::new(
        InsuranceKind::HealthInsurance,
        30,
        Some(HighCostClass::parse("B01").unwrap()),
        Some(false),
    )
    .unwrap_err();
    assert!(matches!(err, ChargeError::ClassAgeMismatch(_)));
    let m = Month::new(kenpo(30, None), vec![], v(&[(1_000, &[])])).unwrap();
    assert_eq!(
        quote(&m, "other", masters()).unwrap_err(),
        ChargeError::VisitNotFound
    );
}

// ---- Properties.

/// A pool of subsidies a generated month draws from, in a valid receipt order (national ones
/// and one local programme).
fn pool(local_programme: usize) -> Vec<Subsidy> {
    // マル障 1割, マル子 200 a visit, 大阪市 500 a day twice, 静岡市 500 a visit 4 times, 京都府
    // the copay up to 200 a month.
    let locals = ["80136", "88131248", "88271010", "88221007", "88261003"];
    vec![
        national("21", Some(5_000)),
        national("54", Some(10_000)),
        local(locals[local_programme % locals.len()]),
    ]
}

fn arb_month() -> impl Strategy<Value = (Insurance, Vec<Subsidy>, Vec<Visit>)> {
    let ins = prop_oneof![
        (
            prop::sample::select(vec![10u8, 20, 30]),
            prop::option::of(prop::sample::select(vec!["A01", "A03", "A04", "A05"]))
        )
            .prop_map(|(r, c)| kenpo(r, c)),
        (
            prop::sample::select(vec![10u8, 20, 30]),
            prop::option::of(prop::sample::select(vec!["B01", "B04", "B05", "B06"])),
            any::<bool>()
        )
            .prop_map(|(r, c, t)| {
                let mut i = insurance(InsuranceKind::LateElderly, r, c, true);
                i.turning_75 = t;
                i
            }),
    ];
    let subs = (0usize..5).prop_flat_map(|b| prop::sample::subsequence(pool(b), 0..=3));
    (ins, subs).prop_flat_map(|(ins, subs)| {
        let n = subs.len();
        let part = (
            1u64..60_000,
            prop::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n),
        )
            .prop_map(|(c, s)| (c * 10, s));
        let visit = (
            1u32..=28,
            prop::sample::select(vec![OUT, IN, RX]),
            prop::collection::vec(part, 1..3),
            any::<u16>(),
            0u64..6_000,
        );
        (Just(ins), Just(subs), prop::collection::vec(visit, 1..6)).prop_map(
            |(ins, mut subs, visits)| {
                for s in &mut subs {
                    if s.shared_cap {
                        s.paid_elsewhere = Vec::new();
                    }
                }
                if let (Some(s), Some(v)) = (subs.first_mut(), visits.first())
                    && s.shared_cap
                {
                    s.paid_elsewhere = vec![PaidElsewhere {
                        date: d(&format!("2026-04-{:02}", v.3 % 28 + 1)),
                        amount: Yen(v.4),
                        own: false,
                    }];
                }
                let visits = visits
                    .into_iter()
                    .enumerate()
                    .map(|(i, (day, setting, parts, bits, _))| {
                        let date = d(&format!("2026-04-{day:02}"));
                        // Meals on 0–2 days from the visit's day for a stay; the consultation's
                        // flags from the same bits.
                        let meal_days = if setting == IN { (bits >> 5) % 3 } else { 0 };
                        Visit {
                            id: format!("v{i}"),
                            date,
                            setting,
                            parts: parts
                                .into_iter()
                                .map(|(c, s)| Part {
                                    cost: Yen(c),
                                    subsidies: s,
                                })
                                .collect(),
                            meals: (0..meal_days)
                                .map(|k| MealDay {
                                    date: date + chrono::Days::new(u64::from(k)),
                                    count: (bits >> 7) as u8 % 3 + 1,
                                })
                                .collect(),
                            consultation: Consultation {
                                first_visit: bits & 1 == 1,
                                treatment_day: (bits >> 1) % 4 != 0,
                                joins_visit: (bits >> 3) & 1 == 1,
                            },
                        }
                    })
                    .collect();
                (ins, subs, visits)
            },
        )
    })
}

fn total(ins: &Insurance, subs: &[Subsidy], visits: &[Visit]) -> u64 {
    let m = Month::new(ins.clone(), subs.to_vec(), visits.to_vec()).unwrap();
    month(&m, masters()).unwrap().patient.0
}

/// The month with subsidy `k` taken out (of the list and of every part).
fn without_subsidy(subs: &[Subsidy], visits: &[Visit], k: usize) -> (Vec<Subsidy>, Vec<Visit>) {
    let mut s = subs.to_vec();
    s.remove(k);
    let v = visits
        .iter()
        .cloned()
        .map(|mut v| {
            for p in &mut v.parts {
                p.subsidies = p
                    .subsidies
                    .iter()
                    .filter(|&&i| i != k)
                    .map(|&i| if i > k { i - 1 } else { i })
                    .collect();
            }
            v
        })
        .collect();
    (s, v)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parts_add_up_and_nobody_pays_a_negative_amount((ins, subs, visits) in arb_month()) {
        let m = Month::new(ins, subs, visits.clone()).unwrap();
        let mc = month(&m, masters()).unwrap();
        let cost: u64 = visits.iter().map(|v| v.cost().0).sum();
        let mut sum = 0;
        for r in &mc.receipts {
            let pays: u64 = r.subsidies.iter().map(|s| s.pays.0).sum();
            prop_assert_eq!(r.insurance.0 + r.high_cost.0 + pays + r.patient.0, r.cost.0);
            for s in &r.subsidies {
                prop_assert_eq!(s.works_on.0, s.pays.0 + s.patient_share.0);
            }
            sum += r.cost.0;
        }
        prop_assert_eq!(sum, cost);
        // The visits' charges (less any refund) add up to the month's total, exactly.
        let mut charged: i128 = 0;
        for v in m.visits() {
            let q = quote(&m, &v.id, masters()).unwrap();
            every_line_in_both_languages(&q.trace);
            prop_assert_eq!(q.month_so_far.0 + q.refund.0, q.month_without.0 + q.exact_charge.0);
            // A visit a cap or limit sets settles the month's windows to the yen.
            if q.to_the_yen {
                prop_assert_eq!(
                    q.window_charge.0 + q.earlier_windows.0,
                    q.month_so_far.0.max(q.earlier_windows.0)
                );
            } else if q.refund.0 == 0 {
                prop_assert_eq!(q.window_charge, Rounding::TenHalfUp.apply(q.exact_charge));
            }
            charged += i128::from(q.exact_charge.0) - i128::from(q.refund.0);
        }
        prop_assert_eq!(charged, i128::from(mc.patient.0));
    }

    #[test]
    fn a_subsidy_never_raises_the_charge_where_every_part_joins((ins, subs, visits) in arb_month()) {
        // Where it holds: 70 and over (every part joins the class limit), or one part per
        // receipt. Under 70 with several parts it need not — a 公費 part under 21,000 yen stays
        // out of the class limit and the rest is held to it on its own cost
        // (`golden_21000_rule_a_small_kohi_part_stays_out_of_the_class_limit`).
        let one_set = visits
            .iter()
            .flat_map(|v| v.parts.iter().map(|p| &p.subsidies))
            .all(|s| *s == visits[0].parts[0].subsidies);
        prop_assume!(ins.age_group != AgeGroup::Under70 || one_set);
        let with = total(&ins, &subs, &visits);
        // Against no subsidy at all …
        let bare: Vec<Visit> = visits.iter().cloned().map(|mut v| {
            for p in &mut v.parts { p.subsidies.clear(); }
            v
        }).collect();
        prop_assert!(with <= total(&ins, &[], &bare), "with {with}");
        // … and against each subsidy taken out, on one receipt. (Across receipts it can: a
        // monthly cap counts the programme's share — as the 管理票 does, even when another
        // 公費 or 高額療養費 then lowers what the patient pays — so a 公費 that lowers another's
        // share at the clinic leaves more of that cap to be charged at the pharmacy. A yen or
        // so; a consequence of the rule, not of the arithmetic.)
        //
        // Nor for a national 公費 sharing a part with a local programme when the receipt's limit
        // holds: the local programme pays last, on what the limit leaves of its part, so a yen
        // the national one pays of that part is a yen the local one no longer pays, and the limit
        // (taken from the other items first) then leaves it to the patient.
        let one_receipt = visits.iter().all(|v| v.setting == visits[0].setting);
        let beside_a_local = |k: usize| {
            visits.iter().flat_map(|v| &v.parts).any(|p| {
                p.subsidies.contains(&k) && p.subsidies.iter().any(|&o| subs[o].local)
            })
        };
        for k in (0..subs.len()).filter(|&k| one_receipt && (subs[k].local || !beside_a_local(k))) {
            let (s, v) = without_subsidy(&subs, &visits, k);
            prop_assert!(with <= total(&ins, &s, &v), "subsidy {k}: with {with}");
        }
    }

    #[test]
    fn the_order_of_the_visits_does_not_matter((ins, subs, visits) in arb_month(), seed in any::<u64>()) {
        let m = Month::new(ins.clone(), subs.clone(), visits.clone()).unwrap();
        let mut shuffled = visits.clone();
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        // Visits of one day count in the order given: keep that order among them.
        let mut same_day = visits.clone();
        same_day.reverse();
        for slot in shuffled.iter_mut() {
            let date = slot.date;
            let k = same_day.iter().rposition(|v| v.date == date).unwrap();
            *slot = same_day.remove(k);
        }
        let m2 = Month::new(ins, subs, shuffled).unwrap();
        for v in visits {
            let a = quote(&m, &v.id, masters()).unwrap();
            let b = quote(&m2, &v.id, masters()).unwrap();
            prop_assert_eq!(a.window_charge, b.window_charge);
            prop_assert_eq!(&a.month.receipts, &b.month.receipts);
        }
    }
}

#[test]
fn a_reimbursement_only_subsidy_lowers_nothing_at_the_window() {
    // 難病 (cap 2,500) on a 3割 visit of 50,000 would cost 2,500 at the window (golden 1); 償還払い
    // のみ, the clinic charges the insurance copay in full: 15,000, and the patient claims later.
    let day = d("2026-04-10");
    let mut cert = crate::domain::Certificate::simple(
        "54136015",
        Some("1234566"),
        d("2026-04-01"),
        d("2027-03-31"),
    );
    cert.max_copayment.outpatient.per_month = Some(Yen(2_500));
    let ctx = crate::mapping::VisitContext::on(crate::domain::ServiceDate::new(day));
    let resolved = |cert: &crate::domain::Certificate| {
        resolve(
            &[Named {
                certificate: cert.clone(),
                own_payment: None,
            }],
            masters(),
            crate::domain::ServiceDate::new(day),
            &ctx,
        )
        .unwrap()
        .0
    };
    let visits = || vec![visit("v", "2026-04-10", OUT, &[(50_000, &[0])])];
    assert_eq!(
        run(kenpo(30, None), resolved(&cert), visits(), "v").window_charge,
        Yen(2_500)
    );
    cert.always_reimbursement = true;
    let q = run(kenpo(30, None), resolved(&cert), visits(), "v");
    assert_eq!(q.window_charge, Yen(15_000));
    assert!(
        q.trace.iter().any(|l| l.en.contains("償還払い")),
        "{:#?}",
        q.trace
    );
}

/// A trace's English lines, one per line.
fn english(trace: &[TraceLine]) -> String {
    trace
        .iter()
        .map(|l| l.en.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
