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
    // Every code of the list is exercised here.
    for code in FindingCode::ALL {
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
