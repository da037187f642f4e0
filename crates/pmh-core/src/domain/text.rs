//! Text from outside (a caller, a file, an answer) made safe to compare, key and show: NFKC
//! normalisation (full-width digits and letters to ASCII, half-width kana to full-width), the
//! invisible characters that can make two equal-looking values differ, and values shortened to
//! printable ASCII for a message.

use unicode_normalization::UnicodeNormalization;

/// Zero-width and bidirectional control characters (and the soft hyphen, the BOM and the
/// interlinear annotation marks): invisible, and able to make a text read otherwise than it is.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// NFKC: `０６１３` → `0613`, `ＡＢ` → `AB`, `ｱｲ` → `アイ`; the ideographic space to a space.
pub fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

/// Text from outside (a file name, a reason that quotes a file) made safe for a log line, a
/// record or an answer: control characters (C0 with ESC, DEL, C1), and the invisible format
/// characters that can reorder or hide text (bidi controls, zero-width), are written as
/// `\u{…}`, and so is a backslash that could be read as the start of one.
pub fn escape_text(text: &str) -> std::borrow::Cow<'_, str> {
    escaped(text, |c| {
        c.is_control() || c == '\\' || is_invisible_format(c)
    })
}

/// A message that should hold no control character (its values were quoted with [`quoted`]),
/// checked once more before it reaches a log or a file: any control or invisible format
/// character left is written as `\u{…}` (a backslash is left as it is, so that text escaped
/// already is not escaped twice).
pub fn without_controls(text: &str) -> std::borrow::Cow<'_, str> {
    escaped(text, |c| c.is_control() || is_invisible_format(c))
}

/// `text` with each character `bad` says as `\u{…}`.
fn escaped(text: &str, bad: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    if !text.chars().any(&bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A value quoted from a file or an answer into a message (an element or entity name, a code):
/// escaped as [`escape_text`] and cut to `max` characters, so that a crafted value can neither
/// forge a log line nor fill one.
pub fn quoted(value: &str, max: usize) -> String {
    let mut out: String = escape_text(value).chars().take(max).collect();
    if out.len() < escape_text(value).len() {
        out.push('…');
    }
    out
}

/// A value from an untrusted file or answer that is not personal (a code, a status), made safe
/// for a message: at most `max` characters, anything but printable ASCII as `?`.
pub fn printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_half_width_forms_fold() {
        assert_eq!(nfkc("０６１３９９９９"), "06139999");
        assert_eq!(nfkc("ＡＢｃ－１"), "ABc-1");
        assert_eq!(nfkc("ｱｲｳ"), "アイウ");
        assert_eq!(nfkc("国保"), "国保");
        assert!(is_invisible_format('\u{200B}') && is_invisible_format('\u{202E}'));
        assert!(!is_invisible_format('a') && !is_invisible_format('　'));
        assert_eq!(printable("AB\u{1b}C", 2), "AB…");
        assert_eq!(printable("A\u{1b}", 5), "A?");
    }
}
