//! A small JSON reader and writer, enough for plugins: no decoding into Rust values, no
//! allocation to read.
//!
//! A [`Value`] is a span of the input, found by scanning: reading a member costs a scan of the
//! object up to it, and a plugin can copy everything it does not change byte for byte. The
//! reader is lenient: strings are delimited but their contents not validated, and on a value of
//! another kind, or on malformed JSON, the accessors return `None` or an empty iteration rather
//! than panicking. The host only ever sends valid JSON.
//!
//! The writer functions append JSON to a `Vec<u8>`.

use std::borrow::Cow;
use std::ops::Range;

/// Past this nesting depth a value counts as malformed, so a hostile document cannot exhaust
/// the stack.
const MAX_DEPTH: u32 = 512;

// Strings are scanned and escaped eight bytes at a time (SWAR, SIMD within a register): a
// plugin's input is mostly the text of strings, which the reader passes over several times. A
// flagged word may be a false positive; the byte-by-byte path then decides.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn has_zero(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

#[inline(always)]
fn has_byte(x: u64, b: u8) -> u64 {
    has_zero(x ^ (ONES * b as u64))
}

#[inline(always)]
fn has_less(x: u64, b: u8) -> u64 {
    x.wrapping_sub(ONES * b as u64) & !x & HIGHS
}

#[inline(always)]
fn word(s: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(w)
}

/// The type of a JSON value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Empty, or not JSON.
    Invalid,
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

#[inline]
fn ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Returns the index just past the string that starts with the quote at `s[i]`.
#[inline]
fn skip_string(s: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        while i + 8 <= s.len() {
            let x = word(s, i);
            if has_byte(x, b'"') | has_byte(x, b'\\') != 0 {
                break;
            }
            i += 8;
        }
        match s.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Returns the index just past the value that starts at `s[i]` (after spaces).
fn skip_value(s: &[u8], i: usize, depth: u32) -> Option<usize> {
    let mut i = ws(s, i);
    if depth > MAX_DEPTH {
        return None;
    }
    let c = *s.get(i)?;
    match c {
        b'"' => skip_string(s, i),
        b'{' | b'[' => {
            let close = if c == b'{' { b'}' } else { b']' };
            i = ws(s, i + 1);
            if s.get(i) == Some(&close) {
                return Some(i + 1);
            }
            loop {
                if c == b'{' {
                    if s.get(i) != Some(&b'"') {
                        return None;
                    }
                    i = ws(s, skip_string(s, i)?);
                    if s.get(i) != Some(&b':') {
                        return None;
                    }
                    i += 1;
                }
                i = ws(s, skip_value(s, i, depth + 1)?);
                match *s.get(i)? {
                    b if b == close => return Some(i + 1),
                    b',' => i = ws(s, i + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            // a number or a literal: up to the next delimiter
            let start = i;
            while i < s.len()
                && !matches!(
                    s[i],
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':' | b'"'
                )
            {
                i += 1;
            }
            if i > start {
                Some(i)
            } else {
                None
            }
        }
    }
}

/// One raw JSON value: a span of the document it was read from, never copied.
///
/// Values from [`Value::get`], [`Value::members`] and [`Value::elements`] span exactly their
/// value, without the spaces around it. A value is valid as long as its document is: for a
/// role's input, until the role function returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a [u8],
}

impl std::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value({})", String::from_utf8_lossy(self.raw))
    }
}

impl<'a> Value<'a> {
    /// The JSON `null`.
    pub const NULL: Value<'static> = Value { raw: b"null" };

    /// Wraps the bytes of a JSON document.
    #[inline]
    pub const fn new(raw: &'a [u8]) -> Value<'a> {
        Value { raw }
    }

    /// The value's bytes, as they were in the document.
    #[inline]
    pub fn raw(self) -> &'a [u8] {
        self.raw
    }

    /// The value's type, from its first byte.
    pub fn kind(self) -> Kind {
        let i = ws(self.raw, 0);
        match self.raw.get(i) {
            Some(b'"') => Kind::String,
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            _ => Kind::Invalid,
        }
    }

    /// Reports whether the value is `null`, empty or not JSON.
    pub fn is_null(self) -> bool {
        matches!(self.kind(), Kind::Null | Kind::Invalid)
    }

    /// The member `key` of an object; `None` when it is absent or the value is no object.
    pub fn get(self, key: &str) -> Option<Value<'a>> {
        self.members().find(|(k, _)| k.is(key)).map(|(_, v)| v)
    }

    /// Follows keys through nested objects: `v.path(&["a", "b"])` is `v.get("a")?.get("b")`.
    pub fn path(self, keys: &[&str]) -> Option<Value<'a>> {
        let mut v = self;
        for k in keys {
            v = v.get(k)?;
        }
        Some(v)
    }

    /// The members of an object, in order, as (key, value); nothing for another kind.
    pub fn members(self) -> Members<'a> {
        Members {
            s: self.raw,
            pos: 0,
        }
    }

    /// The elements of an array, in order; nothing for another kind.
    pub fn elements(self) -> Elements<'a> {
        Elements {
            s: self.raw,
            pos: 0,
        }
    }

    /// Reports whether the value is the JSON string `s`.
    pub fn is_str(self, s: &str) -> bool {
        let i = ws(self.raw, 0);
        if self.raw.get(i) != Some(&b'"') {
            return false;
        }
        match skip_string(self.raw, i) {
            Some(end) => key_is(&self.raw[i..end], s),
            None => false,
        }
    }

    /// A string value, unescaped (borrowed from the document when it has no escapes); `None`
    /// for another kind. Invalid UTF-8 becomes U+FFFD.
    pub fn str(self) -> Option<Cow<'a, str>> {
        let inner = self.string_contents()?;
        if !inner.contains(&b'\\') {
            return Some(String::from_utf8_lossy(inner));
        }
        let mut buf = Vec::with_capacity(inner.len());
        unescape(inner, &mut buf);
        Some(Cow::Owned(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }))
    }

    /// Appends a string value, unescaped, to `dst` and returns true; returns false, leaving
    /// `dst` alone, for another kind. The bytes are appended as they are, so they are valid
    /// UTF-8 only if the document's string was.
    pub fn unescape_into(self, dst: &mut Vec<u8>) -> bool {
        match self.string_contents() {
            Some(inner) => {
                unescape(inner, dst);
                true
            }
            None => false,
        }
    }

    /// The bytes between a string's quotes, escapes as written.
    fn string_contents(self) -> Option<&'a [u8]> {
        let i = ws(self.raw, 0);
        if self.raw.get(i) != Some(&b'"') {
            return None;
        }
        let end = skip_string(self.raw, i)?;
        Some(&self.raw[i + 1..end - 1])
    }

    /// The value's bytes without the spaces around it.
    fn trimmed(self) -> &'a [u8] {
        let start = ws(self.raw, 0);
        let mut end = self.raw.len();
        while end > start && matches!(self.raw[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
            end -= 1;
        }
        &self.raw[start..end]
    }

    /// An integer number; `None` for another kind, a fraction, an exponent or an overflow.
    pub fn as_i64(self) -> Option<i64> {
        let t = self.trimmed();
        let (neg, digits) = match t.first() {
            Some(b'-') => (true, &t[1..]),
            _ => (false, t),
        };
        if digits.is_empty() {
            return None;
        }
        let mut n: i64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            let d = (d - b'0') as i64;
            n = n.checked_mul(10)?;
            n = if neg {
                n.checked_sub(d)?
            } else {
                n.checked_add(d)?
            };
        }
        Some(n)
    }

    /// A number; `None` for another kind.
    pub fn as_f64(self) -> Option<f64> {
        let t = self.trimmed();
        match t.first() {
            Some(b'-' | b'0'..=b'9') => std::str::from_utf8(t).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// A boolean; `None` for another kind.
    pub fn as_bool(self) -> Option<bool> {
        match self.trimmed() {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    /// Reports whether the value is exactly one JSON value, spaces around it aside (strings
    /// delimited, not validated).
    pub fn is_valid(self) -> bool {
        match skip_value(self.raw, 0, 0) {
            Some(end) => ws(self.raw, end) == self.raw.len(),
            None => false,
        }
    }

    /// Where this value lies in `doc`, as a range of byte offsets: for a value read from `doc`,
    /// what to copy before and after it to replace it. `None` when it is not part of `doc`.
    pub fn range_in(self, doc: &[u8]) -> Option<Range<usize>> {
        let base = doc.as_ptr() as usize;
        let start = (self.raw.as_ptr() as usize).checked_sub(base)?;
        let end = start + self.raw.len();
        if end > doc.len() {
            return None;
        }
        Some(start..end)
    }
}

/// An object's key, as written in the document (with its quotes and escapes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    raw: &'a [u8],
}

impl std::fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", String::from_utf8_lossy(self.raw))
    }
}

impl<'a> Key<'a> {
    /// The key as written, quotes included: copy it to an output to keep the member's name.
    #[inline]
    pub fn raw(self) -> &'a [u8] {
        self.raw
    }

    /// Reports whether the key, unescaped, is `name`.
    #[inline]
    pub fn is(self, name: &str) -> bool {
        key_is(self.raw, name)
    }

    /// The key, unescaped.
    pub fn name(self) -> Cow<'a, str> {
        Value::new(self.raw).str().unwrap_or_default()
    }
}

/// Reports whether the quoted string `raw` is `name`: compared as written, and unescaped only
/// when it has escapes.
#[inline]
fn key_is(raw: &[u8], name: &str) -> bool {
    let inner = &raw[1..raw.len() - 1];
    if inner == name.as_bytes() {
        return true;
    }
    if !inner.contains(&b'\\') {
        return false;
    }
    let mut buf = Vec::with_capacity(inner.len());
    unescape(inner, &mut buf);
    buf == name.as_bytes()
}

/// Iterates over an object's members; see [`Value::members`].
#[derive(Clone)]
pub struct Members<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Key<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let mut i = self.pos;
        if i == 0 {
            i = ws(s, 0);
            if s.get(i) != Some(&b'{') {
                return None;
            }
            i += 1;
        }
        i = ws(s, i);
        if s.get(i) == Some(&b',') {
            i = ws(s, i + 1);
        }
        if s.get(i) != Some(&b'"') {
            self.pos = s.len();
            return None;
        }
        let kend = match skip_string(s, i) {
            Some(k) => k,
            None => {
                self.pos = s.len();
                return None;
            }
        };
        let key = Key { raw: &s[i..kend] };
        let colon = ws(s, kend);
        if s.get(colon) != Some(&b':') {
            self.pos = s.len();
            return None;
        }
        let vstart = ws(s, colon + 1);
        match skip_value(s, vstart, 1) {
            Some(vend) => {
                self.pos = vend;
                Some((key, Value::new(&s[vstart..vend])))
            }
            None => {
                self.pos = s.len();
                None
            }
        }
    }
}

/// Iterates over an array's elements; see [`Value::elements`].
#[derive(Clone)]
pub struct Elements<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let mut i = self.pos;
        if i == 0 {
            i = ws(s, 0);
            if s.get(i) != Some(&b'[') {
                return None;
            }
            i += 1;
        }
        i = ws(s, i);
        if s.get(i) == Some(&b',') {
            i = ws(s, i + 1);
        }
        if i >= s.len() || s[i] == b']' {
            self.pos = s.len();
            return None;
        }
        match skip_value(s, i, 1) {
            Some(end) => {
                self.pos = end;
                Some(Value::new(&s[i..end]))
            }
            None => {
                self.pos = s.len();
                None
            }
        }
    }
}

fn hex4(s: &[u8]) -> Option<u32> {
    let mut r = 0u32;
    for &c in &s[..4] {
        r = r << 4 | (c as char).to_digit(16)?;
    }
    Some(r)
}

fn push_utf8(dst: &mut Vec<u8>, r: u32) {
    let c = char::from_u32(r).unwrap_or('\u{fffd}');
    let mut b = [0u8; 4];
    dst.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
}

/// Appends the unescaped contents of a JSON string (without its quotes) to `dst`. A bad escape
/// or a lone surrogate becomes U+FFFD; other bytes are copied as they are.
fn unescape(s: &[u8], dst: &mut Vec<u8>) {
    dst.reserve(s.len());
    let n = s.len();
    let mut j = 0;
    while j < n {
        let k = match s[j..].iter().position(|&c| c == b'\\') {
            Some(p) => j + p,
            None => n,
        };
        dst.extend_from_slice(&s[j..k]);
        if k + 1 >= n {
            break;
        }
        let c = s[k + 1];
        j = k + 2;
        match c {
            b'b' => dst.push(8),
            b'f' => dst.push(12),
            b'n' => dst.push(b'\n'),
            b'r' => dst.push(b'\r'),
            b't' => dst.push(b'\t'),
            b'u' => {
                let mut r = if k + 6 <= n { hex4(&s[k + 2..]) } else { None };
                j = k + 6;
                if let Some(hi @ 0xd800..=0xdbff) = r {
                    if j + 6 <= n && s[j] == b'\\' && s[j + 1] == b'u' {
                        if let Some(lo @ 0xdc00..=0xdfff) = hex4(&s[j + 2..]) {
                            r = Some(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
                            j += 6;
                        }
                    }
                }
                push_utf8(dst, r.unwrap_or(0xfffd));
            }
            other => dst.push(other),
        }
    }
}

/// Appends `s` as a JSON string: quoted and escaped.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_utf8(out, s.as_bytes());
    out.push(b'"');
}

/// Appends the bytes `s` as a JSON string: quoted and escaped, each byte that is not part of
/// valid UTF-8 written as U+FFFD.
pub fn write_str_bytes(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                escape_utf8(out, rest);
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                escape_utf8(out, &rest[..good]);
                out.extend_from_slice(b"\\ufffd");
                rest = &rest[good + 1..];
            }
        }
    }
    out.push(b'"');
}

/// Appends valid UTF-8 with JSON's escapes: quote, backslash and control characters.
fn escape_utf8(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        if i + 8 <= s.len() {
            let x = word(s, i);
            if has_less(x, 0x20) | has_byte(x, b'"') | has_byte(x, b'\\') == 0 {
                i += 8;
                continue;
            }
        }
        let c = s[i];
        if c >= 0x20 && c != b'"' && c != b'\\' {
            i += 1;
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ]),
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends an integer.
pub fn write_i64(out: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut u = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Appends a number; NaN and the infinities, which JSON lacks, become 0.
pub fn write_f64(out: &mut Vec<u8>, f: f64) {
    use std::io::Write;
    if f.is_finite() {
        let _ = write!(out, "{}", f);
    } else {
        out.push(b'0');
    }
}

/// Returns `doc` with `old`, a value read from `doc`, replaced by the JSON `repl`; `None` when
/// `old` is not part of `doc`.
pub fn splice(doc: &[u8], old: Value, repl: &[u8]) -> Option<Vec<u8>> {
    let r = old.range_in(doc)?;
    let mut out = Vec::with_capacity(doc.len() - r.len() + repl.len());
    out.extend_from_slice(&doc[..r.start]);
    out.extend_from_slice(repl);
    out.extend_from_slice(&doc[r.end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_elements() {
        let doc = br#" {"a" : 1, "b":[true, null ,"x\"y"], "c\u0064":{"e":-2.5e3}, "s":"caf\u00e9 \ud83d\ude00"} "#;
        let v = Value::new(doc);
        assert_eq!(v.kind(), Kind::Object);
        assert!(v.is_valid());
        assert_eq!(v.get("a").unwrap().as_i64(), Some(1));
        let b: Vec<_> = v.get("b").unwrap().elements().collect();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].as_bool(), Some(true));
        assert!(b[1].is_null());
        assert_eq!(b[2].str().unwrap(), "x\"y");
        assert_eq!(v.path(&["cd", "e"]).unwrap().as_f64(), Some(-2500.0));
        assert_eq!(v.path(&["cd", "e"]).unwrap().as_i64(), None);
        assert_eq!(v.get("s").unwrap().str().unwrap(), "café 😀");
        assert!(v.get("z").is_none());
        let keys: Vec<_> = v.members().map(|(k, _)| k.name().into_owned()).collect();
        assert_eq!(keys, ["a", "b", "cd", "s"]);
        assert!(Value::new(b"\"request\"").is_str("request"));
        assert!(!Value::new(b"\"requests\"").is_str("request"));
        assert!(Value::new(b"[]").elements().next().is_none());
        assert!(Value::new(b"{}").members().next().is_none());
        assert!(Value::new(b"{\"a\":").get("a").is_none());
        assert!(!Value::new(b"{\"a\":1} x").is_valid());
        assert_eq!(Value::new(b"-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(Value::new(b"9223372036854775808").as_i64(), None);
    }

    #[test]
    fn ranges_and_splice() {
        let doc = br#"{"model":"m","messages":[1,2],"n":3}"#;
        let m = Value::new(doc).get("messages").unwrap();
        assert_eq!(m.range_in(doc), Some(24..29));
        assert_eq!(
            splice(doc, m, b"[]").unwrap(),
            br#"{"model":"m","messages":[],"n":3}"#.to_vec()
        );
        assert_eq!(Value::new(b"[1]").range_in(doc), None);
    }

    #[test]
    fn unescapes_like_the_c_sdk() {
        let mut out = Vec::new();
        assert!(Value::new(br#""a\nb\u0041\ud800x\/\q""#).unescape_into(&mut out));
        assert_eq!(out, "a\nbA\u{fffd}x/q".as_bytes());
        assert!(!Value::new(b"12").unescape_into(&mut out));
    }

    #[test]
    fn writes_strings() {
        let mut out = Vec::new();
        write_str(
            &mut out,
            "plain text that is long enough, \"quoted\"\\ \n\t\u{1} é",
        );
        assert_eq!(
            out,
            r#""plain text that is long enough, \"quoted\"\\ \n\t\u0001 é""#.as_bytes()
        );
        out.clear();
        write_str_bytes(&mut out, b"ok \xe2\x82 \xff!");
        assert_eq!(out, br#""ok \ufffd\ufffd \ufffd!""#.to_vec());
        out.clear();
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_i64(&mut out, 0);
        out.push(b' ');
        write_f64(&mut out, 2.5);
        out.push(b' ');
        write_f64(&mut out, f64::NAN);
        assert_eq!(out, b"-9223372036854775808 0 2.5 0".to_vec());
    }
}
