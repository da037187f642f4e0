//! Who a check-in is, as the オン資 result names them: the name in kanji and kana, the sex and
//! the birthdate, for the clerk to match the person at the counter. Shown to signed-in
//! reception sessions only; kept sealed with the check-in and never logged (`Debug` writes
//! `<redacted>`).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The most characters of a name kept (the result file's fields are far shorter).
const MAX_NAME: usize = 100;

/// `Sex1` of the result: 1 男, 2 女, 3 未設定 (any other code is kept as "not given").
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
    NotGiven,
}

impl Sex {
    /// From the result's `Sex1` code.
    pub fn from_code(code: &str) -> Self {
        match code.trim() {
            "1" => Self::Male,
            "2" => Self::Female,
            _ => Self::NotGiven,
        }
    }

    /// As the clerk reads it.
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Male => "男",
            Self::Female => "女",
            Self::NotGiven => "未設定",
        }
    }
}

/// The person a check-in names.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientDetails {
    /// `Name` as the file gives it (characters outside JIS the terminal marks, e.g. ●, kept).
    pub name: Option<String>,
    /// `NameKana` as the file gives it (often half-width katakana).
    pub kana: Option<String>,
    pub sex: Option<Sex>,
    pub birthdate: NaiveDate,
}

impl PatientDetails {
    /// From the result's fields: names kept as they come, except control characters (which
    /// no name holds) and anything past [`MAX_NAME`] characters; empty fields are absent.
    pub fn new(
        name: Option<&str>,
        kana: Option<&str>,
        sex: Option<&str>,
        birthdate: NaiveDate,
    ) -> Self {
        let clean = |s: Option<&str>| {
            s.map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_NAME)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|s| !s.is_empty())
        };
        Self {
            name: clean(name),
            kana: clean(kana),
            sex: sex.map(Sex::from_code),
            birthdate,
        }
    }

    /// The kana folded for a search (the page's filter folds what is typed the same way):
    /// half-width katakana to full-width, hiragana to katakana, spaces removed — so ｻﾝﾄﾞ, サンド and さんど find the same person.
    pub fn search_kana(s: &str) -> String {
        fold_kana(s)
    }
}

impl fmt::Debug for PatientDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientDetails(<redacted>)")
    }
}

impl fmt::Debug for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// NFKC (half-width katakana to full-width, the voiced marks combined), hiragana as katakana,
/// spaces dropped.
fn fold_kana(s: &str) -> String {
    super::text::nfkc(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            // ぁ (U+3041) … ゖ (U+3096) → ァ … ヶ.
            '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> NaiveDate {
        NaiveDate::from_ymd_opt(1980, 4, 1).unwrap()
    }

    #[test]
    fn names_are_kept_as_they_come_and_never_debugged() {
        let p = PatientDetails::new(Some("髙●　花子"), Some("ﾀｶ ﾊﾅｺ"), Some("2"), d());
        assert_eq!(p.name.as_deref(), Some("髙●　花子"));
        assert_eq!(p.kana.as_deref(), Some("ﾀｶ ﾊﾅｺ"));
        assert_eq!(p.sex, Some(Sex::Female));
        assert_eq!(format!("{p:?}"), "PatientDetails(<redacted>)");
        let p = PatientDetails::new(Some("a\u{1b}[31m\nb"), Some(" "), Some("9"), d());
        assert_eq!(p.name.as_deref(), Some("a[31mb"));
        assert_eq!(p.kana, None);
        assert_eq!(p.sex.map(Sex::label_ja), Some("未設定"));
    }

    #[test]
    fn kana_folds_widths_voicing_and_hiragana() {
        assert_eq!(
            PatientDetails::search_kana("ｻﾝﾄﾞﾎﾞｯｸｽ ｶﾝｼﾞｬ"),
            "サンドボックスカンジャ"
        );
        assert_eq!(
            PatientDetails::search_kana("さんど ぼっくす"),
            "サンドボックス"
        );
        assert_eq!(PatientDetails::search_kana("ﾊﾟﾋﾟﾌﾟ ｳﾞ"), "パピプヴ");
    }
}
