//! pii-redact-rust is examples/plugins/pii-redact (C) in Rust, built with the Rust SDK
//! (sdk/wasm-rust): a request transform that replaces e-mail addresses, phone numbers and
//! Luhn-checked card numbers in a chat request's messages with [REDACTED]. It looks at the text
//! of every message, "content" when it is a string and the "text" of each part when it is an
//! array, and copies everything else byte for byte. The rules, in redact.rs, are the C
//! version's, so the benchmarks compare the languages on the same work. One difference: a member
//! name written with escapes ("cont\u0065nt") is matched by what it spells, as in the Go
//! version; the C version compares names as written, so it leaves such a member alone.

use std::cell::RefCell;

use iom::{Envelope, Kind, Stage, Transformed, Value};

mod redact;

iom::export_transform!(apply);

iom::export_describe!(iom::Description {
    name: "pii-redact-rust",
    language: "rust",
    roles: &["transform"],
    version: "1.0.0",
});

/// Buffers reused from call to call, so a request costs no allocation once they have grown.
struct Scratch {
    text: Vec<u8>,
    clean: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> =
        const { RefCell::new(Scratch { text: Vec::new(), clean: Vec::new() }) };
}

fn apply(env: &Envelope) -> iom::Result<Transformed> {
    if env.stage != Stage::Request {
        return Ok(Transformed::Unchanged);
    }
    let body = env.body.raw();
    let messages = match env.body.get("messages") {
        Some(m) if m.kind() == Kind::Array => m,
        _ => return Ok(Transformed::Unchanged),
    };
    let at = messages
        .range_in(body)
        .expect("messages is part of the body");
    let mut out = iom::buffer();
    out.extend_from_slice(&body[..at.start]);
    let count = SCRATCH.with(|s| {
        let s = &mut *s.borrow_mut();
        let mut count = 0;
        out.push(b'[');
        for (i, m) in messages.elements().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            count += put_object(&mut out, m, "content", s);
        }
        out.push(b']');
        count
    });
    out.extend_from_slice(&body[at.end..]);
    if count == 0 {
        iom::recycle(out);
        return Ok(Transformed::Unchanged); // nothing to redact
    }
    Ok(Transformed::Body(out))
}

/// Copies an object, putting the string value of member `field` through `put_text` and a
/// "content" array through `put_parts`; returns the number of redactions.
fn put_object(out: &mut Vec<u8>, obj: Value, field: &str, s: &mut Scratch) -> usize {
    if obj.kind() != Kind::Object {
        out.extend_from_slice(obj.raw());
        return 0;
    }
    let mut count = 0;
    out.push(b'{');
    for (i, (k, v)) in obj.members().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k.raw());
        out.push(b':');
        if k.is(field) && v.kind() == Kind::String {
            count += put_text(out, v, s);
        } else if k.is("content") && v.kind() == Kind::Array {
            count += put_parts(out, v, s);
        } else {
            out.extend_from_slice(v.raw());
        }
    }
    out.push(b'}');
    count
}

/// Copies an array of content parts, redacting the "text" of each.
fn put_parts(out: &mut Vec<u8>, parts: Value, s: &mut Scratch) -> usize {
    let mut count = 0;
    out.push(b'[');
    for (i, part) in parts.elements().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        count += put_object(out, part, "text", s);
    }
    out.push(b']');
    count
}

/// Writes the JSON string `v` to `out`, redacted; returns the number of redactions.
fn put_text(out: &mut Vec<u8>, v: Value, s: &mut Scratch) -> usize {
    s.text.clear();
    s.clean.clear();
    v.unescape_into(&mut s.text);
    let count = redact::redact(&mut s.clean, &s.text);
    if count == 0 {
        out.extend_from_slice(v.raw()); // unchanged: keep the original escaping
    } else {
        iom::json::write_str_bytes(out, &s.clean);
    }
    count
}
