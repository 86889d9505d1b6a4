//! The rules, as in pii_redact.c:
//!
//! - e-mail: local@domain.tld: local part `[A-Za-z0-9._%+-]` and non-ASCII letters, domain
//!   `[A-Za-z0-9.-]` and non-ASCII letters, with a dot and a top-level label of two or more
//!   ASCII letters.
//! - card: 13 to 19 digits, optionally grouped by single spaces or hyphens, passing the Luhn
//!   check.
//! - phone: 7 to 15 digits, optionally led by '+' and grouped by spaces, hyphens or
//!   parentheses, that start with '+', contain a separator, or have 10 digits or more. A run of
//!   digits that is neither is skipped whole.

const REDACTED: &[u8] = b"[REDACTED]";

// Character classes, by table: the scan looks at every byte of every message. Bytes of
// multi-byte UTF-8 sequences count as letters, for internationalised addresses.
const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const LOCAL: u8 = 4;
const DOMAIN: u8 = 8;

static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_digit() {
            DIGIT | LOCAL | DOMAIN
        } else if b.is_ascii_alphabetic() {
            ALPHA | LOCAL | DOMAIN
        } else if b >= 0x80 || b == b'.' || b == b'-' {
            LOCAL | DOMAIN
        } else if b == b'_' || b == b'%' || b == b'+' {
            LOCAL
        } else {
            0
        };
        c += 1;
    }
    t
}

#[inline(always)]
fn is(c: u8, class: u8) -> bool {
    CLASS[c as usize] & class != 0
}

/// Appends `s` to `out` with PII replaced and returns how many spans it replaced. An address is
/// found from its '@', looking back for the local part and ahead for the domain, so ordinary
/// words cost one table lookup per byte.
pub fn redact(out: &mut Vec<u8>, s: &[u8]) -> usize {
    let (mut count, mut copied, mut i) = (0, 0, 0);
    while i < s.len() {
        let c = s[i];
        let mut start = i;
        let mut end = 0;
        if c == b'@' {
            while start > copied && is(s[start - 1], LOCAL) {
                start -= 1;
            }
            if start < i {
                end = domain_end(s, i + 1);
            }
        } else if (is(c, DIGIT) || c == b'+' || c == b'(')
            && (i == 0 || !is(s[i - 1], DIGIT | ALPHA))
        {
            let scanned;
            (end, scanned) = number_end(s, i);
            if end == 0 {
                i = scanned;
                continue;
            }
        }
        if end > 0 {
            out.extend_from_slice(&s[copied..start]);
            out.extend_from_slice(REDACTED);
            count += 1;
            i = end;
            copied = end;
            continue;
        }
        i += 1;
    }
    out.extend_from_slice(&s[copied..]);
    count
}

/// Returns the end of an address's domain starting at `s[d]`, or 0: a dot, and a top-level
/// label of two or more ASCII letters.
fn domain_end(s: &[u8], d: usize) -> usize {
    let mut k = d;
    while k < s.len() && is(s[k], DOMAIN) {
        k += 1;
    }
    while k > d && (s[k - 1] == b'.' || s[k - 1] == b'-') {
        k -= 1; // a sentence's full stop
    }
    let dot = match s[d..k].iter().rposition(|&c| c == b'.') {
        Some(p) if p > 0 => d + p,
        _ => return 0,
    };
    if k - dot - 1 < 2 || !s[dot + 1..k].iter().all(|&c| is(c, ALPHA)) {
        return 0;
    }
    k
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0;
    for (i, &c) in digits.iter().rev().enumerate() {
        let mut d = (c - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Returns the end of a card or phone number starting at `s[i]`, or 0, and the end of the run
/// of digits and separators it read, so a run that is neither is skipped whole rather than
/// matched again from its middle.
fn number_end(s: &[u8], i: usize) -> (usize, usize) {
    let mut digits = [0u8; 20];
    let (mut nd, mut j, mut end, mut run) = (0, i, 0, 0);
    let (mut plus, mut sep, mut too_long) = (false, false, false);
    if s[j] == b'+' {
        plus = true;
        j += 1;
    }
    while j < s.len() {
        let c = s[j];
        if is(c, DIGIT) {
            if nd == digits.len() {
                too_long = true;
            } else {
                digits[nd] = c;
                nd += 1;
            }
            if run > 0 && nd > 1 {
                sep = true;
            }
            run = 0;
            j += 1;
            end = j;
        } else if matches!(c, b' ' | b'-' | b'(' | b')') && run < 2 {
            run += 1;
            j += 1;
        } else {
            break;
        }
    }
    let scanned = end.max(i + 1);
    // digits running into a letter, or into an address ("+15551234567@example.com"), are not a
    // number of their own
    if end == 0 || too_long || (end < s.len() && (is(s[end], DIGIT | ALPHA) || s[end] == b'@')) {
        return (0, scanned);
    }
    if (13..=19).contains(&nd) && !plus && luhn(&digits[..nd]) {
        return (end, scanned);
    }
    if (7..=15).contains(&nd) && (plus || sep || nd >= 10) {
        return (end, scanned);
    }
    (0, scanned)
}

#[cfg(test)]
mod tests {
    use super::redact;

    fn run(s: &str) -> (String, usize) {
        let mut out = Vec::new();
        let n = redact(&mut out, s.as_bytes());
        (String::from_utf8(out).unwrap(), n)
    }

    #[test]
    fn rules() {
        assert_eq!(
            run("Write to jane.doe+work@example.co.uk today."),
            ("Write to [REDACTED] today.".into(), 1)
        );
        assert_eq!(
            run("Call +1 (555) 123-4567 or 555-987-6543."),
            ("Call [REDACTED] or [REDACTED].".into(), 2)
        );
        assert_eq!(
            run("Card 5555555555554444 please"),
            ("Card [REDACTED] please".into(), 1)
        );
        assert_eq!(run("Ref 4111 1111 1111 1112 stays").1, 0);
        assert_eq!(run("In 2024 I had 1234567 ants and pi is 3.14159265.").1, 0);
        assert_eq!(run("user@localhost and a@b.c stay").1, 0);
        assert_eq!(
            run("Mail john+15551234567@example.com now"),
            ("Mail [REDACTED] now".into(), 1)
        );
        assert_eq!(run("x@.com @example.com").1, 0);
    }
}
