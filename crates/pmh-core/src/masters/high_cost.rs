//! 高額療養費 limits as dated rows per class code (健康保険法施行令 第42条), plus the limits of
//! a 公費 part (特定給付対象療養, 生活保護) and of the 特定疾病 (マル長).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::csvfile::{opt_yen, overlap, period};
use super::{RowError, reporter};
use crate::domain::{AgeGroup, HighCostClass, Yen};

/// What a row of the limits table is the limit of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKey {
    /// The patient's own class (オン資 code).
    Class(HighCostClass),
    /// A 公費 part under a 特定給付対象療養 programme: one limit whatever the class.
    KohiSpecific,
    /// A 公費 part under 生活保護 with insurance.
    KohiWelfare,
    /// 特定疾病 (マル長), 10,000 yen.
    Tokutei,
    /// 特定疾病, 人工透析 under 70 in ア/イ, 20,000 yen.
    TokuteiHigh,
    /// The 後期 2割 配慮措置 (一般Ⅱ 外来, 2022-10 to 2025-09): the items no 公費 covers.
    LateElderlyCare,
}

impl LimitKey {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "kohi_specific" => Self::KohiSpecific,
            "kohi_welfare" => Self::KohiWelfare,
            "tokutei" => Self::Tokutei,
            "tokutei_high" => Self::TokuteiHigh,
            "late_elderly_care" => Self::LateElderlyCare,
            other => Self::Class(HighCostClass::parse(other).ok()?),
        })
    }
}

impl std::fmt::Display for LimitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Class(c) => write!(f, "{c}"),
            Self::KohiSpecific => f.write_str("kohi_specific"),
            Self::KohiWelfare => f.write_str("kohi_welfare"),
            Self::Tokutei => f.write_str("tokutei"),
            Self::TokuteiHigh => f.write_str("tokutei_high"),
            Self::LateElderlyCare => f.write_str("late_elderly_care"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitStatus {
    /// From the law or an official table.
    Confirmed,
    /// The project's best knowledge; a quote using it says so.
    Provisional,
}

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    key: String,
    age_group: String,
    name: String,
    valid_from: String,
    valid_to: String,
    outpatient_yen: String,
    monthly_yen: String,
    threshold_yen: String,
    percent_over_threshold: String,
    many_times_yen: String,
    status: LimitStatus,
    source: String,
}

/// One dated limit.
#[derive(Debug, Clone, Serialize)]
pub struct HighCostLimit {
    pub key: LimitKey,
    pub age_group: AgeGroup,
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    /// 70歳以上: the 外来 (individual) limit.
    pub outpatient: Option<Yen>,
    /// The monthly limit's fixed part.
    pub monthly: Yen,
    /// With it, the limit is `monthly + (cost − threshold) × percent_over_threshold %` when the
    /// cost is above it.
    pub threshold: Option<Yen>,
    /// 1 for the 高額療養費 limits; 10 for the 後期 2割 配慮措置.
    pub percent_over_threshold: u8,
    /// 多数回該当.
    pub many_times: Option<Yen>,
    pub status: LimitStatus,
    pub source: String,
    pub line: u64,
}

impl HighCostLimit {
    /// `file:line`-style reference for traces: key, period and status.
    pub fn reference(&self) -> String {
        format!(
            "{} {} ({}, from {}{})",
            self.key,
            self.name,
            self.age_group.label(),
            self.valid_from,
            match self.status {
                LimitStatus::Confirmed => "",
                LimitStatus::Provisional => ", provisional",
            }
        )
    }

    /// The same in Japanese, for the trace's Japanese lines.
    pub fn reference_ja(&self) -> String {
        let key = match self.key {
            LimitKey::Class(c) => format!("{c} "),
            _ => String::new(),
        };
        format!(
            "{key}{}（{}、{}から{}）",
            self.name,
            self.age_group.label(),
            self.valid_from,
            match self.status {
                LimitStatus::Confirmed => "",
                LimitStatus::Provisional => "、暫定",
            }
        )
    }
}

#[derive(Debug, Default)]
pub struct HighCostLimits {
    rows: BTreeMap<(LimitKey, AgeGroup), Vec<HighCostLimit>>,
}

impl HighCostLimits {
    /// The row in force on `on`.
    pub fn find(&self, key: LimitKey, group: AgeGroup, on: NaiveDate) -> Option<&HighCostLimit> {
        self.rows
            .get(&(key, group))?
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

const SPECIAL: [(LimitKey, AgeGroup); 5] = [
    (LimitKey::KohiSpecific, AgeGroup::Under70),
    (LimitKey::KohiSpecific, AgeGroup::SeventyPlus),
    (LimitKey::KohiWelfare, AgeGroup::Under70),
    (LimitKey::KohiWelfare, AgeGroup::SeventyPlus),
    (LimitKey::Tokutei, AgeGroup::Under70),
];

fn every_class() -> impl Iterator<Item = HighCostClass> {
    (1..=6)
        .map(|n| format!("A{n:02}"))
        .chain((1..=10).map(|n| format!("B{n:02}")))
        .filter_map(|c| HighCostClass::parse(&c).ok())
}

pub(super) fn index(
    file: &str,
    rows: Vec<(u64, Row)>,
    errors: &mut Vec<RowError>,
) -> HighCostLimits {
    let mut out = HighCostLimits::default();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let Some(key) = LimitKey::parse(&r.key) else {
            bad(format!(
                "key `{}` is neither an オン資 class code (A01–A06, B01–B10) nor kohi_specific, kohi_welfare, tokutei, tokutei_high, late_elderly_care",
                r.key
            ));
            continue;
        };
        let age_group = match r.age_group.as_str() {
            "under70" => AgeGroup::Under70,
            "70plus" => AgeGroup::SeventyPlus,
            _ => {
                bad("age_group must be under70 or 70plus".into());
                continue;
            }
        };
        if let LimitKey::Class(c) = key
            && c.age_group() != age_group
        {
            bad(format!("class {c} belongs to {}", c.age_group().label()));
            continue;
        }
        if r.name.trim().is_empty() || r.source.trim().is_empty() {
            bad("name and source must not be empty".into());
            continue;
        }
        let parsed = (|| {
            let (from, to) = period(&r.valid_from, &r.valid_to)?;
            let yen = |name: &str, v: &str| opt_yen(v).map_err(|e| format!("{name} {e}"));
            let monthly = yen("monthly_yen", &r.monthly_yen)?.ok_or("monthly_yen is required")?;
            let threshold = match r.threshold_yen.as_str() {
                "" => None,
                v => match v.parse::<u64>() {
                    Ok(t) if t <= 10_000_000 => Some(Yen(t)),
                    _ => {
                        return Err(format!(
                            "threshold_yen `{v}` is not a cost up to 10,000,000"
                        ));
                    }
                },
            };
            let percent = match r.percent_over_threshold.as_str() {
                "" => 1,
                v => match v.parse::<u8>() {
                    Ok(p) if (1..=100).contains(&p) && threshold.is_some() => p,
                    Ok(_) if threshold.is_none() => {
                        return Err("percent_over_threshold needs threshold_yen".to_owned());
                    }
                    _ => {
                        return Err(format!(
                            "percent_over_threshold `{v}` is not a percentage from 1 to 100"
                        ));
                    }
                },
            };
            let outpatient = yen("outpatient_yen", &r.outpatient_yen)?;
            if outpatient.is_some() && age_group == AgeGroup::Under70 {
                return Err("outpatient_yen (外来特例) exists for 70歳以上 only".to_owned());
            }
            if outpatient.is_some_and(|o| o > monthly) {
                return Err("outpatient_yen is over monthly_yen".to_owned());
            }
            let many = yen("many_times_yen", &r.many_times_yen)?;
            if many.is_some_and(|m| m > monthly) {
                return Err("many_times_yen is over monthly_yen".to_owned());
            }
            Ok((from, to, outpatient, monthly, (threshold, percent), many))
        })();
        let (
            valid_from,
            valid_to,
            outpatient,
            monthly,
            (threshold, percent_over_threshold),
            many_times,
        ) = match parsed {
            Ok(p) => p,
            Err(e) => {
                bad(e);
                continue;
            }
        };
        let periods = out.rows.entry((key, age_group)).or_default();
        if let Some(other) = periods
            .iter()
            .find(|o| overlap((o.valid_from, o.valid_to), (valid_from, valid_to)))
        {
            bad(format!(
                "{key} ({}) overlaps the row of line {}",
                age_group.label(),
                other.line
            ));
            continue;
        }
        periods.push(HighCostLimit {
            key,
            age_group,
            name: r.name,
            valid_from,
            valid_to,
            outpatient,
            monthly,
            threshold,
            percent_over_threshold,
            many_times,
            status: r.status,
            source: r.source,
            line,
        });
    }
    for v in out.rows.values_mut() {
        v.sort_by_key(|r| r.valid_from);
    }
    let required = every_class()
        .map(|c| (LimitKey::Class(c), c.age_group()))
        .chain(SPECIAL);
    for (key, group) in required {
        if !out.rows.contains_key(&(key, group)) {
            errors.push(RowError {
                file: file.to_owned(),
                line: 0,
                reason: format!("no row for {key} ({})", group.label()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{FILES, HIGH_COST_FILE, MasterSnapshot, embedded_text};
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::domain::date::parse_iso(s).unwrap()
    }

    #[test]
    fn limits_are_dated_and_the_2026_rows_are_provisional() {
        let m = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
        let u = LimitKey::Class(HighCostClass::parse("A03").unwrap());
        let before = m
            .high_cost()
            .find(u, AgeGroup::Under70, d("2026-07-31"))
            .unwrap();
        assert_eq!(
            (before.monthly, before.threshold),
            (Yen(80_100), Some(Yen(267_000)))
        );
        assert_eq!(before.status, LimitStatus::Confirmed);
        let after = m
            .high_cost()
            .find(u, AgeGroup::Under70, d("2026-08-01"))
            .unwrap();
        assert_eq!(
            (after.monthly, after.threshold),
            (Yen(85_800), Some(Yen(286_000)))
        );
        assert_eq!(after.status, LimitStatus::Provisional);
        assert!(
            after.reference().contains("provisional"),
            "{}",
            after.reference()
        );
        // Before the table starts there is no limit, rather than a guess.
        assert!(
            m.high_cost()
                .find(u, AgeGroup::Under70, d("2014-12-31"))
                .is_none()
        );
        // The 70歳以上 外来特例 of 一般.
        let b04 = LimitKey::Class(HighCostClass::parse("B04").unwrap());
        let g = m
            .high_cost()
            .find(b04, AgeGroup::SeventyPlus, d("2026-04-01"))
            .unwrap();
        assert_eq!(
            (g.outpatient, g.monthly, g.many_times),
            (Some(Yen(18_000)), Yen(57_600), Some(Yen(44_400)))
        );
    }

    #[test]
    fn bad_rows_are_located() {
        let m = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
        let index = FILES.iter().position(|f| *f == HIGH_COST_FILE).unwrap();
        let text = embedded_text(HIGH_COST_FILE).unwrap();
        let lines = text.lines().count() as u64;
        for (row, reason) in [
            (
                "A03,under70,ウ,2020-01-01,2020-12-31,,80100,267000,,44400,confirmed,x",
                "overlaps",
            ),
            (
                "B03,under70,x,2030-01-01,,,80100,,,,confirmed,x",
                "belongs to 70歳以上",
            ),
            (
                "C01,under70,x,2030-01-01,,,80100,,,,confirmed,x",
                "neither an オン資 class code",
            ),
            (
                "A04,under70,x,2030-01-01,,18000,57600,,,,confirmed,x",
                "70歳以上 only",
            ),
            (
                "A04,under70,x,2030-01-01,2029-01-01,,57600,,,,confirmed,x",
                "before valid_from",
            ),
            (
                "A04,under70,x,2030-01-01,,,57600,,,60000,confirmed,x",
                "many_times_yen is over",
            ),
            (
                "A04,under70,x,2030-01-01,,,,,,,confirmed,x",
                "monthly_yen is required",
            ),
            (
                "A04,under70,x,2030-01-01,,,57600,,10,,confirmed,x",
                "needs threshold_yen",
            ),
            (
                "A04,under70,x,2030-01-01,,,57600,30000,101,,confirmed,x",
                "from 1 to 100",
            ),
        ] {
            let broken = format!("{text}{row}\n");
            let errors = m.check_file(index, &broken).unwrap_err();
            assert_eq!(errors.len(), 1, "{row}: {errors:?}");
            assert_eq!(errors[0].line, lines + 1, "{row}");
            assert!(
                errors[0].reason.contains(reason),
                "{row}: {}",
                errors[0].reason
            );
        }
        // A class without any row is named.
        let without: String = text
            .lines()
            .filter(|l| !l.starts_with("B07,"))
            .map(|l| format!("{l}\n"))
            .collect();
        let errors = m.check_file(index, &without).unwrap_err();
        assert!(
            errors.iter().any(|e| e.reason.contains("no row for B07")),
            "{errors:?}"
        );
    }
}
