//! A charge's trace: every step of the computation as a line a clerk can follow — a stable
//! code, the words in Japanese for the clerk, and in English beside them.

use serde::Serialize;

/// What a trace line says, as a stable code (its words may improve; the code does not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceCode {
    /// The month: visits, insurance, 高額療養費 class and its circumstances.
    Month,
    /// What the birthdate gave (a share, an age group).
    FromBirthdate,
    /// Amounts on the 自己負担上限額管理票 that count without being computed here.
    KanrihyoElsewhere,
    /// A receipt (医科 外来, 医科 入院, 調剤) begins.
    Receipt,
    /// A part (one set of payers) with insurance: cost, insurance's share, copay.
    PartInsured,
    /// A part without insurance: all of it is left to the 公費.
    PartUninsured,
    /// A 公費 part's own 高額 limit depends on a class that was not given.
    PartLimitNoClass,
    /// A 公費 part's own 高額 limit holds its copay.
    PartLimitOver,
    /// A 公費 part's copay is within its own limit.
    PartLimitWithin,
    /// The 後期 2割 配慮措置 holds the insurance-only items' copay.
    LateElderlyCareOver,
    /// The insurance-only items' copay is within the 配慮措置.
    LateElderlyCareWithin,
    /// The meals in hospital (their own line).
    Meals,
    /// A 公費's step: what is left to it, the patient's share under it, what it pays.
    Subsidy,
    /// A 公費 part that stays out of the receipt's limit (under 21,000 yen, under 70).
    PartNotJoined,
    /// No class was given: the receipt is not held to a class limit.
    ReceiptNoClass,
    /// The receipt's total is within the class limit.
    ReceiptLimitWithin,
    /// The class limit holds the receipt's total.
    ReceiptLimitOver,
    /// The receipt's amounts: insurance, 高額療養費, 公費, patient.
    ReceiptTotal,
    /// The month's patient total at this institution before rounding.
    MonthTotal,
    /// Visits later in the month are not part of this visit's charge.
    LaterVisits,
    /// The visit lowers the month's total: a refund is due.
    WindowRefund,
    /// A cap or limit sets the amount: the visit settles the month to the yen.
    WindowSettled,
    /// The visit's charge, rounded to 10 yen.
    WindowRounded,
}

impl TraceCode {
    pub const ALL: &'static [Self] = &[
        Self::Month,
        Self::FromBirthdate,
        Self::KanrihyoElsewhere,
        Self::Receipt,
        Self::PartInsured,
        Self::PartUninsured,
        Self::PartLimitNoClass,
        Self::PartLimitOver,
        Self::PartLimitWithin,
        Self::LateElderlyCareOver,
        Self::LateElderlyCareWithin,
        Self::Meals,
        Self::Subsidy,
        Self::PartNotJoined,
        Self::ReceiptNoClass,
        Self::ReceiptLimitWithin,
        Self::ReceiptLimitOver,
        Self::ReceiptTotal,
        Self::MonthTotal,
        Self::LaterVisits,
        Self::WindowRefund,
        Self::WindowSettled,
        Self::WindowRounded,
    ];
}

/// One step of the computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceLine {
    pub code: TraceCode,
    /// 0: the month and the window; 1: a receipt's steps; 2: within a part's step.
    pub depth: u8,
    /// For the clerk.
    pub ja: String,
    /// The same, in English.
    pub en: String,
}

impl TraceLine {
    pub(crate) fn new(
        code: TraceCode,
        depth: u8,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            code,
            depth,
            ja: ja.into(),
            en: en.into(),
        }
    }
}

/// A phrase in both languages, for the parts of a line built in steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Words {
    pub ja: String,
    pub en: String,
}

impl Words {
    pub(crate) fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The phrases joined: `、` in Japanese, `, ` in English.
    pub(crate) fn join(list: &[Words]) -> Words {
        Words {
            ja: list
                .iter()
                .map(|w| w.ja.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            en: list
                .iter()
                .map(|w| w.en.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}
