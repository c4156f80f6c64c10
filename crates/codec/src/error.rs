//! The codec's error type.

use crate::json::SyntaxError;
use thiserror::Error;

/// Why a record could not be decoded or encoded.
///
/// Every variant is a *definite* error about the input (retrying the same bytes gives the
/// same error); none is internal. Messages name the field and, through [`DecodeError`], the
/// record's position so the user can find the bad record.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes are not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}: DMS records are UTF-8 JSON")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The text is not valid JSON.
    #[error("malformed JSON: {0}")]
    Syntax(#[from] SyntaxError),
    /// A required field is missing.
    #[error("missing required field `{field}`")]
    MissingField {
        /// Dotted path of the field, e.g. `metadata.operation`.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// Dotted path of the field.
        field: String,
        /// The JSON type the DMS format requires.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A field's value is invalid (for example, a number out of range).
    #[error("field `{field}` is invalid: {reason}")]
    InvalidValue {
        /// Dotted path of the field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Base64 in a Kinesis envelope (`Data`) did not decode.
    #[error("field `{field}` is not valid base64: {reason}")]
    Base64 {
        /// The envelope field.
        field: String,
        /// The decoder's explanation.
        reason: String,
    },
    /// The input holds no record at all.
    #[error("no DMS record found in the input")]
    Empty,
}

impl CodecError {
    /// Always false: codec errors are about the input and do not go away on retry.
    pub fn is_retryable(&self) -> bool {
        false
    }

    pub(crate) fn wrong_type(
        field: impl Into<String>,
        expected: &'static str,
        found: &crate::Value,
    ) -> Self {
        CodecError::WrongType {
            field: field.into(),
            expected,
            found: found.kind(),
        }
    }
}

/// A [`CodecError`] with the position of the record in a multi-record input.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("record #{index} (byte {offset}): {source}")]
pub struct DecodeError {
    /// 1-based index of the record in the input.
    pub index: usize,
    /// Byte offset where the record starts.
    pub offset: usize,
    /// What went wrong.
    #[source]
    pub source: CodecError,
}
