//! Bad numbers in NDJSON input, said plainly. pbjson reads a number field
//! from a JSON number or a string; anything else fails with
//! "data did not match any variant of untagged enum Content", and a string
//! that is no number with Rust's "invalid digit found in string". This
//! module finds the value the field held and says what was expected:
//! "expected a whole number, got \"abc\"" (in Vietnamese by default).

use serde_path_to_error::{Path, Segment};

use crate::i18n::Lang;

/// The longest quoted value, in characters.
const MAX_SHOWN: usize = 40;

/// A number field that held something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadNumber {
    /// Not a whole number at all; the value as JSON.
    NotWhole(String),
    /// A whole number, but not one the field can hold (negative, too large).
    OutOfRange(String),
}

impl BadNumber {
    /// The reason in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        match (self, lang) {
            (BadNumber::NotWhole(v), Lang::Vi) => {
                format!("cần một số nguyên, nhưng nhận được {v}")
            }
            (BadNumber::NotWhole(v), Lang::En) => format!("expected a whole number, got {v}"),
            (BadNumber::OutOfRange(v), Lang::Vi) => {
                format!("số {v} nằm ngoài khoảng trường này cho phép")
            }
            (BadNumber::OutOfRange(v), Lang::En) => {
                format!("the number {v} is out of the range this field allows")
            }
        }
    }
}

/// What serde and pbjson say about a number field that could not be read.
fn is_number_message(message: &str) -> bool {
    [
        "did not match any variant of untagged enum Content",
        "invalid digit found in string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "cannot parse integer from empty string",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// The value at `path` in `value`.
fn at<'v>(value: &'v serde_json::Value, path: &Path) -> Option<&'v serde_json::Value> {
    let mut v = value;
    for seg in path.iter() {
        v = match seg {
            Segment::Seq { index } => v.get(*index)?,
            Segment::Map { key } | Segment::Enum { variant: key } => v.get(key.as_str())?,
            Segment::Unknown => return None,
        };
    }
    Some(v)
}

/// The bad number behind `message` at `path` of the JSON `line`, if that is
/// what went wrong.
pub fn explain(line: &str, path: &Path, message: &str) -> Option<BadNumber> {
    if !is_number_message(message) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let v = at(&value, path)?;
    let whole = match v {
        // A literal too large for 64 bits arrives as a float.
        serde_json::Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() >= 9.2e18)
        }
        serde_json::Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    };
    let mut shown = v.to_string();
    if let Some((cut, _)) = shown.char_indices().nth(MAX_SHOWN) {
        shown.truncate(cut);
        shown.push('…');
    }
    Some(if whole {
        BadNumber::OutOfRange(shown)
    } else {
        BadNumber::NotWhole(shown)
    })
}
