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

/// 年度年齢: the school year's age, counted as Japanese law counts it (年齢計算ニ関スル法律: a
/// year is completed at the end of the day before the birthday), so the age at the end of 31
/// March before the fiscal year (April–March) containing `on` — the calendar age on 1 April.
/// This is how school-grade based programmes (未就学, 小学生, 中学生 …) draw their lines: a
/// child enters school in the first April after the day following its 6th year's completion
/// (学校教育法 §17), so one born on 1 April is "6" in the same school year as one born on 2
/// April of the year before, and one born on 2 April a year later.
pub fn fiscal_year_age(birthdate: NaiveDate, on: NaiveDate) -> Option<u32> {
    let fy = if on.month() >= 4 {
        on.year()
    } else {
        on.year() - 1
    };
    let reference = NaiveDate::from_ymd_opt(fy, 4, 1)?;
    match reference.years_since(birthdate) {
        Some(age) => Some(age),
        // Born during this fiscal year: 0, unless not born yet on `on`.
        None if birthdate <= on => Some(0),
        None => None,
    }
}

/// What a birthdate says about the insurance of the month of `day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeFacts {
    /// 高齢受給者 (70歳以上): from the first of the month after the 70th year is completed — the
    /// month of the 70th birthday itself when born on the 1st (健康保険法 §74 1項3号, 年齢計算ニ
    /// 関スル法律).
    pub seventy_plus: bool,
    /// 未就学: up to the first 31 March after the 6th year is completed (健康保険法 §74 1項2号,
    /// the 2割 share).
    pub preschool: bool,
    /// The month of the 75th birthday, when not on the 1st: the patient moves to 後期高齢者医療
    /// during the month, and the month's 高額療養費 limits of both insurers are halved
    /// (75歳到達月の自己負担限度額の特例 of 健康保険法施行令 and 高齢者の医療の確保に関する法律
    /// 施行令).
    pub turning_75: bool,
}

impl AgeFacts {
    /// `None` when the patient is not born yet on `day`.
    pub fn of(birthdate: NaiveDate, day: NaiveDate) -> Option<Self> {
        if birthdate > day {
            return None;
        }
        let birthday = |years: u32| birthdate.checked_add_months(chrono::Months::new(years * 12));
        let month_of = |d: NaiveDate| (d.year(), d.month());
        let this_month = month_of(day);
        // The 70th year is completed the day before the 70th birthday; 70歳以上 from the first
        // of the next month.
        let seventy_plus = birthday(70).is_some_and(|b70| {
            let completed = b70.pred_opt().unwrap_or(b70);
            month_of(completed) < this_month
        });
        let preschool = fiscal_year_age(birthdate, day).is_some_and(|a| a < 6);
        let turning_75 =
            birthday(75).is_some_and(|b75| month_of(b75) == this_month && b75.day() != 1);
        Some(Self {
            seventy_plus,
            preschool,
            turning_75,
        })
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
        // 学校教育法 §17: born 1 April 2020 (6th year completed 31 March 2026) enters school in
        // April 2026, with those born from 2 April 2019; born 2 April 2020, in April 2027.
        assert_eq!(fiscal_year_age(d("2020-04-01"), d("2026-11-21")), Some(6));
        assert_eq!(fiscal_year_age(d("2019-04-02"), d("2026-11-21")), Some(6));
        assert_eq!(fiscal_year_age(d("2019-04-01"), d("2026-11-21")), Some(7));
        assert_eq!(fiscal_year_age(d("2020-04-02"), d("2026-11-21")), Some(5));
        // January belongs to the fiscal year that started the previous April.
        assert_eq!(fiscal_year_age(d("2020-04-01"), d("2027-01-10")), Some(6));
        assert_eq!(fiscal_year_age(d("2020-04-01"), d("2027-04-01")), Some(7));
        // Born during the fiscal year: 0; not yet born: no age.
        assert_eq!(fiscal_year_age(d("2026-06-01"), d("2026-11-21")), Some(0));
        assert_eq!(fiscal_year_age(d("2026-12-01"), d("2026-11-21")), None);
    }

    fn facts(birth: &str, day: &str) -> AgeFacts {
        AgeFacts::of(d(birth), d(day)).unwrap()
    }

    #[test]
    fn seventy_plus_starts_the_month_after_the_70th_year_is_completed() {
        // Born 15 May 1956: 70th birthday 15 May 2026 → 70歳以上 from June 2026.
        assert!(!facts("1956-05-15", "2026-05-31").seventy_plus);
        assert!(facts("1956-05-15", "2026-06-01").seventy_plus);
        // Born 1 May 1956: the year is completed on 30 April → from May 2026.
        assert!(!facts("1956-05-01", "2026-04-30").seventy_plus);
        assert!(facts("1956-05-01", "2026-05-02").seventy_plus);
    }

    #[test]
    fn preschool_lasts_to_the_first_31_march_after_the_sixth_year() {
        // Born 1 April 2020: 6th year completed 31 March 2026, 未就学 to that day.
        assert!(facts("2020-04-01", "2026-03-31").preschool);
        assert!(!facts("2020-04-01", "2026-04-01").preschool);
        // Born 2 April 2020: completed 1 April 2026, 未就学 to 31 March 2027.
        assert!(facts("2020-04-02", "2027-03-31").preschool);
        assert!(!facts("2020-04-02", "2027-04-01").preschool);
        assert!(facts("2026-01-10", "2026-02-01").preschool);
        assert_eq!(AgeFacts::of(d("2026-03-01"), d("2026-02-01")), None);
    }

    #[test]
    fn the_75th_birthday_month_unless_born_on_the_first() {
        // Born 20 April 1951: 後期 from 20 April 2026; April 2026 is split and halved.
        assert!(facts("1951-04-20", "2026-04-05").turning_75);
        assert!(!facts("1951-04-20", "2026-05-05").turning_75);
        assert!(!facts("1951-04-20", "2026-03-05").turning_75);
        // Born 1 April 1951: 後期 the whole of April 2026: no halving.
        assert!(!facts("1951-04-01", "2026-04-05").turning_75);
    }
}
