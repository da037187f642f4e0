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
