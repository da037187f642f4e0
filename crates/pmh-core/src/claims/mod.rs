//! A month's claims as the receipts a receipt computer sends (read from its UKE file by
//! `pmh-formats`), and the checks the gateway makes on them before they go out
//! ([`check`]): each finding with a stable code, Japanese for the clerk and English beside it,
//! the receipt's 順番号 and the line it is about.
//!
//! The types hold the patient as the file gives them; their `Debug` leaves the name, kana,
//! birthdate and numbers out.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::domain::Redacted;

mod against;
mod check;
#[cfg(test)]
mod tests;

pub use against::{ClaimMonth, LedgerMonth, against_ledger, against_pmh};
pub use check::{Finding, FindingCode, check};

/// The `IR` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub line: usize,
    pub examiner: Examiner,
    /// 都道府県番号, 1–47.
    pub prefecture: u8,
    pub table: ScoreTable,
    /// 医療機関コード (7 digits: 郡市区番号, 医療機関番号, 検証番号).
    pub code: String,
    pub name: String,
    /// 請求年月, as its first day.
    pub billing_month: NaiveDate,
}

/// 審査支払機関.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Examiner {
    /// 1: 社会保険診療報酬支払基金.
    Shiharai,
    /// 2: 国民健康保険団体連合会.
    Kokuho,
}

/// 点数表.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreTable {
    /// 1: 医科.
    Medical,
    /// 3: 歯科.
    Dental,
    /// 4: 調剤.
    Pharmacy,
}

/// 男女区分.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// One receipt: its `RE` and the `HO`, `KO` and `SN` records that follow it.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    pub line: usize,
    /// レセプト番号 (the 順番号 within the file).
    pub number: u32,
    /// レセプト種別, 4 digits.
    pub kind: ReceiptKind,
    /// 診療年月 (調剤年月), as its first day.
    pub month: NaiveDate,
    /// 氏名 as the file gives it.
    pub name: String,
    /// カタカナ氏名 (医科), when given.
    pub kana: Option<String>,
    pub sex: Option<Sex>,
    pub birthdate: Option<NaiveDate>,
    /// 給付割合 (e.g. 70), when given.
    pub benefit_ratio: Option<u8>,
    /// レセプト特記事項, two digits each.
    pub remarks: Vec<String>,
    pub insurance: Option<Insurance>,
    /// The `KO` records in the file's order (the first is 第1公費).
    pub subsidies: Vec<Subsidy>,
    /// 枝番 from the `SN` record of the insurance, when present.
    pub branch: Option<String>,
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("line", &self.line)
            .field("number", &self.number)
            .field("kind", &self.kind)
            .field("month", &self.month)
            .field("name", &Redacted::Present)
            .field("kana", &Redacted::opt(&self.kana))
            .field("sex", &self.sex)
            .field("birthdate", &Redacted::opt(&self.birthdate))
            .field("benefit_ratio", &self.benefit_ratio)
            .field("remarks", &self.remarks)
            .field("insurance", &self.insurance)
            .field("subsidies", &self.subsidies)
            .field("branch", &Redacted::opt(&self.branch))
            .finish()
    }
}

/// レセプト種別: 4 digits — 1 医科 / 3 歯科 / 4 調剤 / 6 訪問看護; 1 医保 / 2 公費のみ / 3 後期 /
/// 4 退職; the number of payers; 本人・家族・高齢 and 入院 (odd) or 入院外 (even).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptKind([u8; 4]);

impl ReceiptKind {
    /// The four digits, when they are a レセプト種別.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let ok = b.len() == 4
            && b.iter().all(u8::is_ascii_digit)
            && matches!(b[0], b'1' | b'3' | b'4' | b'6')
            && matches!(b[1], b'1'..=b'4')
            && matches!(b[2], b'1'..=b'5');
        ok.then(|| Self([b[0], b[1], b[2], b[3]]))
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }

    /// Digit 2 is 2: 公費のみ (no health insurance).
    pub fn kohi_only(&self) -> bool {
        self.0[1] == b'2'
    }

    /// The number of 公費 digit 3 says: with insurance 1 alone, 2–5 = 1–4 公費; 公費のみ 1–4.
    pub fn subsidies(&self) -> usize {
        let n = usize::from(self.0[2] - b'0');
        if self.kohi_only() { n } else { n - 1 }
    }

    /// Digit 4 is odd: 入院.
    pub fn inpatient(&self) -> bool {
        (self.0[3] - b'0') % 2 == 1
    }
}

/// The `HO` record.
#[derive(Clone, PartialEq, Eq)]
pub struct Insurance {
    pub line: usize,
    /// 保険者番号 (6 or 8 digits; a 6-digit one may be written right-aligned with spaces).
    pub insurer_number: String,
    pub symbol: Option<String>,
    pub number: Option<String>,
    /// 診療実日数 (調剤: 処方箋受付回数).
    pub days: Option<u32>,
    pub points: Option<u64>,
    pub meals: Option<u32>,
    pub meal_yen: Option<u64>,
    /// 負担金額 (医療保険): the patient's copay under the insurance, in yen.
    pub burden_yen: Option<u64>,
}

impl fmt::Debug for Insurance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Insurance")
            .field("line", &self.line)
            .field("insurer_number", &Redacted::Present)
            .field("symbol", &Redacted::opt(&self.symbol))
            .field("number", &Redacted::opt(&self.number))
            .field("days", &self.days)
            .field("points", &self.points)
            .field("meals", &self.meals)
            .field("meal_yen", &self.meal_yen)
            .field("burden_yen", &self.burden_yen)
            .finish()
    }
}

/// A `KO` record: one 公費 of the receipt.
#[derive(Clone, PartialEq, Eq)]
pub struct Subsidy {
    pub line: usize,
    /// 負担者番号: 8 digits as written (its check digit is checked elsewhere).
    pub payer_number: String,
    /// 受給者番号 (7 digits for a national programme; blank for some).
    pub recipient_number: Option<String>,
    /// 診療実日数 (調剤: 処方箋受付回数).
    pub days: Option<u32>,
    pub points: Option<u64>,
    /// 負担金額 (公費): the patient's copay under this 公費, in yen.
    pub burden_yen: Option<u64>,
    /// 公費給付対象外来一部負担金.
    pub outpatient_copay: Option<u64>,
    /// 公費給付対象入院一部負担金.
    pub inpatient_copay: Option<u64>,
    pub meals: Option<u32>,
    pub meal_yen: Option<u64>,
}

impl fmt::Debug for Subsidy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subsidy")
            .field("line", &self.line)
            .field("payer_number", &self.payer_number)
            .field("recipient_number", &Redacted::opt(&self.recipient_number))
            .field("days", &self.days)
            .field("points", &self.points)
            .field("burden_yen", &self.burden_yen)
            .field("outpatient_copay", &self.outpatient_copay)
            .field("inpatient_copay", &self.inpatient_copay)
            .field("meals", &self.meals)
            .field("meal_yen", &self.meal_yen)
            .finish()
    }
}

impl Receipt {
    /// The receipt's month as `YYYY-MM`.
    pub fn month_label(&self) -> String {
        format!("{:04}-{:02}", self.month.year(), self.month.month())
    }
}
