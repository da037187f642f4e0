//! Bytes → text: the encoding an オン資 file declares, decoded strictly. Undecodable bytes are an
//! error naming the byte offset, never a replacement character and never a panic.

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_8};

use super::OnshiError;
use pmh_core::domain::text::quoted;

/// The two encodings オン資 uses (`CharacterCodeIdentifier` 0 / 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    ShiftJis,
}

impl Charset {
    pub fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Utf8 => UTF_8,
            Charset::ShiftJis => SHIFT_JIS,
        }
    }

    /// The XML declaration's name.
    pub fn xml_name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::ShiftJis => "Shift_JIS",
        }
    }

    /// `CharacterCodeIdentifier`.
    pub fn identifier(self) -> &'static str {
        match self {
            Charset::Utf8 => "0",
            Charset::ShiftJis => "1",
        }
    }
}

/// The encoding named in the XML declaration, if there is a declaration with one.
fn declared(bytes: &[u8]) -> Result<Option<Charset>, OnshiError> {
    let head = &bytes[..bytes.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return Ok(None);
    }
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return Ok(None);
    };
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let Some(at) = decl.find("encoding") else {
        return Ok(None);
    };
    let rest = decl[at + "encoding".len()..].trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let Some(q) = quote else {
        return Ok(None);
    };
    let name: String = rest[1..].chars().take_while(|c| *c != q).collect();
    match name.as_str() {
        "utf-8" | "utf8" => Ok(Some(Charset::Utf8)),
        "shift_jis" | "shift-jis" | "sjis" | "windows-31j" | "cp932" | "ms932" | "x-sjis" => {
            Ok(Some(Charset::ShiftJis))
        }
        other => Err(OnshiError::UnsupportedEncoding(quoted(other, 32))),
    }
}

/// `<CharacterCodeIdentifier>1</…>` found in the raw bytes (ASCII in both encodings).
fn identified(bytes: &[u8]) -> Option<Charset> {
    const TAG: &[u8] = b"<CharacterCodeIdentifier>";
    let at = bytes.windows(TAG.len()).position(|w| w == TAG)?;
    match bytes
        .get(at + TAG.len()..)?
        .iter()
        .find(|b| !b.is_ascii_whitespace())?
    {
        b'0' => Some(Charset::Utf8),
        b'1' => Some(Charset::ShiftJis),
        _ => None,
    }
}

/// Decodes `bytes`: the declaration's encoding, else `CharacterCodeIdentifier`, else UTF-8. A
/// UTF-8 byte-order mark is skipped.
pub fn decode(bytes: &[u8]) -> Result<(String, Charset), OnshiError> {
    let (bytes, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let charset = match declared(bytes)? {
        Some(c) => c,
        None if bom => Charset::Utf8,
        None => identified(bytes).unwrap_or(Charset::Utf8),
    };
    let mut decoder = charset.encoding().new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or(OnshiError::TooLarge(bytes.len()))?;
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok((out, charset)),
        DecoderResult::Malformed(bad, after) => {
            let offset = read - usize::from(bad) - usize::from(after) + usize::from(bom) * 3;
            Err(OnshiError::Undecodable {
                encoding: charset.xml_name(),
                offset,
            })
        }
        DecoderResult::OutputFull => Err(OnshiError::TooLarge(bytes.len())),
    }
}

/// Encodes a request in `charset`; a character the encoding cannot hold is an error.
pub fn encode(text: &str, charset: Charset) -> Result<Vec<u8>, OnshiError> {
    let (bytes, _, unmappable) = charset.encoding().encode(text);
    if unmappable {
        return Err(OnshiError::Unencodable(charset.xml_name()));
    }
    Ok(bytes.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_identifier_and_default() {
        let sjis = encode(
            "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>診療</a>",
            Charset::ShiftJis,
        )
        .unwrap();
        assert_eq!(
            decode(&sjis).unwrap(),
            (
                "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>診療</a>".into(),
                Charset::ShiftJis
            )
        );
        let no_decl = encode(
            "<a><CharacterCodeIdentifier>1</CharacterCodeIdentifier>診療</a>",
            Charset::ShiftJis,
        )
        .unwrap();
        assert_eq!(decode(&no_decl).unwrap().1, Charset::ShiftJis);
        assert_eq!(decode("<a>x</a>".as_bytes()).unwrap().1, Charset::Utf8);
        assert!(matches!(
            decode(b"<?xml version='1.0' encoding='EUC-JP'?><a/>"),
            Err(OnshiError::UnsupportedEncoding(e)) if e == "euc-jp"
        ));
    }

    #[test]
    fn undecodable_bytes_name_their_offset() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>".to_vec();
        let at = bytes.len();
        bytes.extend_from_slice(&[0xFF, b'<', b'/', b'a', b'>']);
        match decode(&bytes) {
            Err(OnshiError::Undecodable { encoding, offset }) => {
                assert_eq!((encoding, offset), ("UTF-8", at));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            encode("😀", Charset::ShiftJis),
            Err(OnshiError::Unencodable(_))
        ));
    }
}
