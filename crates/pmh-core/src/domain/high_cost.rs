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

    /// The class a receipt's 特記事項 code names (診療報酬請求書等の記載要領, 別表 特記事項):
    /// 26–30 区ア–区オ (under 70), 41 区カ (現役並みⅡ), 42 区キ (現役並みⅠ); 31–35 多ア–多オ,
    /// 43 多カ, 44 多キ the same classes 多数回該当 (`true`). Other codes name no class.
    pub fn from_receipt_remark(code: &str) -> Option<(Self, bool)> {
        let n: u8 = code.trim().parse().ok()?;
        let (group, number, many) = match n {
            26..=30 => (AgeGroup::Under70, n - 25, false),
            31..=35 => (AgeGroup::Under70, n - 30, true),
            41 | 42 => (AgeGroup::SeventyPlus, n - 39, false),
            43 | 44 => (AgeGroup::SeventyPlus, n - 41, true),
            _ => return None,
        };
        Some((Self { group, number }, many))
    }

    /// The 特記事項 label of a class (区ア …, 多ア … when 多数回), where the receipt has one.
    pub fn receipt_remark_label(self, many_times: bool) -> Option<&'static str> {
        let kana = match (self.group, self.number) {
            (AgeGroup::Under70, 1) => ("区ア", "多ア"),
            (AgeGroup::Under70, 2) => ("区イ", "多イ"),
            (AgeGroup::Under70, 3) => ("区ウ", "多ウ"),
            (AgeGroup::Under70, 4) => ("区エ", "多エ"),
            (AgeGroup::Under70, 5) => ("区オ", "多オ"),
            (AgeGroup::SeventyPlus, 2) => ("区カ", "多カ"),
            (AgeGroup::SeventyPlus, 3) => ("区キ", "多キ"),
            _ => return None,
        };
        Some(if many_times { kana.1 } else { kana.0 })
    }

    /// The class's common name (ア … オ, 現役並みⅢ … 低所得Ⅰ).
    /// 後期 一般Ⅱ (B09): the 2割 share from 2022-10, with its 配慮措置 until 2025-09.
    pub fn is_general_ii(self) -> bool {
        self.name() == "一般Ⅱ"
    }

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

#[cfg(test)]
mod remark_tests {
    use super::*;

    #[test]
    fn receipt_remark_codes_name_their_class() {
        let class = |c: &str| HighCostClass::parse(c).unwrap();
        assert_eq!(
            HighCostClass::from_receipt_remark("26"),
            Some((class("A01"), false))
        );
        assert_eq!(
            HighCostClass::from_receipt_remark("28"),
            Some((class("A03"), false))
        );
        assert_eq!(
            HighCostClass::from_receipt_remark("30"),
            Some((class("A05"), false))
        );
        assert_eq!(
            HighCostClass::from_receipt_remark("33"),
            Some((class("A03"), true))
        );
        assert_eq!(
            HighCostClass::from_receipt_remark("41"),
            Some((class("B02"), false))
        );
        assert_eq!(
            HighCostClass::from_receipt_remark("42"),
            Some((class("B03"), false))
        );
        assert_eq!(
            HighCostClass::from_receipt_remark("44"),
            Some((class("B03"), true))
        );
        for other in ["25", "36", "40", "45", "A03", ""] {
            assert_eq!(HighCostClass::from_receipt_remark(other), None, "{other}");
        }
        assert_eq!(class("A03").receipt_remark_label(true), Some("多ウ"));
        assert_eq!(class("B02").receipt_remark_label(false), Some("区カ"));
        assert_eq!(class("B04").receipt_remark_label(false), None);
    }
}
