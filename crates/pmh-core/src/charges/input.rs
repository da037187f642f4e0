//! The engine's input, checked once: a month of visits at this institution for one patient, the
//! insurance side and the subsidies with their resolved rules.

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

use crate::domain::{
    AgeGroup, Care, Claim, CopayCaps, HighCostClass, InsuranceKind, LawCode, Rounding, Yen,
};
use crate::masters::{KohiLimitRule, MealClass, MealRule, RateRule, VisitCounting};

/// The receipt a visit belongs to: 医科 入院, 医科 外来 and 調剤 are separate receipts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    MedicalInpatient,
    MedicalOutpatient,
    Pharmacy,
}

impl Setting {
    pub const ALL: [Setting; 3] = [
        Setting::MedicalInpatient,
        Setting::MedicalOutpatient,
        Setting::Pharmacy,
    ];

    pub fn new(claim: Claim, care: Care) -> Self {
        match (claim, care) {
            (Claim::Pharmacy, _) => Self::Pharmacy,
            (Claim::Medical, Care::Inpatient) => Self::MedicalInpatient,
            (Claim::Medical, Care::Outpatient) => Self::MedicalOutpatient,
        }
    }

    pub fn claim(self) -> Claim {
        match self {
            Self::Pharmacy => Claim::Pharmacy,
            _ => Claim::Medical,
        }
    }

    /// 調剤 is outpatient care.
    pub fn care(self) -> Care {
        match self {
            Self::MedicalInpatient => Care::Inpatient,
            _ => Care::Outpatient,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::MedicalInpatient => "医科 入院",
            Self::MedicalOutpatient => "医科 外来",
            Self::Pharmacy => "調剤",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// 特定疾病 (マル長: 人工透析, 血友病, HIV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecificDisease {
    /// 10,000 yen a month.
    Standard,
    /// 人工透析 under 70 in ア/イ: 20,000 yen a month.
    DialysisHighIncome,
}

/// The insurance side of the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insurance {
    /// `None`: no health insurance on the receipts (公費のみ).
    pub kind: InsuranceKind,
    /// The patient's share under the insurance: 10, 20 or 30 (ignored without insurance).
    pub patient_rate_percent: u8,
    /// The 高額療養費 class; without it no class limit is applied to the receipt.
    pub class: Option<HighCostClass>,
    /// 70歳以上 (from the class when given).
    pub age_group: AgeGroup,
    /// 多数回該当.
    pub many_times: bool,
    /// The month of the 75th birthday (not born on the 1st): limits halved.
    pub turning_75: bool,
    pub specific_disease: Option<SpecificDisease>,
    /// How the class was given, when not as an オン資 code (a receipt's 特記事項): for the trace.
    pub class_given_as: Option<String>,
    /// What was taken from the patient's birthdate (70歳以上, 未就学, 75歳到達月): for the trace
    /// (never the birthdate itself).
    pub from_birthdate: Vec<&'static str>,
    /// The class of the patient's meal charge (標準負担額) when given; otherwise it follows the
    /// 高額 class (住民税非課税, 低所得Ⅰ) and the 公費 (指定難病・小慢).
    pub meal_class: Option<MealClass>,
    /// More than 90 days in hospital in 12 months (長期該当): the lower 住民税非課税 amount.
    pub long_stay: bool,
}

impl Insurance {
    /// Checks the combination: the rate, and a class that agrees with the age group.
    pub fn new(
        kind: InsuranceKind,
        patient_rate_percent: u8,
        class: Option<HighCostClass>,
        seventy_plus: Option<bool>,
    ) -> Result<Self, ChargeError> {
        if kind != InsuranceKind::None && ![10, 20, 30].contains(&patient_rate_percent) {
            return Err(ChargeError::InsuranceRate(patient_rate_percent));
        }
        let age_group = match (class, seventy_plus) {
            (Some(c), Some(s)) if (c.age_group() == AgeGroup::SeventyPlus) != s => {
                return Err(ChargeError::ClassAgeMismatch(c));
            }
            (Some(c), _) => c.age_group(),
            (None, Some(true)) => AgeGroup::SeventyPlus,
            (None, _) => AgeGroup::Under70,
        };
        Ok(Self {
            kind,
            patient_rate_percent,
            class,
            age_group,
            many_times: false,
            turning_75: false,
            specific_disease: None,
            class_given_as: None,
            from_birthdate: Vec::new(),
            meal_class: None,
            long_stay: false,
        })
    }
}

/// How a 公費 sets the patient's share of what is left to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// Nothing to pay.
    Free,
    /// A percentage of the 10割 cost.
    Rate { percent: u8 },
    /// A fixed amount per visit (or the copay if lower).
    PerVisit { amount: Yen },
    /// A fixed amount per day (or the copay if lower).
    PerDay { amount: Yen },
    /// Up to a fixed amount a month (生活保護's 本人支払額).
    Monthly { amount: Yen },
    /// A percentage of the copay left to it (e.g. half of it).
    CopayRate { percent: u8 },
}

/// A subsidy's rule in one setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub method: Method,
    pub caps: CopayCaps,
    /// A fixed amount is charged at most this many times (visits or days) a month.
    pub charged_times_per_month: Option<u16>,
    pub rounding: Rounding,
    /// How a fixed amount's charges are counted.
    pub counting: VisitCounting,
    /// Without a 高額 class given, it pays only up to this class's limit (the rest is the
    /// patient's, to claim as 高額療養費 later).
    pub class_without_certificate: Option<HighCostClass>,
}

impl Terms {
    /// The month's cap: a 本人支払額, or the cap per month.
    pub fn monthly_cap(&self) -> Option<Yen> {
        match self.method {
            Method::Monthly { amount } => Some(amount),
            _ => self.caps.per_month,
        }
    }
}

/// One 公費 of the month, in receipt order (the first is 第1公費).
#[derive(Debug, Clone)]
pub struct Subsidy {
    /// A short name for the trace (難病, マル障 …): never a number of the certificate.
    pub label: String,
    pub law_code: Option<LawCode>,
    pub kohi_limit: KohiLimitRule,
    pub rate_rule: RateRule,
    /// The monthly cap is shared with other institutions (自己負担上限額管理票).
    pub shared_cap: bool,
    /// A local programme (地単): it pays last, on what the 高額 limits leave to the patient.
    pub local: bool,
    /// What the 管理票 already holds this month under this cap and the quote does not compute
    /// (other institutions' amounts, this institution's committed visits not in the quote), each
    /// on its date; counts only when the cap is shared, where its date falls among the visits.
    pub paid_elsewhere: Vec<PaidElsewhere>,
    /// The rule per setting; `None` where the programme does not cover it.
    pub terms: [Option<Terms>; 3],
    /// What it does with the patient's meal charge on an inpatient receipt it covers; `None`
    /// when the masters have no rule (the meals are then the patient's, and provisional).
    pub meals: Option<SubsidyMeals>,
}

/// A subsidy's meal rule and whether the masters mark it provisional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubsidyMeals {
    pub rule: MealRule,
    pub provisional: bool,
}

impl Subsidy {
    pub fn terms_for(&self, setting: Setting) -> Option<&Terms> {
        self.terms[setting.index()].as_ref()
    }
}

/// An amount on the 自己負担上限額管理票 that the quote does not compute, on its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidElsewhere {
    pub date: NaiveDate,
    pub amount: Yen,
    /// This institution's committed visit (not another institution's 管理票 line).
    pub own: bool,
}

/// Items with one set of payers (one 負担区分).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The 10割 cost in yen (点数 × 10).
    pub cost: Yen,
    /// The 公費 that cover it, by their index in [`Month::subsidies`] (0 = 第1公費), ascending.
    pub subsidies: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The receipt computer's id for the visit (not personal; not shown in errors).
    pub id: String,
    pub date: NaiveDate,
    pub setting: Setting,
    pub parts: Vec<Part>,
    /// Meals in hospital by day (inpatient visits only).
    pub meals: Vec<MealDay>,
    /// What a local programme's visit count reads.
    pub consultation: Consultation,
}

/// The visit as a local programme counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consultation {
    /// 初診 (a first consultation), not 再診.
    pub first_visit: bool,
    /// The day counts as a treatment day (診療実日数): not, e.g., a prescription or a document
    /// alone. A visit that is not pays no fixed amount and is not counted.
    pub treatment_day: bool,
    /// A second department joining a visit of the same day already charged: one visit with it.
    pub joins_visit: bool,
}

impl Default for Consultation {
    fn default() -> Self {
        Self {
            first_visit: false,
            treatment_day: true,
            joins_visit: false,
        }
    }
}

/// The meals of one day in hospital.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MealDay {
    pub date: NaiveDate,
    /// 1 to 3.
    pub count: u8,
}

impl Visit {
    pub fn cost(&self) -> Yen {
        Yen(self.parts.iter().map(|p| p.cost.0).sum())
    }
}

/// The most one part may cost: far above any real bill, far below overflow.
pub const MAX_PART_COST: Yen = Yen(1_000_000_000);

/// The most subsidies on a receipt (第1〜第4公費).
pub const MAX_SUBSIDIES: usize = 4;

/// A month of one patient's visits at this institution, checked.
#[derive(Debug, Clone)]
pub struct Month {
    insurance: Insurance,
    subsidies: Vec<Subsidy>,
    visits: Vec<Visit>,
    first_day: NaiveDate,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChargeError {
    #[error("a quote needs at least one visit")]
    NoVisits,
    #[error(
        "every visit must be in one calendar month: visit {visit} is in {found}, the first in {month}"
    )]
    MonthsDiffer {
        visit: usize,
        found: String,
        month: String,
    },
    #[error("visit {0} repeats the id of an earlier visit")]
    DuplicateVisit(usize),
    #[error("the visit to quote is not among the month's visits")]
    VisitNotFound,
    #[error("visit {0} has no parts (each part is a cost and the 公費 that cover it)")]
    EmptyVisit(usize),
    #[error("part {part} of visit {visit} costs more than {max} yen", max = MAX_PART_COST.0)]
    CostTooLarge { visit: usize, part: usize },
    #[error(
        "part {part} of visit {visit} is covered by 公費 number {subsidy}, which is not among the subsidies of the quote (there are {count})"
    )]
    UnknownSubsidy {
        visit: usize,
        part: usize,
        subsidy: usize,
        count: usize,
    },
    #[error(
        "part {part} of visit {visit} is covered by 公費 number {subsidy}, whose certificate is not in force on the visit's date (the check's answer says why)"
    )]
    SubsidyNotInForce {
        visit: usize,
        part: usize,
        subsidy: usize,
    },
    #[error(
        "visit {visit} has meals, but only an inpatient visit (医科 入院) has meals in hospital"
    )]
    MealsOutsideHospital { visit: usize },
    #[error(
        "visit {visit} gives {count} meals on one day: 1 to 3 a day, each day once, in the visit's month"
    )]
    MealsMalformed { visit: usize, count: u8 },
    #[error("the masters have no meal charge (標準負担額) for {class} on {date}")]
    NoMealCharge { class: &'static str, date: String },
    #[error("part {part} of visit {visit} names the same 公費 twice")]
    SubsidyTwice { visit: usize, part: usize },
    #[error(
        "part {part} of visit {visit} has no payer: without health insurance every part needs a 公費"
    )]
    NoPayer { visit: usize, part: usize },
    #[error("visit {visit} is {setting}, which {label} does not cover")]
    SettingNotCovered {
        visit: usize,
        setting: &'static str,
        label: String,
    },
    #[error("at most {MAX_SUBSIDIES} 公費 go on one receipt; the quote has {0}")]
    TooManySubsidies(usize),
    #[error("the insurance share must be 10, 20 or 30 percent, not {0}")]
    InsuranceRate(u8),
    #[error("class {0} is for the other age group than the one given (70歳以上 or not)")]
    ClassAgeMismatch(HighCostClass),
    #[error(
        "the copay rule of {label} is not known (an unknown programme, or a rule the masters do not complete): this visit cannot be computed"
    )]
    RuleUnknown { label: String },
    #[error("the masters have no 高額療養費 limit for {key} ({group}) in {month}")]
    NoLimit {
        key: String,
        group: &'static str,
        month: String,
    },
}

impl Month {
    pub fn new(
        insurance: Insurance,
        subsidies: Vec<Subsidy>,
        visits: Vec<Visit>,
    ) -> Result<Self, ChargeError> {
        if subsidies.len() > MAX_SUBSIDIES {
            return Err(ChargeError::TooManySubsidies(subsidies.len()));
        }
        let first = visits.first().ok_or(ChargeError::NoVisits)?;
        let (year, month) = (first.date.year(), first.date.month());
        let first_day = first.date.with_day(1).unwrap_or(first.date);
        let mut ids = std::collections::HashSet::new();
        for (i, v) in visits.iter().enumerate() {
            let n = i + 1;
            if (v.date.year(), v.date.month()) != (year, month) {
                return Err(ChargeError::MonthsDiffer {
                    visit: n,
                    found: v.date.format("%Y-%m").to_string(),
                    month: first_day.format("%Y-%m").to_string(),
                });
            }
            if !ids.insert(v.id.as_str()) {
                return Err(ChargeError::DuplicateVisit(n));
            }
            if v.parts.is_empty() {
                return Err(ChargeError::EmptyVisit(n));
            }
            if !v.meals.is_empty() && v.setting != Setting::MedicalInpatient {
                return Err(ChargeError::MealsOutsideHospital { visit: n });
            }
            let mut days = std::collections::HashSet::new();
            for m in &v.meals {
                let in_month = (m.date.year(), m.date.month()) == (year, month);
                if !(1..=3).contains(&m.count) || !in_month || !days.insert(m.date) {
                    return Err(ChargeError::MealsMalformed {
                        visit: n,
                        count: m.count,
                    });
                }
            }
            for (j, p) in v.parts.iter().enumerate() {
                let part = j + 1;
                if p.cost > MAX_PART_COST {
                    return Err(ChargeError::CostTooLarge { visit: n, part });
                }
                if p.subsidies.is_empty() && insurance.kind == InsuranceKind::None {
                    return Err(ChargeError::NoPayer { visit: n, part });
                }
                for (k, &s) in p.subsidies.iter().enumerate() {
                    let Some(sub) = subsidies.get(s) else {
                        return Err(ChargeError::UnknownSubsidy {
                            visit: n,
                            part,
                            subsidy: s + 1,
                            count: subsidies.len(),
                        });
                    };
                    if p.subsidies[..k].contains(&s) {
                        return Err(ChargeError::SubsidyTwice { visit: n, part });
                    }
                    if sub.terms_for(v.setting).is_none() {
                        return Err(ChargeError::SettingNotCovered {
                            visit: n,
                            setting: v.setting.label(),
                            label: sub.label.clone(),
                        });
                    }
                }
            }
        }
        let mut subsidies = subsidies;
        for s in &mut subsidies {
            s.paid_elsewhere.sort_by_key(|e| e.date);
        }
        let mut visits = visits;
        for v in &mut visits {
            for p in &mut v.parts {
                p.subsidies.sort_unstable();
            }
        }
        Ok(Self {
            insurance,
            subsidies,
            visits,
            first_day,
        })
    }

    pub fn insurance(&self) -> &Insurance {
        &self.insurance
    }

    pub fn subsidies(&self) -> &[Subsidy] {
        &self.subsidies
    }

    pub fn visits(&self) -> &[Visit] {
        &self.visits
    }

    /// The first day of the month (the date the limits are looked up on).
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }
}
