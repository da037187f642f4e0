//! Each check on receipts written for it, and correct receipts that give no finding.

use chrono::NaiveDate;

use super::*;
use crate::domain::check_digit;
use crate::masters::MasterSnapshot;

fn masters() -> &'static MasterSnapshot {
    static M: std::sync::OnceLock<MasterSnapshot> = std::sync::OnceLock::new();
    M.get_or_init(|| MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH))
}

/// A payer number with its check digit: 法別, 都道府県 13, 実施機関 `body`.
fn payer(law: u8, body: &str) -> String {
    check_digit::complete(&format!("{law:02}13{body}")).unwrap()
}

/// A national programme's recipient number with its check digit.
fn recipient(body: &str) -> String {
    check_digit::complete(body).unwrap()
}

fn ko(line: usize, payer_number: &str, recipient_number: Option<&str>) -> Subsidy {
    Subsidy {
        line,
        payer_number: payer_number.to_owned(),
        recipient_number: recipient_number.map(str::to_owned),
        days: Some(2),
        points: Some(1000),
        burden_yen: Some(2000),
        outpatient_copay: None,
        inpatient_copay: None,
        meals: None,
        meal_yen: None,
    }
}

fn ho(line: usize, insurer: &str) -> Insurance {
    Insurance {
        line,
        insurer_number: insurer.to_owned(),
        symbol: Some("1".into()),
        number: Some("2".into()),
        days: Some(2),
        points: Some(1000),
        meals: None,
        meal_yen: None,
        burden_yen: Some(3000),
    }
}

fn re(number: u32, kind: &str, insurance: Option<Insurance>, subsidies: Vec<Subsidy>) -> Receipt {
    Receipt {
        line: 10 * number as usize,
        number,
        kind: ReceiptKind::parse(kind).unwrap(),
        month: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        name: "患者".into(),
        kana: None,
        sex: None,
        birthdate: None,
        benefit_ratio: None,
        remarks: Vec::new(),
        insurance,
        subsidies,
        branch: None,
    }
}

fn codes(receipts: &[Receipt], table: ScoreTable) -> Vec<(u32, &'static str)> {
    check(receipts, table, masters())
        .into_iter()
        .map(|f| (f.receipt, f.code.as_str()))
        .collect()
}

#[test]
fn correct_receipts_give_no_finding() {
    let seishin = payer(21, "601");
    let nanbyo = payer(54, "601");
    let seiho = payer(12, "601");
    let r = recipient("123456");
    let receipts = [
        // 医保 + 精神通院 + 難病, outpatient 本人.
        re(
            1,
            "1132",
            Some(ho(11, "06132013")),
            vec![ko(12, &seishin, Some(&r)), ko(13, &nanbyo, Some(&r))],
        ),
        // 公費のみ: 生活保護, outpatient.
        re(2, "1212", None, vec![ko(21, &seiho, Some(&r))]),
        // 後期 alone, outpatient 一般.
        re(3, "1318", Some(ho(31, "39131015")), vec![]),
        // 医保 alone, inpatient.
        re(4, "1111", Some(ho(41, "06132013")), vec![]),
    ];
    let found = check(&receipts, ScoreTable::Medical, masters());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn each_finding_on_the_receipt_that_has_it() {
    let seishin = payer(21, "601");
    let nanbyo = payer(54, "601");
    let mut bad_digit = payer(21, "601");
    let last = bad_digit.pop().unwrap();
    bad_digit.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    let sochi = payer(20, "601"); // 措置入院: 入院 only
    let senshou = payer(13, "601"); // 戦傷療養: single-only
    let r = recipient("123456");
    let receipts = [
        re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &bad_digit, Some(&r))],
        ),
        re(
            2,
            "1122",
            Some(ho(21, "06132013")),
            vec![ko(22, &seishin, Some("1234567"))],
        ),
        re(
            3,
            "1122",
            Some(ho(31, "06132013")),
            vec![ko(32, &seishin, None)],
        ),
        re(
            4,
            "1122",
            Some(ho(41, "06132013")),
            vec![ko(42, &sochi, Some(&r))],
        ),
        // 難病 (rank 20) before 精神通院 (rank 9).
        re(
            5,
            "1132",
            Some(ho(51, "06132013")),
            vec![ko(52, &nanbyo, Some(&r)), ko(53, &seishin, Some(&r))],
        ),
        re(
            6,
            "1122",
            Some(ho(61, "06132013")),
            vec![ko(62, &senshou, Some(&r))],
        ),
        re(
            7,
            "1152",
            Some(ho(71, "06132013")),
            (0..5).map(|i| ko(72 + i, &seishin, Some(&r))).collect(),
        ),
        re(
            8,
            "4122",
            Some(ho(81, "06132013")),
            vec![ko(82, &seishin, Some(&r))],
        ),
        re(
            9,
            "1212",
            Some(ho(91, "06132013")),
            vec![ko(92, &seishin, Some(&r))],
        ),
        re(
            10,
            "1122",
            Some(ho(101, "39131015")),
            vec![ko(102, &seishin, Some(&r))],
        ),
        re(
            11,
            "1132",
            Some(ho(111, "06132013")),
            vec![ko(112, &seishin, Some(&r))],
        ),
        re(12, "1213", None, vec![ko(121, &seishin, Some(&r))]),
        re(
            13,
            "1122",
            Some(ho(131, "06132013")),
            vec![{
                let mut k = ko(132, &seishin, Some(&r));
                k.days = Some(3);
                k.points = Some(1001);
                k
            }],
        ),
    ];
    let found = codes(&receipts, ScoreTable::Medical);
    let expected = [
        (1, "payer_number_check_digit"),
        (2, "recipient_number_form"),
        (3, "recipient_number_missing"),
        (4, "setting_not_covered"),
        (5, "ko_order"),
        (6, "single_only_combined"),
        (7, "too_many_ko"),
        // Five 公費 cannot be said by a レセプト種別 either.
        (7, "receipt_kind_kohi_count"),
        (8, "receipt_kind_claim"),
        (9, "receipt_kind_insurance"),
        (10, "receipt_kind_insurance"),
        (11, "receipt_kind_kohi_count"),
        (12, "receipt_kind_last_digit"),
        (13, "ko_days_over_ho"),
        (13, "ko_points_over_ho"),
    ];
    assert_eq!(found, expected);
    // Every code of the offline checks is exercised here (those against PMH and the ledger in
    // `against` below).
    for code in FindingCode::ALL.iter().filter(|c| !c.needs_pmh_or_ledger()) {
        assert!(
            expected.iter().any(|(_, c)| *c == code.as_str()),
            "{code:?}"
        );
    }
}

#[test]
fn findings_name_the_line_and_nothing_personal() {
    let r = recipient("765432");
    let receipts = [re(
        1,
        "1122",
        Some(ho(11, "06132013")),
        vec![ko(12, &payer(21, "601"), Some(&r[..6]))],
    )];
    let found = check(&receipts, ScoreTable::Medical, masters());
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!((f.line, f.receipt), (12, 1));
    assert!(!f.ja.is_ascii() && !f.en.is_empty());
    for personal in [&r[..6], "06132013", "患者"] {
        assert!(
            !f.ja.contains(personal) && !f.en.contains(personal),
            "{f:?}"
        );
    }
}

#[test]
fn a_pharmacy_receipt_with_an_inpatient_programme_is_a_finding() {
    let kekkaku = payer(11, "601"); // 結核入院: not at the pharmacy
    let receipts = [re(
        1,
        "4122",
        Some(ho(11, "06132013")),
        vec![ko(12, &kekkaku, Some(&recipient("123456")))],
    )];
    assert_eq!(
        codes(&receipts, ScoreTable::Pharmacy),
        [(1, "setting_not_covered")]
    );
}

#[test]
fn a_local_programme_s_recipient_number_is_up_to_seven_digits() {
    let maru_nyu = "88138243"; // 八王子市 マル乳: a local programme of the masters
    let with = |rn: &str| {
        codes(
            &[re(
                1,
                "1122",
                Some(ho(11, "06132013")),
                vec![ko(12, maru_nyu, Some(rn))],
            )],
            ScoreTable::Medical,
        )
    };
    // Its own numbers, as the KO field holds them: no check digit of the national form.
    for ok in ["1234567", "12345", "１２３４５６７"] {
        assert!(with(ok).is_empty(), "{ok}");
    }
    for bad in ["12345678", "A123456", "12-3456"] {
        assert_eq!(with(bad), [(1, "recipient_number_form")], "{bad}");
    }
}

// Against PMH and the ledger.

mod against {
    use super::*;
    use crate::domain::{Certificate, DesignatedInstitution, MedicalInstitutionCode, ServiceDate};
    use crate::mapping::{VisitContext, map};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// October 2026, mapped on its last day at the demo institution.
    fn month() -> ClaimMonth {
        ClaimMonth::of(d(2026, 10, 15))
    }

    fn pmh(certs: &[Certificate], inpatient: bool) -> crate::mapping::Mapped {
        let ctx = VisitContext {
            institution: Some(MedicalInstitutionCode::parse("1311111111").unwrap()),
            care: if inpatient {
                crate::domain::Care::Inpatient
            } else {
                crate::domain::Care::Outpatient
            },
            ..VisitContext::on(ServiceDate::new(month().last))
        };
        map(certs, masters(), &ctx)
    }

    fn cert(payer: &str, recipient: &str, from: NaiveDate, to: NaiveDate) -> Certificate {
        Certificate::simple(payer, Some(recipient), from, to)
    }

    fn year() -> (NaiveDate, NaiveDate) {
        (d(2026, 4, 1), d(2027, 3, 31))
    }

    /// The codes found on `r` against `certs`, after the offline checks.
    fn found(r: &Receipt, certs: &[Certificate]) -> Vec<&'static str> {
        let offline = check(std::slice::from_ref(r), ScoreTable::Medical, masters());
        let mut all: Vec<_> = offline.iter().map(|f| f.code.as_str()).collect();
        let mapped = pmh(certs, r.kind.inpatient());
        let more = against_pmh(r, month(), &mapped, &offline);
        for f in &more {
            assert_eq!(f.receipt, r.number);
            assert!(!f.ja.is_ascii(), "{f:?}");
        }
        all.extend(more.iter().map(|f| f.code.as_str()));
        all
    }

    fn nanbyou() -> (String, String) {
        (payer(54, "601"), recipient("765432"))
    }

    #[test]
    fn a_receipt_that_claims_what_pmh_holds_gives_no_finding() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &p, Some(&rn))],
        );
        assert!(found(&r, &[cert(&p, &rn, from, to)]).is_empty());
        // A renewal inside the month: two certificates of one number cover it together.
        let certs = [
            cert(&p, &rn, d(2025, 10, 1), d(2026, 10, 14)),
            cert(&p, &rn, d(2026, 10, 15), d(2027, 10, 14)),
        ];
        assert!(found(&r, &certs).is_empty());
    }

    #[test]
    fn a_ko_pmh_does_not_hold_names_the_likely_certificate() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let typed = payer(54, "602"); // same programme, another 実施機関
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &typed, Some(&rn))],
        );
        let mapped = pmh(&[cert(&p, &rn, from, to)], false);
        let f = against_pmh(&r, month(), &mapped, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, FindingCode::KoNotInPmh);
        assert_eq!(f[0].line, 12);
        assert!(
            f[0].ja.contains(&p) && f[0].ja.contains(&typed),
            "{}",
            f[0].ja
        );
        assert!(!f[0].ja.contains(&rn) && !f[0].en.contains(&rn));
        // No certificate of the programme at all.
        assert_eq!(found(&r, &[]), ["ko_not_in_pmh"]);
    }

    #[test]
    fn a_payer_number_with_a_wrong_check_digit_is_one_finding_not_three() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let mut b = p.clone().into_bytes();
        b[7] = if b[7] == b'9' { b'0' } else { b[7] + 1 };
        let typo = String::from_utf8(b).unwrap();
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &typo, Some(&rn))],
        );
        assert_eq!(
            found(&r, &[cert(&p, &rn, from, to)]),
            ["payer_number_check_digit"]
        );
    }

    #[test]
    fn a_recipient_number_that_differs_from_pmh_is_a_finding_once() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let other = recipient("765433");
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &p, Some(&other))],
        );
        let certs = [cert(&p, &rn, from, to)];
        assert_eq!(found(&r, &certs), ["ko_recipient_differs"]);
        // A number already wrong in its form is named by that finding alone.
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &p, Some(&rn[..6]))],
        );
        assert_eq!(found(&r, &certs), ["recipient_number_form"]);
        // Full-width digits are the same number.
        let wide: String = rn
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
            .collect();
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &p, Some(&wide))],
        );
        assert!(!found(&r, &certs).contains(&"ko_recipient_differs"));
    }

    #[test]
    fn a_certificate_ending_or_starting_within_the_month_is_a_finding() {
        let (p, rn) = nanbyou();
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &p, Some(&rn))],
        );
        let ended = [cert(&p, &rn, d(2025, 10, 1), d(2026, 10, 20))];
        assert_eq!(found(&r, &ended), ["certificate_expired"]);
        let long_ago = [cert(&p, &rn, d(2025, 4, 1), d(2026, 3, 31))];
        let mapped = pmh(&long_ago, false);
        let f = against_pmh(&r, month(), &mapped, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].ja.contains("この月より前に") && f[0].ja.contains("2026-03-31"));
        let starts = [cert(&p, &rn, d(2026, 10, 10), d(2027, 10, 9))];
        assert_eq!(found(&r, &starts), ["certificate_not_yet_valid"]);
        let later = [cert(&p, &rn, d(2026, 11, 1), d(2027, 10, 31))];
        assert_eq!(found(&r, &later), ["certificate_not_yet_valid"]);
    }

    #[test]
    fn a_certificate_valid_in_the_month_that_no_ko_claims_is_missing() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let seishin = payer(21, "601");
        let srn = recipient("123456");
        // The receipt claims 精神通院 only; PMH holds 難病 too.
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &seishin, Some(&srn))],
        );
        let certs = [cert(&seishin, &srn, from, to), cert(&p, &rn, from, to)];
        let mapped = pmh(&certs, false);
        let f = against_pmh(&r, month(), &mapped, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, FindingCode::CertificateMissing);
        assert_eq!(f[0].line, r.line);
        assert!(f[0].ja.contains("払い戻し") && f[0].ja.contains(&p));
        // Not missing: one that ended before the month, one only ever reimbursed, one of
        // another institution, one not covering 外来 (結核 入院).
        let mut reimbursed = cert(&p, &rn, from, to);
        reimbursed.always_reimbursement = true;
        let mut elsewhere = cert(&p, &rn, from, to);
        elsewhere.designated_institutions = vec![DesignatedInstitution {
            code: "1399999999".into(),
            name: None,
        }];
        for extra in [
            cert(&p, &rn, d(2025, 4, 1), d(2026, 9, 30)),
            reimbursed,
            elsewhere,
            cert(&payer(11, "601"), &recipient("222222"), from, to),
        ] {
            let certs = [cert(&seishin, &srn, from, to), extra];
            assert!(found(&r, &certs).is_empty());
        }
        // No KO at all: an insurance-only receipt of a patient with a 公費.
        let r = re(1, "1112", Some(ho(11, "06132013")), vec![]);
        assert_eq!(
            found(&r, &[cert(&p, &rn, from, to)]),
            ["certificate_missing"]
        );
    }

    #[test]
    fn a_ko_of_a_certificate_for_another_institution_is_a_finding() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let mut c = cert(&p, &rn, from, to);
        c.designated_institutions = vec![DesignatedInstitution {
            code: "1399999999".into(),
            name: None,
        }];
        let r = re(
            1,
            "1122",
            Some(ho(11, "06132013")),
            vec![ko(12, &p, Some(&rn))],
        );
        assert_eq!(found(&r, &[c.clone()]), ["designated_institution_other"]);
        c.designated_institutions.push(DesignatedInstitution {
            code: "1311111111".into(),
            name: None,
        });
        assert!(found(&r, &[c]).is_empty());
    }

    #[test]
    fn a_burden_above_the_monthly_cap_is_a_finding() {
        let (p, rn) = nanbyou();
        let (from, to) = year();
        let mut c = cert(&p, &rn, from, to);
        c.income_segment = Some("低所得Ⅰ".into()); // 2,500 yen a month
        let mut k = ko(12, &p, Some(&rn));
        k.burden_yen = Some(2_500);
        let r = re(1, "1122", Some(ho(11, "06132013")), vec![k.clone()]);
        assert!(found(&r, &[c.clone()]).is_empty());
        k.burden_yen = Some(2_510);
        let r = re(1, "1122", Some(ho(11, "06132013")), vec![k]);
        let mapped = pmh(&[c], false);
        let f = against_pmh(&r, month(), &mapped, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, FindingCode::KoBurdenOverCap);
        assert!(
            f[0].ja.contains("2510円") && f[0].ja.contains("2500円"),
            "{}",
            f[0].ja
        );
    }

    #[test]
    fn a_burden_that_differs_from_the_ledger_is_a_finding() {
        let (p, rn) = nanbyou();
        let mut k = ko(12, &p, Some(&rn));
        k.burden_yen = Some(1_520);
        let r = re(1, "1122", Some(ho(11, "06132013")), vec![k]);
        let at = |own_yen, visits| {
            [LedgerMonth {
                ko: 0,
                own_yen,
                visits,
            }]
        };
        assert!(against_ledger(&r, &at(1_520, 2)).is_empty());
        // No visit counted: the ledger does not know.
        assert!(against_ledger(&r, &at(0, 0)).is_empty());
        let f = against_ledger(&r, &at(3_040, 3));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::KoBurdenDiffersFromLedger);
        assert_eq!(f[0].line, 12);
        assert!(
            f[0].ja.contains("3040円") && f[0].ja.contains("3回"),
            "{}",
            f[0].ja
        );
    }
}
