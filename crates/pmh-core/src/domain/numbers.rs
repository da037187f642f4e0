//! Identifiers of payers, recipients, insurers and institutions, each parsed once.
//!
//! Payer numbers are public (they name a programme and a municipality) and may appear in error
//! messages; recipient and insured numbers are personal data and never do.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use super::check_digit::{self, Verdict};

/// Why a number was rejected. Messages are specific, and never repeat a personal number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    #[error("must not be empty")]
    Empty,
    #[error("must be {expected} digits, got {found} characters")]
    WrongLength {
        expected: &'static str,
        found: usize,
    },
    #[error("must contain only the ASCII digits 0-9")]
    NotDigits,
    #[error("{number}: check digit should be {expected}, found {found}")]
    PublicCheckDigit {
        number: String,
        expected: u8,
        found: u8,
    },
    #[error("check digit should be {expected}, found {found}")]
    CheckDigit { expected: u8, found: u8 },
    #[error("must be at most {max} characters, got {found}")]
    TooLong { max: usize, found: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl NumberError {
    /// The number has the right form, but its last digit does not fit the others: a rule no
    /// pattern states, so the API answers it 422 rather than 400.
    pub fn is_check_digit(&self) -> bool {
        matches!(
            self,
            Self::PublicCheckDigit { .. } | Self::CheckDigit { .. }
        )
    }
}

fn digits_of_len(
    s: &str,
    lens: &'static [usize],
    expected: &'static str,
) -> Result<(), NumberError> {
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotDigits);
    }
    if !lens.contains(&s.len()) {
        return Err(NumberError::WrongLength {
            expected,
            found: s.chars().count(),
        });
    }
    Ok(())
}

macro_rules! string_newtype_common {
    ($t:ident) => {
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

/// 法別番号: the first two digits of a payer number, naming the programme (診療報酬請求書等の記載要領).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LawCode(u8);

impl LawCode {
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        digits_of_len(s, &[2], "2")?;
        Ok(Self(s.parse().expect("two ASCII digits")))
    }
    pub fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for LawCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl Serialize for LawCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LawCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// 公費負担者番号: 8 digits = 法別 (2) + 都道府県 (2) + 実施機関 (3) + 検証番号 (1), check digit
/// verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayerNumber(String);

impl PayerNumber {
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        digits_of_len(s, &[8], "8")?;
        match check_digit::verify(s) {
            Some(Verdict::Valid) => Ok(Self(s.to_owned())),
            Some(Verdict::Mismatch { expected, found }) => Err(NumberError::PublicCheckDigit {
                number: s.to_owned(),
                expected,
                found,
            }),
            None => Err(NumberError::NotDigits),
        }
    }
    pub fn law_code(&self) -> LawCode {
        LawCode(self.0[..2].parse().expect("digits"))
    }
    /// 都道府県番号 (2 digits).
    pub fn prefecture(&self) -> &str {
        &self.0[2..4]
    }
}
string_newtype_common!(PayerNumber);

/// 公費受給者番号. National programmes use 7 digits (6 + check digit); local programmes may use
/// up to 30 characters, which are kept exactly as the municipality registered them.
///
/// Personal data: its `Debug` form is redacted so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RecipientNumber {
    National(String),
    Local(String),
}

impl RecipientNumber {
    pub const LOCAL_MAX_CHARS: usize = 30;

    /// The 7-digit national form, check digit verified.
    pub fn parse_national(s: &str) -> Result<Self, NumberError> {
        digits_of_len(s, &[7], "7")?;
        match check_digit::verify(s) {
            Some(Verdict::Valid) => Ok(Self::National(s.to_owned())),
            Some(Verdict::Mismatch { expected, found }) => {
                Err(NumberError::CheckDigit { expected, found })
            }
            None => Err(NumberError::NotDigits),
        }
    }

    /// A local form: up to 30 characters, no control characters, kept byte for byte.
    pub fn parse_local(s: &str) -> Result<Self, NumberError> {
        if s.is_empty() {
            return Err(NumberError::Empty);
        }
        let n = s.chars().count();
        if n > Self::LOCAL_MAX_CHARS {
            return Err(NumberError::TooLong {
                max: Self::LOCAL_MAX_CHARS,
                found: n,
            });
        }
        if s.chars().any(char::is_control) {
            return Err(NumberError::ControlCharacter);
        }
        Ok(Self::Local(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::National(s) | Self::Local(s) => s,
        }
    }
}

impl fmt::Debug for RecipientNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::National(_) => f.write_str("RecipientNumber::National(<redacted>)"),
            Self::Local(_) => f.write_str("RecipientNumber::Local(<redacted>)"),
        }
    }
}

impl Serialize for RecipientNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// 保険者番号: 8 digits, or 6 for 国保. Surrounding spaces (the オン資 XML pads 6-digit numbers
/// to 8 with leading spaces) are removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsurerNumber(String);

impl InsurerNumber {
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        let t = s.trim_matches(' ');
        digits_of_len(t, &[6, 8], "6 or 8")?;
        Ok(Self(t.to_owned()))
    }
}
string_newtype_common!(InsurerNumber);

/// 医療機関コード (or 薬局コード): 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MedicalInstitutionCode(String);

impl MedicalInstitutionCode {
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        digits_of_len(s, &[10], "10")?;
        Ok(Self(s.to_owned()))
    }
}
string_newtype_common!(MedicalInstitutionCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_number_accepts_published_numbers_and_names_the_expected_digit() {
        let p = PayerNumber::parse("54016027").unwrap();
        assert_eq!(p.law_code(), LawCode::parse("54").unwrap());
        assert_eq!(p.prefecture(), "01");
        let err = PayerNumber::parse("54136016").unwrap_err();
        assert_eq!(
            err.to_string(),
            "54136016: check digit should be 5, found 6"
        );
        assert_eq!(
            PayerNumber::parse("5413601").unwrap_err(),
            NumberError::WrongLength {
                expected: "8",
                found: 7
            }
        );
        assert_eq!(
            PayerNumber::parse("5413601x").unwrap_err(),
            NumberError::NotDigits
        );
        assert_eq!(PayerNumber::parse("").unwrap_err(), NumberError::Empty);
    }

    #[test]
    fn recipient_numbers_national_and_local() {
        assert!(RecipientNumber::parse_national("1234566").is_ok());
        let err = RecipientNumber::parse_national("1234567").unwrap_err();
        assert_eq!(err.to_string(), "check digit should be 6, found 7");
        assert!(
            !err.to_string().contains("123456"),
            "no personal number in messages"
        );
        let local = RecipientNumber::parse_local(" A-0001 ２ ").unwrap();
        assert_eq!(local.as_str(), " A-0001 ２ ", "kept exactly as received");
        assert!(RecipientNumber::parse_local(&"9".repeat(30)).is_ok());
        assert_eq!(
            RecipientNumber::parse_local(&"9".repeat(31)).unwrap_err(),
            NumberError::TooLong { max: 30, found: 31 }
        );
        assert_eq!(
            RecipientNumber::parse_local("12\n3").unwrap_err(),
            NumberError::ControlCharacter
        );
    }

    #[test]
    fn insurer_numbers_are_six_or_eight_digits_and_padding_is_removed() {
        assert_eq!(InsurerNumber::parse("  123456").unwrap().as_str(), "123456");
        assert_eq!(
            InsurerNumber::parse("06130011").unwrap().as_str(),
            "06130011"
        );
        assert!(InsurerNumber::parse("1234567").is_err());
        assert!(MedicalInstitutionCode::parse("1311111111").is_ok());
        assert!(MedicalInstitutionCode::parse("131111111").is_err());
    }
}
