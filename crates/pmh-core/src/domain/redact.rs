//! Personal values in `Debug` output: a type that holds a recipient number, an insurance identity,
//! a birthdate or a certificate's face items writes `<redacted>` in their place, so that a `{:?}`
//! in a log line, a panic message or a test failure never shows them.

use std::fmt;

/// Stands in for a personal value in a `Debug` struct: `<redacted>` when there is one, `None`
/// when an optional value is absent, `[<redacted>; n]` for a list.
pub enum Redacted {
    Present,
    Absent,
    List(usize),
}

impl Redacted {
    pub fn opt<T>(v: &Option<T>) -> Self {
        if v.is_some() {
            Self::Present
        } else {
            Self::Absent
        }
    }

    pub fn list<T>(v: &[T]) -> Self {
        Self::List(v.len())
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present => f.write_str("<redacted>"),
            Self::Absent => f.write_str("None"),
            Self::List(n) => write!(f, "[<redacted>; {n}]"),
        }
    }
}
