//! UKE files: a month's claims as a receipt computer writes them for the レセプト電算処理システム
//! (the 記録条件仕様 of 社会保険診療報酬支払基金 and 国民健康保険中央会): text lines, one record
//! per line, comma-separated fields without quotes, the first field naming the record; Shift_JIS
//! (UTF-8 is read too), CRLF, an EOF byte (0x1A) at the end.
//!
//! Read here, into typed records: `IR` (the institution and the billing month), and per receipt
//! `RE` (the receipt: its 順番号, レセプト種別, month, the patient as the file gives them), `HO`
//! (the insurance), `KO` (each 公費, in the receipt's order: the first is 第1公費) and `SN` (the
//! eligibility check: the 枝番). Every other record type is counted and skipped. 調剤 files
//! (`IR` 点数表 4) share the fields read here up to the 負担金額; their `RE` is read up to the
//! 給付割合.
//!
//! Field positions (1 = the record's name), from the 記録条件仕様:
//! - `IR`: 2 審査支払機関, 3 都道府県, 4 点数表, 5 医療機関コード, 7 医療機関名称, 8 請求年月;
//! - `RE`: 2 レセプト番号, 3 レセプト種別, 4 診療年月, 5 氏名, 6 男女区分, 7 生年月日, 8 給付割合,
//!   9 入院年月日, 12 レセプト特記事項 (two digits each), 37 カタカナ氏名 (医科);
//! - `HO`: 2 保険者番号, 3 記号, 4 番号, 5 診療実日数, 6 合計点数, 8 食事・生活療養 回数,
//!   9 同 合計金額, 12 負担金額 (医療保険);
//! - `KO`: 2 負担者番号, 3 受給者番号, 5 診療実日数, 6 合計点数, 7 負担金額 (公費),
//!   8 公費給付対象外来一部負担金, 9 同 入院, 11 食事・生活療養 回数, 12 同 合計金額;
//! - `SN`: 2 負担者種別, 3 確認区分, 4 保険者番号等, 5 記号, 6 番号, 7 枝番, 8 受給者番号.
//!
//! Numbers may be written in full-width digits; dates in the Western form (`YYYYMM`,
//! `YYYYMMDD`) or the era form (`GYYMM`, `GYYMMDD`: 1 明治 … 5 令和). A line that cannot be read
//! is a [`LineProblem`] with its line number, never a panic; a record that cannot be read is left
//! out and said so. Personal values (names, numbers, birthdates) never appear in a problem or a
//! `Debug` output.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use encoding_rs::SHIFT_JIS;

pub use pmh_core::claims::{
    Examiner, Institution, Insurance, Receipt, ReceiptKind, ScoreTable, Sex, Subsidy,
};

/// A UKE file as read: the institution, the receipts in order, what was skipped, what could
/// not be read.
#[derive(Debug, Default)]
pub struct UkeFile {
    pub institution: Option<Institution>,
    pub receipts: Vec<Receipt>,
    /// Record types not read here (`SY`, `SI`, `IY`, `GO` …) and how many lines each.
    pub skipped: BTreeMap<String, usize>,
    pub problems: Vec<LineProblem>,
    /// Lines in the file (the EOF byte and an empty last line not counted).
    pub lines: usize,
}

/// A line that could not be read, or a record out of place. Never quotes a personal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    /// The record's name (`RE`, `KO` …), when the line has one.
    pub record: Option<String>,
    /// The field, by its name in the 記録条件仕様.
    pub field: Option<&'static str>,
    pub reason: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(r) = &self.record {
            write!(f, " ({r}")?;
            if let Some(field) = self.field {
                write!(f, " {field}")?;
            }
            f.write_str(")")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The longest line read (a UKE line is far shorter; a longer one is refused, not buffered).
const MAX_LINE: usize = 64 * 1024;

/// Reads a UKE file. Any bytes give a file: what could be read, and a problem per line that
/// could not.
pub fn read(bytes: &[u8]) -> UkeFile {
    let mut file = UkeFile::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = std::str::from_utf8(bytes).is_ok();
    let mut table = ScoreTable::Medical;
    // Whether the last RE was read (the HO, KO and SN after it are its).
    let (mut seen_re, mut current_read) = (false, false);
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\x1A").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        file.lines = line;
        let problem =
            |record: Option<&str>, field: Option<&'static str>, reason: String| LineProblem {
                line,
                record: record.map(str::to_owned),
                field,
                reason,
            };
        if raw.len() > MAX_LINE {
            file.problems.push(problem(
                None,
                None,
                format!("the line is longer than {MAX_LINE} bytes"),
            ));
            continue;
        }
        let text = if utf8 {
            std::str::from_utf8(raw).expect("checked whole").to_owned()
        } else {
            let (text, _, malformed) = SHIFT_JIS.decode(raw);
            if malformed {
                file.problems.push(problem(
                    None,
                    None,
                    "not Shift_JIS text (a byte sequence that is no character)".into(),
                ));
                continue;
            }
            text.into_owned()
        };
        let fields: Vec<&str> = text.split(',').collect();
        let name = fields[0].trim();
        let mut reader = Fields {
            fields: &fields,
            problems: Vec::new(),
        };
        match name {
            "IR" => {
                if let Some(ir) = institution(line, &mut reader) {
                    if file.institution.is_some() {
                        reader.problem(None, "a second IR record: one institution per file");
                    } else {
                        table = ir.table;
                        file.institution = Some(ir);
                    }
                }
            }
            "RE" => {
                // The records after an RE that could not be read belong to no receipt read.
                seen_re = true;
                current_read = match receipt(line, table, &mut reader) {
                    Some(re) => {
                        file.receipts.push(re);
                        true
                    }
                    None => false,
                };
            }
            "HO" | "KO" | "SN" if seen_re && !current_read => {
                reader.problem(
                    None,
                    "follows an RE record that could not be read: it belongs to no receipt read",
                );
            }
            "HO" | "KO" | "SN" => match file.receipts.last_mut() {
                None => reader.problem(None, "before any RE record: it belongs to no receipt"),
                Some(re) => match name {
                    "HO" => {
                        if re.insurance.is_some() {
                            reader.problem(None, "a second HO record in one receipt");
                        } else if let Some(ho) = insurance(line, table, &mut reader) {
                            re.insurance = Some(ho);
                        }
                    }
                    "KO" => {
                        if let Some(ko) = subsidy(line, table, &mut reader) {
                            re.subsidies.push(ko);
                        }
                    }
                    _ => {
                        if let Some(branch) = eligibility_branch(&mut reader) {
                            re.branch = Some(branch);
                        }
                    }
                },
            },
            "" => reader.problem(None, "no record name in the first field"),
            other => {
                let ok = other.len() == 2 && other.bytes().all(|b| b.is_ascii_uppercase());
                if ok {
                    *file.skipped.entry(other.to_owned()).or_default() += 1;
                } else {
                    reader.problem(
                        None,
                        "the first field is not a record name (two capital letters)",
                    );
                }
            }
        }
        // Named only when it is a record name: a malformed line's first field may be anything.
        let record =
            (name.len() == 2 && name.bytes().all(|b| b.is_ascii_uppercase())).then_some(name);
        file.problems.extend(
            reader
                .problems
                .into_iter()
                .map(|(field, reason)| problem(record, field, reason)),
        );
    }
    file
}

/// A record's fields by position (1 = the record's name), each read once, each problem kept.
struct Fields<'a> {
    fields: &'a [&'a str],
    problems: Vec<(Option<&'static str>, String)>,
}

impl Fields<'_> {
    fn problem(&mut self, field: Option<&'static str>, reason: &str) {
        self.problems.push((field, reason.to_owned()));
    }

    /// Field `n` with full-width digits, letters and spaces folded to ASCII and trimmed; `None`
    /// when absent or empty.
    fn text(&self, n: usize) -> Option<String> {
        let raw = self.fields.get(n - 1)?;
        let folded: String = raw.chars().map(fold).collect();
        let t = folded.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// Field `n` as written (names), trimmed of spaces at either end.
    fn raw(&self, n: usize) -> Option<String> {
        let t = self.fields.get(n - 1)?.trim_matches([' ', '\u{3000}']);
        (!t.is_empty()).then(|| t.to_owned())
    }

    fn required(&mut self, n: usize, field: &'static str) -> Option<String> {
        let v = self.text(n);
        if v.is_none() {
            self.problem(Some(field), "is required");
        }
        v
    }

    /// Field `n` as a whole number of at most `max_digits` digits; `None` when empty.
    fn number(&mut self, n: usize, field: &'static str, max_digits: usize) -> Option<u64> {
        let v = self.text(n)?;
        if v.len() > max_digits || !v.bytes().all(|b| b.is_ascii_digit()) {
            self.problem(
                Some(field),
                &format!("is not a whole number of at most {max_digits} digits"),
            );
            return None;
        }
        v.parse().ok()
    }

    /// Field `n` as digits of one of `lens` (a number kept as text: leading zeros count).
    fn digits(
        &mut self,
        n: usize,
        field: &'static str,
        lens: &[usize],
        required: bool,
    ) -> Option<String> {
        let v = if required {
            self.required(n, field)?
        } else {
            self.text(n)?
        };
        if !lens.contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
            let lens: Vec<String> = lens.iter().map(ToString::to_string).collect();
            self.problem(Some(field), &format!("is not {} digits", lens.join(" or ")));
            return None;
        }
        Some(v)
    }
}

/// Full-width digits, Latin letters, hyphen and space as their ASCII forms.
fn fold(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
            char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
        }
        '\u{3000}' => ' ',
        '－' | '‐' | '−' => '-',
        _ => c,
    }
}

/// A year and month: `YYYYMM` or the era form `GYYMM`.
fn year_month(s: &str) -> Option<NaiveDate> {
    // Digits first: the slices below are then on character boundaries.
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, month) = match s.len() {
        6 => (s[..4].parse::<i32>().ok()?, s[4..].parse::<u32>().ok()?),
        5 => (era_year(&s[..3])?, s[3..].parse::<u32>().ok()?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// A date: `YYYYMMDD` or the era form `GYYMMDD`.
fn day(s: &str) -> Option<NaiveDate> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match s.len() {
        8 => (s[..4].parse::<i32>().ok()?, &s[4..]),
        7 => (era_year(&s[..3])?, &s[3..]),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, rest[..2].parse().ok()?, rest[2..].parse().ok()?)
}

/// `GYY`: the era (1 明治, 2 大正, 3 昭和, 4 平成, 5 令和) and its year.
fn era_year(s: &str) -> Option<i32> {
    let base = match s.as_bytes().first()? {
        b'1' => 1867,
        b'2' => 1911,
        b'3' => 1925,
        b'4' => 1988,
        b'5' => 2018,
        _ => return None,
    };
    let y: i32 = s.get(1..3)?.parse().ok()?;
    (y >= 1).then_some(base + y)
}

fn institution(line: usize, f: &mut Fields) -> Option<Institution> {
    let examiner = match f.required(2, "審査支払機関").as_deref() {
        Some("1") => Some(Examiner::Shiharai),
        Some("2") => Some(Examiner::Kokuho),
        Some(_) => {
            f.problem(Some("審査支払機関"), "is 1 (支払基金) or 2 (国保連合会)");
            None
        }
        None => None,
    };
    let prefecture = f
        .number(3, "都道府県", 2)
        .and_then(|p| u8::try_from(p).ok())
        .filter(|p| (1..=47).contains(p));
    if prefecture.is_none() {
        f.problem(Some("都道府県"), "is a prefecture number, 01 to 47");
    }
    let table = match f.required(4, "点数表").as_deref() {
        Some("1") => Some(ScoreTable::Medical),
        Some("3") => Some(ScoreTable::Dental),
        Some("4") => Some(ScoreTable::Pharmacy),
        Some(_) => {
            f.problem(Some("点数表"), "is 1 (医科), 3 (歯科) or 4 (調剤)");
            None
        }
        None => None,
    };
    let code = f.digits(5, "医療機関コード", &[7], true);
    let name = f.raw(7).unwrap_or_default();
    let month = f.required(8, "請求年月").and_then(|m| {
        let d = year_month(&m);
        if d.is_none() {
            f.problem(Some("請求年月"), "is not a month (YYYYMM or GYYMM)");
        }
        d
    });
    Some(Institution {
        line,
        examiner: examiner?,
        prefecture: prefecture?,
        table: table?,
        code: code?,
        name,
        billing_month: month?,
    })
}

fn receipt(line: usize, table: ScoreTable, f: &mut Fields) -> Option<Receipt> {
    let number = f.number(2, "レセプト番号", 6);
    if f.text(2).is_none() {
        f.problem(Some("レセプト番号"), "is required");
    }
    let kind = f.required(3, "レセプト種別").and_then(|k| {
        let kind = ReceiptKind::parse(&k);
        if kind.is_none() {
            f.problem(Some("レセプト種別"), "is not a レセプト種別 (4 digits)");
        }
        kind
    });
    let month = f.required(4, "診療年月").and_then(|m| {
        let d = year_month(&m);
        if d.is_none() {
            f.problem(Some("診療年月"), "is not a month (YYYYMM or GYYMM)");
        }
        d
    });
    let name = f.raw(5);
    if name.is_none() {
        f.problem(Some("氏名"), "is required");
    }
    let sex = match f.text(6).as_deref() {
        None => None,
        Some("1") => Some(Sex::Male),
        Some("2") => Some(Sex::Female),
        Some(_) => {
            f.problem(Some("男女区分"), "is 1 (男) or 2 (女)");
            None
        }
    };
    let birthdate = f.text(7).and_then(|b| {
        let d = day(&b);
        if d.is_none() {
            f.problem(Some("生年月日"), "is not a date (YYYYMMDD or GYYMMDD)");
        }
        d
    });
    let benefit_ratio = f
        .number(8, "給付割合", 3)
        .and_then(|r| u8::try_from(r).ok());
    let (remarks, kana) = if table == ScoreTable::Pharmacy {
        (Vec::new(), None)
    } else {
        let remarks = match f.text(12) {
            None => Vec::new(),
            Some(r) if r.len() % 2 == 0 && r.bytes().all(|b| b.is_ascii_digit()) => r
                .as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect(),
            Some(_) => {
                f.problem(Some("レセプト特記事項"), "is two digits per remark");
                Vec::new()
            }
        };
        (remarks, f.raw(37))
    };
    Some(Receipt {
        line,
        number: u32::try_from(number?).ok()?,
        kind: kind?,
        month: month?,
        name: name?,
        kana,
        sex,
        birthdate,
        benefit_ratio,
        remarks,
        insurance: None,
        subsidies: Vec::new(),
        branch: None,
    })
}

fn insurance(line: usize, table: ScoreTable, f: &mut Fields) -> Option<Insurance> {
    let insurer_number = f.digits(2, "保険者番号", &[6, 8], true);
    let medical = table != ScoreTable::Pharmacy;
    Some(Insurance {
        line,
        insurer_number: insurer_number?,
        symbol: f.text(3),
        number: f.text(4),
        days: f.number(5, "診療実日数", 2).map(|d| d as u32),
        points: f.number(6, "合計点数", 8),
        meals: medical
            .then(|| f.number(8, "食事療養・生活療養回数", 3).map(|d| d as u32))
            .flatten(),
        meal_yen: medical
            .then(|| f.number(9, "食事療養・生活療養合計金額", 8))
            .flatten(),
        burden_yen: medical.then(|| f.number(12, "負担金額", 8)).flatten(),
    })
}

fn subsidy(line: usize, table: ScoreTable, f: &mut Fields) -> Option<Subsidy> {
    let payer_number = f.digits(2, "負担者番号", &[8], true);
    let recipient_number = f.digits(3, "受給者番号", &[7], false);
    let medical = table != ScoreTable::Pharmacy;
    Some(Subsidy {
        line,
        payer_number: payer_number?,
        recipient_number,
        days: f.number(5, "診療実日数", 2).map(|d| d as u32),
        points: f.number(6, "合計点数", 8),
        burden_yen: f.number(7, "負担金額", 8),
        outpatient_copay: medical
            .then(|| f.number(8, "公費給付対象外来一部負担金", 8))
            .flatten(),
        inpatient_copay: medical
            .then(|| f.number(9, "公費給付対象入院一部負担金", 8))
            .flatten(),
        meals: medical
            .then(|| f.number(11, "食事療養・生活療養回数", 3).map(|d| d as u32))
            .flatten(),
        meal_yen: medical
            .then(|| f.number(12, "食事療養・生活療養合計金額", 8))
            .flatten(),
    })
}

/// The 枝番 of an `SN` record for the insurance (負担者種別 1), when it gives one.
fn eligibility_branch(f: &mut Fields) -> Option<String> {
    if f.text(2).as_deref() != Some("1") {
        return None;
    }
    f.digits(7, "枝番", &[2], false)
}

/// Writes `receipts` of `institution` as a UKE file: Shift_JIS, CRLF, the EOF byte; the fields
/// this module reads at their positions, the others empty. What [`read`] gives back is what was
/// written (a character Shift_JIS lacks is written as `〓`, the geta mark, as receipt computers
/// do).
pub fn write(institution: &Institution, receipts: &[Receipt]) -> Vec<u8> {
    let mut text = String::new();
    let line = |fields: Vec<String>, text: &mut String| {
        text.push_str(&fields.join(","));
        text.push_str("\r\n");
    };
    let at = |n: usize, values: &[(usize, String)]| -> Vec<String> {
        let mut fields = vec![String::new(); n];
        for (i, v) in values {
            fields[i - 1].clone_from(v);
        }
        fields
    };
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let ir = institution;
    line(
        at(
            10,
            &[
                (1, "IR".into()),
                (
                    2,
                    match ir.examiner {
                        Examiner::Shiharai => "1",
                        Examiner::Kokuho => "2",
                    }
                    .into(),
                ),
                (3, format!("{:02}", ir.prefecture)),
                (
                    4,
                    match ir.table {
                        ScoreTable::Medical => "1",
                        ScoreTable::Dental => "3",
                        ScoreTable::Pharmacy => "4",
                    }
                    .into(),
                ),
                (5, ir.code.clone()),
                (7, ir.name.clone()),
                (8, ir.billing_month.format("%Y%m").to_string()),
                (9, "00".into()),
            ],
        ),
        &mut text,
    );
    let medical = ir.table != ScoreTable::Pharmacy;
    for r in receipts {
        let mut re = vec![
            (1, "RE".to_owned()),
            (2, r.number.to_string()),
            (3, r.kind.as_str().to_owned()),
            (4, r.month.format("%Y%m").to_string()),
            (5, r.name.clone()),
            (
                6,
                match r.sex {
                    Some(Sex::Male) => "1",
                    Some(Sex::Female) => "2",
                    None => "",
                }
                .into(),
            ),
            (
                7,
                r.birthdate
                    .map(|d| d.format("%Y%m%d").to_string())
                    .unwrap_or_default(),
            ),
            (
                8,
                r.benefit_ratio.map(|b| b.to_string()).unwrap_or_default(),
            ),
        ];
        if medical {
            re.push((12, r.remarks.concat()));
            re.push((37, r.kana.clone().unwrap_or_default()));
        }
        line(at(if medical { 38 } else { 8 }, &re), &mut text);
        if let Some(h) = &r.insurance {
            let mut ho = vec![
                (1, "HO".to_owned()),
                (2, h.insurer_number.clone()),
                (3, h.symbol.clone().unwrap_or_default()),
                (4, h.number.clone().unwrap_or_default()),
                (5, opt(h.days.map(u64::from))),
                (6, opt(h.points)),
            ];
            if medical {
                ho.push((8, opt(h.meals.map(u64::from))));
                ho.push((9, opt(h.meal_yen)));
                ho.push((12, opt(h.burden_yen)));
            }
            line(at(if medical { 15 } else { 7 }, &ho), &mut text);
        }
        for k in &r.subsidies {
            let mut ko = vec![
                (1, "KO".to_owned()),
                (2, k.payer_number.clone()),
                (3, k.recipient_number.clone().unwrap_or_default()),
                (5, opt(k.days.map(u64::from))),
                (6, opt(k.points)),
                (7, opt(k.burden_yen)),
            ];
            if medical {
                ko.push((8, opt(k.outpatient_copay)));
                ko.push((9, opt(k.inpatient_copay)));
                ko.push((11, opt(k.meals.map(u64::from))));
                ko.push((12, opt(k.meal_yen)));
            }
            line(at(if medical { 12 } else { 7 }, &ko), &mut text);
        }
        if let Some(b) = &r.branch {
            line(
                at(
                    9,
                    &[
                        (1, "SN".into()),
                        (2, "1".into()),
                        (3, "01".into()),
                        (7, b.clone()),
                    ],
                ),
                &mut text,
            );
        }
    }
    text.push('\u{1A}');
    // A character Shift_JIS lacks (encoding_rs would write a numeric reference) as 〓.
    let text: String = text
        .chars()
        .map(|c| {
            let mut buf = [0u8; 4];
            let (_, _, unmappable) = SHIFT_JIS.encode(c.encode_utf8(&mut buf));
            if unmappable { '〓' } else { c }
        })
        .collect();
    let (bytes, _, _) = SHIFT_JIS.encode(&text);
    bytes.into_owned()
}

#[cfg(test)]
mod tests;
