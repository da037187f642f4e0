//! The insurance side of the window charge: the 高額療養費 class as the オン資 result codes it
//! (限度額適用認定証 区分 / 適用区分: A01…A06 under 70, B01…B10 for 70 and over), and the age
//! group the limits of a 公費 part depend on.

use std::fmt;

use thiserror::Error;

/// Under 70, or 70 and over: the two families of 高額療養費 limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeGroup {
    Under70,
    SeventyPlus,
}

impl AgeGroup {
    pub fn label(self) -> &'static str {
        match self {
            Self::Under70 => "70歳未満",
            Self::SeventyPlus => "70歳以上",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HighCostClassError {
    #[error(
        "the 高額療養費 class must be an オン資 code: A01 to A06 (under 70) or B01 to B10 (70 and over)"
    )]
    Unknown,
}

/// A 高額療養費 class code (オン資 限度額適用 区分). Only the codes the オン資 specification
/// defines are accepted; new codes (the 2027 split) are added here and in the limits master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HighCostClass {
    group: AgeGroup,
    number: u8,
}

impl HighCostClass {
    pub fn parse(s: &str) -> Result<Self, HighCostClassError> {
        let s = s.trim();
        let (group, max) = match s.as_bytes().first() {
            Some(b'A') => (AgeGroup::Under70, 6),
            Some(b'B') => (AgeGroup::SeventyPlus, 10),
            _ => return Err(HighCostClassError::Unknown),
        };
        let digits = &s[1..];
        if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HighCostClassError::Unknown);
        }
        let number: u8 = digits.parse().map_err(|_| HighCostClassError::Unknown)?;
        if number == 0 || number > max {
            return Err(HighCostClassError::Unknown);
        }
        Ok(Self { group, number })
    }

    pub fn age_group(self) -> AgeGroup {
        self.group
    }

    /// The class's common name (ア … オ, 現役並みⅢ … 低所得Ⅰ).
    pub fn name(self) -> &'static str {
        match (self.group, self.number) {
            (AgeGroup::Under70, 1) => "ア",
            (AgeGroup::Under70, 2) => "イ",
            (AgeGroup::Under70, 3) => "ウ",
            (AgeGroup::Under70, 4) => "エ",
            (AgeGroup::Under70, 5) => "オ",
            (AgeGroup::Under70, _) => "オ（境）",
            (_, 1) => "現役並みⅢ",
            (_, 2) => "現役並みⅡ",
            (_, 3) => "現役並みⅠ",
            (_, 4) => "一般",
            (_, 5) => "低所得Ⅱ",
            (_, 6..=8) => "低所得Ⅰ",
            (_, 9) => "一般Ⅱ",
            _ => "一般Ⅰ",
        }
    }
}

impl fmt::Display for HighCostClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = match self.group {
            AgeGroup::Under70 => 'A',
            AgeGroup::SeventyPlus => 'B',
        };
        write!(f, "{letter}{:02}", self.number)
    }
}

impl serde::Serialize for HighCostClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for HighCostClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_onshi_codes_parse() {
        for ok in ["A01", "A06", "B01", "B10", " B04 "] {
            assert!(HighCostClass::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "A00", "A07", "B11", "C01", "A1", "A001", "a01", "Aー1", "A+1",
        ] {
            assert_eq!(
                HighCostClass::parse(bad),
                Err(HighCostClassError::Unknown),
                "{bad}"
            );
        }
        let b = HighCostClass::parse("B05").unwrap();
        assert_eq!(
            (b.to_string(), b.name(), b.age_group()),
            ("B05".into(), "低所得Ⅱ", AgeGroup::SeventyPlus)
        );
    }
}
