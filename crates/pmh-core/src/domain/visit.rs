//! The setting of a visit: 医科 or 調剤, 外来 or 入院, the insurance side (which insurance, who
//! the patient is on it), and the patient's age by the rule local programmes use.

use chrono::{Datelike, NaiveDate};

/// 医科 (medical) or 調剤 (pharmacy) claim.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    #[default]
    Medical,
    Pharmacy,
}

/// 外来 or 入院.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Care {
    #[default]
    Outpatient,
    Inpatient,
}

/// Which insurance carries the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceKind {
    /// 医保 (社保・国保).
    HealthInsurance,
    /// 後期高齢者医療.
    LateElderly,
    /// No health insurance: 公費のみ (e.g. 生活保護 alone).
    None,
}

/// Who the patient is on the insurance side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Beneficiary {
    /// 本人.
    Insured,
    /// 家族.
    Family,
    /// 未就学者.
    Preschool,
    /// 高齢受給者 一般・低所得 (後期: 一般).
    ElderlyGeneral,
    /// 高齢受給者 7割 (現役並み).
    ElderlyHigh,
}

/// The insurance side of a visit, as the オン資 result tells it: which insurance carries the claim
/// and who the patient is on it. With it, the mapping gives the レセプト種別.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InsuranceContext {
    pub kind: InsuranceKind,
    pub beneficiary: Beneficiary,
}

/// 年度年齢: the age on 1 April of the fiscal year (April–March) containing `on`, counted as
/// Japanese law counts it (年齢計算ニ関スル法律: a year is completed the day before the
/// birthday). This is how school-grade based programmes (未就学, 小学生, 中学生 …) draw their
/// lines: a child is "6" for the whole first school year, whether born on 2 April or 1 April.
pub fn fiscal_year_age(birthdate: NaiveDate, on: NaiveDate) -> Option<u32> {
    let fy = if on.month() >= 4 {
        on.year()
    } else {
        on.year() - 1
    };
    // Completed years on 1 April by the law = completed years on 2 April by the calendar.
    let reference = NaiveDate::from_ymd_opt(fy, 4, 2)?;
    match reference.years_since(birthdate) {
        Some(age) => Some(age),
        // Born during this fiscal year: 0, unless not born yet on `on`.
        None if birthdate <= on => Some(0),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn fiscal_year_age_follows_school_years() {
        // Born 2 April 2020 and 1 April 2020 both start school in April 2026; 3 April 2020 a year later.
        assert_eq!(fiscal_year_age(d("2020-04-02"), d("2026-11-21")), Some(6));
        assert_eq!(fiscal_year_age(d("2020-04-01"), d("2026-11-21")), Some(6));
        assert_eq!(fiscal_year_age(d("2020-04-03"), d("2026-11-21")), Some(5));
        // January belongs to the fiscal year that started the previous April.
        assert_eq!(fiscal_year_age(d("2020-04-02"), d("2027-01-10")), Some(6));
        assert_eq!(fiscal_year_age(d("2020-04-02"), d("2027-04-01")), Some(7));
        // Born during the fiscal year: 0; not yet born: no age.
        assert_eq!(fiscal_year_age(d("2026-06-01"), d("2026-11-21")), Some(0));
        assert_eq!(fiscal_year_age(d("2026-12-01"), d("2026-11-21")), None);
    }
}
