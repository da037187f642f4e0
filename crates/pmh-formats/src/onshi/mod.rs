//! オン資 (online eligibility) XML: the result messages the terminal drops into its shared folder
//! (`face`, `res`) and the request messages the gateway writes (`req`), as the オンライン資格確認
//! 連携アプリケーション's file interface defines them (資格確認端末 外部インターフェイス仕様).
//!
//! `decode` turns bytes into text by the declared encoding (UTF-8 or Shift_JIS, honouring the XML
//! declaration and `CharacterCodeIdentifier`); `tree` builds a bounded element tree with
//! quick-xml; `result` extracts what the gateway uses; `request` writes requests; `pmh_block` holds
//! the element names of the provisional PMH block.
//!
//! Invariants: pure (bytes in, values out; no I/O); never panics on any input (a property test
//! and a fuzz target check it); errors name the element path or byte offset, never a personal
//! value; names, addresses and other personal items the gateway does not need are not read.

mod decode;
pub mod pmh_block;
mod request;
mod result;
pub mod tree;

pub use decode::{Charset, encode};
pub use request::QualificationRequest;
pub use result::{OnshiResult, Qualification};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnshiError {
    #[error("encoding `{0}` is not supported (UTF-8 or Shift_JIS)")]
    UnsupportedEncoding(String),
    #[error("bytes at offset {offset} are not valid {encoding}")]
    Undecodable {
        encoding: &'static str,
        offset: usize,
    },
    #[error("a character cannot be written in {0}")]
    Unencodable(&'static str),
    #[error("the file is too large ({0} bytes)")]
    TooLarge(usize),
    #[error("not well-formed XML at offset {offset}: {reason}")]
    Syntax { offset: usize, reason: String },
    #[error("elements nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooMany(usize),
    #[error("the root element is <{0}>, not <XmlMsg>")]
    WrongRoot(String),
    #[error("required element {0} is missing")]
    Missing(&'static str),
    #[error("the result reports an error (SegmentOfResult 9, code {code})")]
    ResultError { code: String },
}

impl OnshiError {
    /// Whether a file still being written could give this error (a cut-off document or a
    /// character cut in half); such a file is read again once it has stopped changing.
    pub fn could_be_partial(&self) -> bool {
        matches!(self, Self::Syntax { .. } | Self::Undecodable { .. })
    }
}

#[cfg(test)]
mod tests;
