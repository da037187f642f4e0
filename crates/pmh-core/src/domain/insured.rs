//! Who the question is about: the insured person's identity on the health-insurance side.
//! The clinic side is keyed by insurance identity, never by My Number (個人番号).

use std::fmt;

use chrono::NaiveDate;
use thiserror::Error;

use super::numbers::{InsurerNumber, NumberError};
use super::text::{is_invisible_format, nfkc};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InsuredError {
    #[error("insurer_number {0}")]
    Insurer(NumberError),
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {found}")]
    TooLong {
        field: &'static str,
        max: usize,
        found: usize,
    },
    #[error("{field} must not contain control characters")]
    Control { field: &'static str },
    #[error("{field} must not contain invisible characters (zero-width or bidirectional controls)")]
    Invisible { field: &'static str },
    #[error("{field} must not contain '|' (no insurance card number holds one)")]
    Separator { field: &'static str },
    #[error("branch must be 2 digits (枝番, e.g. \"01\")")]
    Branch,
}

/// 被保険者証 記号・番号 are at most 20 full-width characters in the オン資 specification; allow
/// a little slack for data entered with separators.
const MAX_SYMBOL_NUMBER_CHARS: usize = 40;

/// The character that no 記号 or 番号 may hold, so that it can separate them in text.
pub const SEPARATOR: char = '|';

/// One part of an identity as entered or received: invisible characters refused, then NFKC
/// (full-width digits and letters to ASCII, half-width kana to full-width), so that one person
/// is one key however the number was typed.
fn normalised(field: &'static str, s: &str) -> Result<String, InsuredError> {
    if s.chars().any(is_invisible_format) {
        return Err(InsuredError::Invisible { field });
    }
    Ok(nfkc(s))
}

fn text(field: &'static str, s: &str, required: bool) -> Result<Option<String>, InsuredError> {
    let s = normalised(field, s)?;
    let t = s.trim_matches(|c: char| c == ' ' || c == '\u{3000}');
    if t.is_empty() {
        return if required {
            Err(InsuredError::Empty { field })
        } else {
            Ok(None)
        };
    }
    let n = t.chars().count();
    if n > MAX_SYMBOL_NUMBER_CHARS {
        return Err(InsuredError::TooLong {
            field,
            max: MAX_SYMBOL_NUMBER_CHARS,
            found: n,
        });
    }
    if t.chars().any(char::is_control) {
        return Err(InsuredError::Control { field });
    }
    // The store's canonical form of a person (store::keyed) separates the parts with '|':
    // refused here (as the API's pattern does), no two identities write the same form.
    if t.contains(SEPARATOR) {
        return Err(InsuredError::Separator { field });
    }
    Ok(Some(t.to_owned()))
}

/// The insured person: 保険者番号, 記号, 番号, 枝番, 生年月日. Hashable: it keys the stand-ins held
/// in memory (the cache of answers holds a keyed hash instead), and its text is one allocation
/// (the parts one after another).
///
/// Personal data: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InsuredIdentity {
    /// 保険者番号, 記号 (empty when none), 番号, 枝番 (empty when none), normalised.
    parts: Box<str>,
    /// Where 保険者番号, 記号 and 番号 end in `parts`.
    ends: [u16; 3],
    birthdate: NaiveDate,
}

impl InsuredIdentity {
    pub fn new(
        insurer_number: &str,
        symbol: Option<&str>,
        number: &str,
        branch: Option<&str>,
        birthdate: NaiveDate,
    ) -> Result<Self, InsuredError> {
        let insurer_number = InsurerNumber::parse(&normalised("insurer_number", insurer_number)?)
            .map_err(InsuredError::Insurer)?;
        let symbol = match symbol {
            Some(s) => text("symbol", s, false)?,
            None => None,
        };
        let number = text("number", number, true)?.expect("required");
        let branch = branch.map(|b| normalised("branch", b)).transpose()?;
        let branch = match branch.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b) if b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()) => Some(b.to_owned()),
            Some(_) => return Err(InsuredError::Branch),
        };
        let mut parts = String::from(insurer_number.as_str());
        // Each part is at most 40 characters (160 bytes): the ends fit in u16.
        let end = |p: &String| u16::try_from(p.len()).expect("at most 3 x 160 bytes");
        let insurer_end = end(&parts);
        parts.push_str(symbol.as_deref().unwrap_or(""));
        let symbol_end = end(&parts);
        parts.push_str(&number);
        let number_end = end(&parts);
        parts.push_str(branch.as_deref().unwrap_or(""));
        Ok(Self {
            parts: parts.into_boxed_str(),
            ends: [insurer_end, symbol_end, number_end],
            birthdate,
        })
    }

    fn part(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => usize::from(self.ends[i - 1]),
        };
        let end = self
            .ends
            .get(i)
            .map_or(self.parts.len(), |e| usize::from(*e));
        &self.parts[start..end]
    }

    /// 保険者番号 (6 or 8 digits, checked when the identity was made).
    pub fn insurer_number(&self) -> &str {
        self.part(0)
    }
    pub fn symbol(&self) -> Option<&str> {
        Some(self.part(1)).filter(|s| !s.is_empty())
    }
    pub fn number(&self) -> &str {
        self.part(2)
    }
    pub fn branch(&self) -> Option<&str> {
        Some(self.part(3)).filter(|s| !s.is_empty())
    }
    pub fn birthdate(&self) -> NaiveDate {
        self.birthdate
    }
}

impl fmt::Debug for InsuredIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InsuredIdentity(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bd() -> NaiveDate {
        NaiveDate::from_ymd_opt(2001, 3, 27).unwrap()
    }

    #[test]
    fn full_width_forms_are_one_person_and_invisible_characters_are_refused() {
        let ascii =
            InsuredIdentity::new("06139999", Some("AB12"), "4260", Some("01"), bd()).unwrap();
        let wide = InsuredIdentity::new(
            "０６１３９９９９",
            Some("ＡＢ１２"),
            "４２６０",
            Some("０１"),
            bd(),
        )
        .unwrap();
        assert_eq!(ascii, wide);
        let kana = InsuredIdentity::new("06139999", Some("ｺｸﾎ"), "1", None, bd()).unwrap();
        assert_eq!(kana.symbol(), Some("コクホ"));
        for bad in ["42\u{200B}60", "\u{202E}4260", "4260\u{FEFF}"] {
            assert_eq!(
                InsuredIdentity::new("06139999", None, bad, None, bd()).unwrap_err(),
                InsuredError::Invisible { field: "number" }
            );
        }
        assert_eq!(
            InsuredIdentity::new("0613\u{200D}9999", None, "1", None, bd()).unwrap_err(),
            InsuredError::Invisible {
                field: "insurer_number"
            }
        );
    }

    #[test]
    fn identity_normalises_padding_and_rejects_bad_parts() {
        let a = InsuredIdentity::new("  123456", Some("12-34"), "4260", Some("01"), bd()).unwrap();
        let b = InsuredIdentity::new("123456", Some(" 12-34 "), "4260 ", Some("01"), bd()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.insurer_number(), "123456");
        assert_eq!(a.symbol(), Some("12-34"));
        assert_eq!(a.number(), "4260");
        assert_eq!(a.branch(), Some("01"));
        let bare = InsuredIdentity::new("06139999", None, "4260", None, bd()).unwrap();
        assert_eq!(
            (
                bare.insurer_number(),
                bare.symbol(),
                bare.number(),
                bare.branch()
            ),
            ("06139999", None, "4260", None)
        );
        // Where one part ends and the next begins is part of the identity.
        assert_ne!(
            InsuredIdentity::new("123456", Some("1"), "23", None, bd()).unwrap(),
            InsuredIdentity::new("123456", Some("12"), "3", None, bd()).unwrap()
        );
        assert_eq!(format!("{a:?}"), "InsuredIdentity(<redacted>)");
        assert_eq!(
            InsuredIdentity::new("123456", None, " ", None, bd()).unwrap_err(),
            InsuredError::Empty { field: "number" }
        );
        assert_eq!(
            InsuredIdentity::new("123456", None, "1", Some("1"), bd()).unwrap_err(),
            InsuredError::Branch
        );
        assert!(matches!(
            InsuredIdentity::new("12345", None, "1", None, bd()).unwrap_err(),
            InsuredError::Insurer(_)
        ));
        // '|' (or its full-width form) would let two persons share the store's canonical form:
        // symbol "1|2" + number "3" against symbol "1" + number "2|3".
        for (symbol, number, field) in [(Some("1|2"), "3", "symbol"), (Some("1"), "2｜3", "number")]
        {
            assert_eq!(
                InsuredIdentity::new("123456", symbol, number, None, bd()).unwrap_err(),
                InsuredError::Separator { field }
            );
        }
        let long = "あ".repeat(41);
        assert!(matches!(
            InsuredIdentity::new("123456", Some(&long), "1", None, bd()).unwrap_err(),
            InsuredError::TooLong {
                field: "symbol",
                ..
            }
        ));
    }
}
