//! Meals in hospital: the patient's 標準負担額 per meal by class and date
//! (`meal_charges.csv`), and what each 公費 does with it (`meal_programme_rules.csv`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::csvfile::{opt_yen, overlap, period};
use super::{LimitStatus, LocalProgramme, NationalProgramme, RowError, reporter};
use crate::domain::{LawCode, Yen};

/// The class of a patient's 食事療養・生活療養 標準負担額.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MealClass {
    /// 一般.
    General,
    /// 指定難病・小児慢性特定疾病 patients of 一般所得.
    DesignatedDisease,
    /// 住民税非課税 (under 70 オ, 70歳以上 低所得Ⅱ), 90 days of stay or less.
    LowIncomeIi,
    /// The same after 90 days (長期該当).
    LowIncomeIiLong,
    /// 70歳以上 低所得Ⅰ.
    LowIncomeI,
    /// 入院時生活療養 (Ⅰ) 食費.
    LivingI,
    /// 入院時生活療養 (Ⅱ) 食費.
    LivingIi,
}

impl MealClass {
    pub const ALL: [MealClass; 7] = [
        Self::General,
        Self::DesignatedDisease,
        Self::LowIncomeIi,
        Self::LowIncomeIiLong,
        Self::LowIncomeI,
        Self::LivingI,
        Self::LivingIi,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::DesignatedDisease => "designated_disease",
            Self::LowIncomeIi => "low_income_ii",
            Self::LowIncomeIiLong => "low_income_ii_long",
            Self::LowIncomeI => "low_income_i",
            Self::LivingI => "living_i",
            Self::LivingIi => "living_ii",
        }
    }

    /// The class in Japanese, for the trace.
    pub fn name_ja(self) -> &'static str {
        match self {
            Self::General => "一般",
            Self::DesignatedDisease => "指定難病・小児慢性特定疾病",
            Self::LowIncomeIi => "住民税非課税（低所得Ⅱ）",
            Self::LowIncomeIiLong => "住民税非課税（低所得Ⅱ、長期該当）",
            Self::LowIncomeI => "低所得Ⅰ",
            Self::LivingI => "生活療養（Ⅰ）",
            Self::LivingIi => "生活療養（Ⅱ）",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == s)
    }
}

/// What a 公費 does with the patient's meal charge on a receipt it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MealRule {
    /// Pays the patient's 標準負担額 in full.
    Pays,
    /// The patient pays the 指定難病・小慢 amount, and the 公費 half of it (小児慢性).
    Half,
    /// The patient pays the lower 指定難病・小慢 amount; the 公費 pays none of it (難病).
    Reduced,
    /// Leaves it to the patient.
    None,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChargeRow {
    class: String,
    name: String,
    valid_from: String,
    valid_to: String,
    per_meal_yen: String,
    status: LimitStatus,
    source: String,
}

/// One dated amount per meal.
#[derive(Debug, Clone, Serialize)]
pub struct MealCharge {
    pub class: MealClass,
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub per_meal: Yen,
    pub status: LimitStatus,
    pub source: String,
    pub line: u64,
}

impl MealCharge {
    /// For traces and the list of provisional rows.
    pub fn reference(&self) -> String {
        format!(
            "{} {} (from {}{})",
            self.class.key(),
            self.name,
            self.valid_from,
            match self.status {
                LimitStatus::Confirmed => "",
                LimitStatus::Provisional => ", provisional",
            }
        )
    }

    /// The same in Japanese, for the trace's Japanese lines.
    pub fn reference_ja(&self) -> String {
        format!(
            "{}（{}から{}）",
            self.name,
            self.valid_from,
            match self.status {
                LimitStatus::Confirmed => "",
                LimitStatus::Provisional => "、暫定",
            }
        )
    }
}

#[derive(Debug, Default)]
pub struct MealCharges {
    rows: BTreeMap<MealClass, Vec<MealCharge>>,
}

impl MealCharges {
    /// The amount in force on `on` for `class`.
    pub fn find(&self, class: MealClass, on: NaiveDate) -> Option<&MealCharge> {
        self.rows
            .get(&class)?
            .iter()
            .find(|r| r.valid_from <= on && r.valid_to.is_none_or(|to| on <= to))
    }

    pub fn len(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

pub(super) fn index_charges(
    file: &str,
    rows: Vec<(u64, ChargeRow)>,
    errors: &mut Vec<RowError>,
) -> MealCharges {
    let mut out = MealCharges::default();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let Some(class) = MealClass::parse(&r.class) else {
            bad(format!(
                "class `{}` is not one of {}",
                r.class,
                MealClass::ALL.map(MealClass::key).join(", ")
            ));
            continue;
        };
        if r.name.trim().is_empty() || r.source.trim().is_empty() {
            bad("name and source must not be empty".into());
            continue;
        }
        let parsed = (|| {
            let (from, to) = period(&r.valid_from, &r.valid_to)?;
            let per_meal = opt_yen(&r.per_meal_yen)
                .map_err(|e| format!("per_meal_yen {e}"))?
                .ok_or("per_meal_yen is required")?;
            if per_meal.0 > 10_000 {
                return Err("per_meal_yen is over 10,000".to_owned());
            }
            Ok((from, to, per_meal))
        })();
        let (valid_from, valid_to, per_meal) = match parsed {
            Ok(p) => p,
            Err(e) => {
                bad(e);
                continue;
            }
        };
        let periods = out.rows.entry(class).or_default();
        if let Some(other) = periods
            .iter()
            .find(|o| overlap((o.valid_from, o.valid_to), (valid_from, valid_to)))
        {
            bad(format!(
                "{} overlaps the row of line {}",
                class.key(),
                other.line
            ));
            continue;
        }
        periods.push(MealCharge {
            class,
            name: r.name,
            valid_from,
            valid_to,
            per_meal,
            status: r.status,
            source: r.source,
            line,
        });
    }
    for v in out.rows.values_mut() {
        v.sort_by_key(|r| r.valid_from);
    }
    for class in MealClass::ALL {
        if !out.rows.contains_key(&class) {
            errors.push(RowError {
                file: file.to_owned(),
                line: 0,
                reason: format!("no row for {}", class.key()),
            });
        }
    }
    out
}

#[derive(Debug, Deserialize)]
pub(super) struct RuleRow {
    programme: String,
    rule: MealRule,
    status: LimitStatus,
    source: String,
}

/// A programme's meal rule, with where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct ProgrammeMealRule {
    pub rule: MealRule,
    pub status: LimitStatus,
    pub source: String,
}

/// Meal rules by programme: a 法別番号, or a local programme's payer match.
#[derive(Debug, Default)]
pub struct MealRules {
    national: BTreeMap<LawCode, ProgrammeMealRule>,
    local: BTreeMap<String, ProgrammeMealRule>,
}

impl MealRules {
    pub fn national(&self, law: LawCode) -> Option<&ProgrammeMealRule> {
        self.national.get(&law)
    }

    /// By a local programme's `payer_match` (as in `local_programmes.csv`).
    pub fn local(&self, payer_match: &str) -> Option<&ProgrammeMealRule> {
        self.local.get(payer_match)
    }

    pub fn len(&self) -> usize {
        self.national.len() + self.local.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(super) fn index_rules(
    file: &str,
    rows: Vec<(u64, RuleRow)>,
    national: &BTreeMap<LawCode, NationalProgramme>,
    locals: &[&LocalProgramme],
    errors: &mut Vec<RowError>,
) -> MealRules {
    let mut out = MealRules::default();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        if r.source.trim().is_empty() {
            bad("source must not be empty".into());
            continue;
        }
        let rule = ProgrammeMealRule {
            rule: r.rule,
            status: r.status,
            source: r.source,
        };
        let key = r.programme.trim();
        let taken = if key.len() == 2 {
            match LawCode::parse(key) {
                Ok(law) if national.contains_key(&law) => out.national.insert(law, rule).is_some(),
                _ => {
                    bad(format!(
                        "programme `{key}` is not a 法別番号 of national_programmes.csv"
                    ));
                    continue;
                }
            }
        } else if locals.iter().any(|p| p.payer_match == key) {
            out.local.insert(key.to_owned(), rule).is_some()
        } else {
            bad(format!(
                "programme `{key}` is neither a 法別番号 nor a payer_number of local_programmes.csv"
            ));
            continue;
        };
        if taken {
            bad(format!("programme `{key}` has a rule already"));
        }
    }
    out
}
