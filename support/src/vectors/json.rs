//! Reading and writing the vector JSON.
//!
//! Reading goes through `serde_json::Value` with accessors that name the missing or malformed
//! field. Writing uses a small ordered value type, so that fields come out in the order of
//! VECTORS.md and the layout is that of the published files: one case field per line, one
//! message or event per line.

use serde_json::{Map, Value};

/// A JSON value to write, with object fields in insertion order.
#[derive(Clone, Debug)]
pub(crate) enum J {
    Null,
    Bool(bool),
    Num(u64),
    Str(String),
    Arr(Vec<J>),
    Obj(Fieldset),
}

/// The fields of an object to write, in order.
pub(crate) type Fieldset = Vec<(&'static str, J)>;

/// Lowercase hex of `bytes`, as a JSON string.
pub(crate) fn hexj(bytes: &[u8]) -> J {
    J::Str(hex::encode(bytes))
}

/// A JSON string.
pub(crate) fn s(text: &str) -> J {
    J::Str(text.to_owned())
}

fn escape(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One-line rendering: `{"a": 1, "b": [2, 3]}`.
pub(crate) fn compact(value: &J, out: &mut String) {
    match value {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(&n.to_string()),
        J::Str(text) => escape(text, out),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                compact(item, out);
            }
            out.push(']');
        }
        J::Obj(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                escape(key, out);
                out.push_str(": ");
                compact(item, out);
            }
            out.push('}');
        }
    }
}

/// Writes `fields` as an object with one field per line at `indent`. A field whose value is a
/// non-empty array is written one element per line, each element by `element`.
fn block(
    fields: &[(&'static str, J)],
    indent: usize,
    element: &dyn Fn(&J, usize, &mut String),
    out: &mut String,
) {
    let pad = " ".repeat(indent);
    out.push_str("{\n");
    for (i, (key, value)) in fields.iter().enumerate() {
        out.push_str(&pad);
        out.push_str("  ");
        escape(key, out);
        out.push_str(": ");
        match value {
            J::Arr(items) if !items.is_empty() && items.iter().all(|x| matches!(x, J::Obj(_))) => {
                out.push_str("[\n");
                for (k, item) in items.iter().enumerate() {
                    element(item, indent + 4, out);
                    out.push_str(if k + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad);
                out.push_str("  ]");
            }
            _ => compact(value, out),
        }
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str(&pad);
    out.push('}');
}

fn line(value: &J, indent: usize, out: &mut String) {
    out.push_str(&" ".repeat(indent));
    compact(value, out);
}

fn case(value: &J, indent: usize, out: &mut String) {
    out.push_str(&" ".repeat(indent));
    match value {
        J::Obj(fields) => block(fields, indent, &line, out),
        other => compact(other, out),
    }
}

/// The whole file: top-level fields one per line, cases one field per line, messages and
/// events one per line.
pub(crate) fn layout(top: &[(&'static str, J)]) -> String {
    let mut out = String::new();
    block(top, 0, &case, &mut out);
    out.push('\n');
    out
}

/// Read access to one JSON object, with errors that name the field.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a>(pub(crate) &'a Map<String, Value>);

/// Decodes lowercase hex.
pub(crate) fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("hex is not lowercase".into());
    }
    hex::decode(text).map_err(|e| format!("bad hex: {e}"))
}

impl<'a> Fields<'a> {
    pub(crate) fn of(value: &'a Value, what: &str) -> Result<Self, String> {
        value.as_object().map(Fields).ok_or_else(|| format!("{what} is not an object"))
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub(crate) fn get(&self, key: &str) -> Result<&'a Value, String> {
        self.0.get(key).ok_or_else(|| format!("missing field {key}"))
    }

    pub(crate) fn obj(&self, key: &str) -> Result<Fields<'a>, String> {
        Fields::of(self.get(key)?, key)
    }

    pub(crate) fn arr(&self, key: &str) -> Result<&'a Vec<Value>, String> {
        self.get(key)?.as_array().ok_or_else(|| format!("{key} is not an array"))
    }

    pub(crate) fn str(&self, key: &str) -> Result<&'a str, String> {
        self.get(key)?.as_str().ok_or_else(|| format!("{key} is not a string"))
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, String> {
        if self.has(key) {
            self.str(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn u64(&self, key: &str) -> Result<u64, String> {
        self.get(key)?.as_u64().ok_or_else(|| format!("{key} is not a non-negative integer"))
    }

    pub(crate) fn u32(&self, key: &str) -> Result<u32, String> {
        u32::try_from(self.u64(key)?).map_err(|_| format!("{key} does not fit in 32 bits"))
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| format!("{key} is not a boolean")),
        }
    }

    pub(crate) fn bytes(&self, key: &str) -> Result<Vec<u8>, String> {
        unhex(self.str(key)?).map_err(|e| format!("{key}: {e}"))
    }

    pub(crate) fn array<const N: usize>(&self, key: &str) -> Result<[u8; N], String> {
        let bytes = self.bytes(key)?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| format!("{key} is {} bytes, not {N}", bytes.len()))
    }

    /// A field that must be present and may be `null`.
    pub(crate) fn nullable<const N: usize>(&self, key: &str) -> Result<Option<[u8; N]>, String> {
        if self.get(key)?.is_null() {
            Ok(None)
        } else {
            self.array(key).map(Some)
        }
    }

    /// An informative field: `None` when absent, `Some(None)` when `null`.
    pub(crate) fn informative<const N: usize>(&self, key: &str) -> Result<Option<Option<[u8; N]>>, String> {
        if self.has(key) {
            self.nullable(key).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// `Err("{what}: vector has …, library gives …")` unless the two byte strings are equal.
pub(crate) fn same(what: &str, expected: &[u8], got: &[u8]) -> Result<(), String> {
    if expected == got {
        return Ok(());
    }
    let mut reason = format!("{what}: vector has {}, library gives {}", short(expected), short(got));
    if expected.len() > 32 || got.len() > 32 {
        let at = expected.iter().zip(got).position(|(a, b)| a != b).unwrap_or(expected.len().min(got.len()));
        reason.push_str(&format!(" (first difference at byte {at})"));
    }
    Err(reason)
}

/// A byte string for a message: whole when short, else its length and first bytes.
fn short(bytes: &[u8]) -> String {
    if bytes.len() <= 32 {
        hex::encode(bytes)
    } else {
        format!("{}… ({} bytes)", hex::encode(&bytes[..16]), bytes.len())
    }
}
