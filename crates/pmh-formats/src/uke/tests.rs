//! The reader on small files written for these tests from the 記録条件仕様's layouts (no sample
//! file from elsewhere): a 医科 month with insurance and 公費, a 調剤 one, Shift_JIS and
//! full-width digits, and lines that cannot be read.

use super::*;

/// A 医科 file (社保, 東京都, 2026-11 claims for 2026-10): two receipts — 医保 + 2 公費 (精神通院,
/// 難病) with an SN 枝番, and 公費のみ (生活保護) — then records this reader skips.
const MEDICAL: &str = "IR,1,13,1,1234567,,さくら医院,202611,00,0312345678\r\n\
RE,1,1132,202610,山田　太郎,1,19800401,70,,,,29,,K0001,,,,,,,,,,,,,,,,,,,,,,,ﾔﾏﾀﾞ ﾀﾛｳ\r\n\
HO,06132013,12,345,3,1520,,,,,,2500\r\n\
KO,21136015,1234566,,3,1520,2500,,,,,\r\n\
KO,54136015,7654320,,3,1520,0,,,,,\r\n\
SN,1,01,06132013,12,345,01,,\r\n\
SY,8830052,20261001,1,,,,\r\n\
SI,11,1,111000110,,288,1,,,,,,\r\n\
RE,2,1212,202610,佐藤　花子,2,19500101,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
KO,12136016,1234566,,1,300,0,,,,,\r\n\
GO,2,1820,99999999\r\n\
\x1A";

fn sjis(s: &str) -> Vec<u8> {
    let (b, _, bad) = SHIFT_JIS.encode(s);
    assert!(!bad);
    b.into_owned()
}

#[test]
fn a_medical_month_reads_into_receipts_with_their_payers_in_order() {
    let f = read(&sjis(MEDICAL));
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.lines, 11, "the EOF byte is not a line");
    let ir = f.institution.as_ref().unwrap();
    assert_eq!(
        (
            ir.examiner,
            ir.prefecture,
            ir.table,
            ir.code.as_str(),
            ir.name.as_str()
        ),
        (
            Examiner::Shiharai,
            13,
            ScoreTable::Medical,
            "1234567",
            "さくら医院"
        )
    );
    assert_eq!(
        ir.billing_month,
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    );
    assert_eq!(f.receipts.len(), 2);
    let r = &f.receipts[0];
    assert_eq!((r.line, r.number, r.kind.as_str()), (2, 1, "1132"));
    assert_eq!(r.month_label(), "2026-10");
    assert_eq!(
        (r.name.as_str(), r.kana.as_deref()),
        ("山田　太郎", Some("ﾔﾏﾀﾞ ﾀﾛｳ"))
    );
    assert_eq!(r.sex, Some(Sex::Male));
    assert_eq!(r.birthdate, NaiveDate::from_ymd_opt(1980, 4, 1));
    assert_eq!(
        (r.benefit_ratio, r.remarks.clone()),
        (Some(70), vec!["29".to_owned()])
    );
    assert_eq!(
        (r.kind.subsidies(), r.kind.kohi_only(), r.kind.inpatient()),
        (2, false, false)
    );
    let ho = r.insurance.as_ref().unwrap();
    assert_eq!(
        (
            ho.insurer_number.as_str(),
            ho.symbol.as_deref(),
            ho.number.as_deref()
        ),
        ("06132013", Some("12"), Some("345"))
    );
    assert_eq!(
        (ho.days, ho.points, ho.burden_yen),
        (Some(3), Some(1520), Some(2500))
    );
    assert_eq!(r.branch.as_deref(), Some("01"));
    let payers: Vec<&str> = r
        .subsidies
        .iter()
        .map(|k| k.payer_number.as_str())
        .collect();
    assert_eq!(payers, ["21136015", "54136015"], "第1公費 first");
    assert_eq!(
        (
            r.subsidies[0].recipient_number.as_deref(),
            r.subsidies[0].burden_yen,
            r.subsidies[0].line
        ),
        (Some("1234566"), Some(2500), 4)
    );
    let welfare = &f.receipts[1];
    assert!(welfare.kind.kohi_only() && welfare.insurance.is_none());
    assert_eq!(
        (welfare.kind.subsidies(), welfare.sex),
        (1, Some(Sex::Female))
    );
    assert_eq!(
        f.skipped,
        BTreeMap::from([("GO".into(), 1), ("SI".into(), 1), ("SY".into(), 1)])
    );
}

#[test]
fn utf8_full_width_digits_and_era_dates_read_alike() {
    let wide = "IR,２,13,1,１２３４５６７,,さくら医院,202611,00\n\
RE,１,１１２２,５０８１０,鈴木　一郎,１,３５５０４０１\n\
KO,２１１３６０１５,１２３４５６６,,２,８００,１６００,,,,,\n";
    let f = read(wide.as_bytes());
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.institution.as_ref().unwrap().examiner, Examiner::Kokuho);
    let r = &f.receipts[0];
    assert_eq!((r.number, r.kind.as_str()), (1, "1122"));
    assert_eq!(
        r.month,
        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        "令和8年10月"
    );
    assert_eq!(
        r.birthdate,
        NaiveDate::from_ymd_opt(1980, 4, 1),
        "昭和55年4月1日"
    );
    assert_eq!(r.subsidies[0].payer_number, "21136015");
    assert_eq!(r.subsidies[0].burden_yen, Some(1600));
}

#[test]
fn a_pharmacy_file_reads_its_shared_fields() {
    let rx = "IR,1,13,4,1234567,,さくら薬局,202611,00\r\n\
RE,1,4122,202610,山田　太郎,1,19800401,70\r\n\
HO,06132013,12,345,2,900,,,,,,270\r\n\
KO,21136015,1234566,,2,900,270,,,,,\r\n";
    let f = read(&sjis(rx));
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.institution.as_ref().unwrap().table, ScoreTable::Pharmacy);
    let r = &f.receipts[0];
    assert_eq!(
        r.insurance.as_ref().unwrap().days,
        Some(2),
        "処方箋受付回数"
    );
    assert_eq!(
        r.insurance.as_ref().unwrap().burden_yen,
        None,
        "not read for 調剤"
    );
    assert_eq!(r.subsidies[0].burden_yen, Some(270));
}

#[test]
fn every_malformed_line_is_named_by_its_number_and_nothing_personal() {
    let bad = "IR,9,48,7,12345,,さくら医院,202613\n\
RE,1,9999,202610,山田　太郎,3,19801340\n\
KO,2113601,12345,,3,abc,,,,,\n\
HO,06132013\n\
KO,21136015,1234566,,3,1520,2500\n\
ko,lower\n\
山田太郎,1\n\
,empty\n";
    let mut bytes = sjis(bad);
    bytes.extend_from_slice(b"RE,2,1112,202610,\x82\r\n");
    // A month whose bytes are not all digits (a multi-byte character inside): found by the
    // fuzzer, once a panic on a character boundary.
    bytes.extend_from_slice(&sjis("RE,3,1132,20雌2,x,1\r\n"));
    let f = read(&bytes);
    let lines: Vec<usize> = f.problems.iter().map(|p| p.line).collect();
    assert!(
        lines.contains(&1) && lines.contains(&2) && lines.contains(&3),
        "{lines:?}"
    );
    assert!(lines.contains(&6) && lines.contains(&7) && lines.contains(&8) && lines.contains(&9));
    assert!(f.receipts.is_empty(), "the RE could not be read");
    // HO and KO of line 4, 5 belong to no readable receipt.
    assert!(lines.contains(&4) && lines.contains(&5), "{lines:?}");
    let text: Vec<String> = f.problems.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for personal in ["山田", "1234566", "06132013", "19801340"] {
        assert!(!all.contains(personal), "{personal} in {all}");
    }
    assert!(all.contains("line 2 (RE レセプト種別)"), "{all}");
    assert!(all.contains("line 9: not Shift_JIS"), "{all}");
    assert!(all.contains("line 10 (RE 診療年月)"), "{all}");
}

#[test]
fn debug_output_leaves_out_the_patient() {
    let f = read(&sjis(MEDICAL));
    let d = format!("{:?}", f.receipts);
    for personal in [
        "山田",
        "ﾔﾏﾀﾞ",
        "19800401",
        "1980-04-01",
        "1234566",
        "06132013",
        "345",
    ] {
        assert!(!d.contains(personal), "{personal} in {d}");
    }
}

proptest::proptest! {
    /// Any bytes: a file, never a panic; every problem on a line of the file.
    #[test]
    fn any_bytes_read_without_a_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let f = read(&bytes);
        for p in &f.problems {
            proptest::prop_assert!(p.line >= 1 && p.line <= f.lines.max(1) + 1);
        }
    }

    /// Lines made of the records' own pieces.
    #[test]
    fn shuffled_records_read_without_a_panic(lines in proptest::collection::vec(
        proptest::sample::select(vec![
            "IR,1,13,1,1234567,,x,202611", "RE,1,1122,202610,x,1,19800401", "HO,06132013,1,2,3,4",
            "KO,21136015,1234566,,3,1520,2500", "SN,1,01,,,,01", "RE,,,,", "KO", "HO,", "IR,2",
            "GO,1", "RE,1,1122,5081", "KO,２１１３６０１５", "", "\u{1A}",
        ]), 0..30)) {
        let text = lines.join("\r\n");
        let _ = read(text.as_bytes());
    }
}

#[test]
fn the_medical_months_receipts_pass_the_offline_checks() {
    let masters = pmh_core::masters::MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let f = read(&sjis(MEDICAL));
    let table = f.institution.as_ref().unwrap().table;
    let found = pmh_core::claims::check(&f.receipts, table, &masters);
    assert!(found.is_empty(), "{found:#?}");
    // The same file with the 公費 swapped: 難病 before 精神通院, found on its line.
    let swapped = MEDICAL.replace(
        "KO,21136015,1234566,,3,1520,2500,,,,,\r\nKO,54136015,7654320,,3,1520,0,,,,,",
        "KO,54136015,7654320,,3,1520,0,,,,,\r\nKO,21136015,1234566,,3,1520,2500,,,,,",
    );
    let f = read(&sjis(&swapped));
    let found = pmh_core::claims::check(&f.receipts, table, &masters);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].code.as_str(), found[0].receipt, found[0].line),
        ("ko_order", 1, 5)
    );
}

#[test]
fn what_is_written_reads_back_the_same() {
    let f = read(&sjis(MEDICAL));
    let written = write(f.institution.as_ref().unwrap(), &f.receipts);
    assert!(written.ends_with(b"\r\n\x1A"));
    let again = read(&written);
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert_eq!(
        again.institution,
        f.institution.map(|i| Institution { line: 1, ..i })
    );
    let lines = |rs: &[Receipt]| -> Vec<(u32, String, usize)> {
        rs.iter()
            .map(|r| (r.number, r.kind.as_str().to_owned(), r.subsidies.len()))
            .collect()
    };
    assert_eq!(lines(&again.receipts), lines(&f.receipts));
    // Apart from the line numbers, each receipt is what was written.
    let strip = |mut r: Receipt| {
        r.line = 0;
        if let Some(h) = r.insurance.as_mut() {
            h.line = 0;
        }
        for k in &mut r.subsidies {
            k.line = 0;
        }
        r
    };
    let a: Vec<Receipt> = again.receipts.into_iter().map(strip).collect();
    let b: Vec<Receipt> = f.receipts.into_iter().map(strip).collect();
    assert!(a == b, "round trip differs");
}

#[test]
fn a_character_shift_jis_lacks_is_written_as_the_geta_mark() {
    let mut f = read(&sjis(MEDICAL));
    f.receipts[0].name = "𠮷田　太郎".into();
    let again = read(&write(f.institution.as_ref().unwrap(), &f.receipts));
    assert_eq!(again.receipts[0].name, "〓田　太郎");
}

#[test]
fn the_records_after_an_unreadable_re_are_not_given_to_the_receipt_before_it() {
    let text = "IR,1,13,1,1234567,,さくら医院,202611\n\
RE,1,1122,202610,山田　太郎,1,19800401\n\
HO,06132013,12,345,3,1520\n\
KO,21136015,1234566,,3,1520,2500\n\
RE,2,9999,202610,佐藤　花子,2,19500101\n\
HO,06132013,12,346,3,900\n\
KO,54136015,7654320,,3,900,0\n";
    let f = read(text.as_bytes());
    assert_eq!(f.receipts.len(), 1);
    assert_eq!(
        f.receipts[0].subsidies.len(),
        1,
        "the second KO is not the first receipt's"
    );
    assert_eq!(f.receipts[0].insurance.as_ref().unwrap().line, 3);
    let lines: Vec<usize> = f.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [5, 6, 7], "{:?}", f.problems);
}
