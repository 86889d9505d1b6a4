/*
 * pii-redact: a request transform that replaces e-mail addresses, phone numbers and payment card
 * numbers in a chat request's messages with [REDACTED] before the request leaves the gateway.
 *
 * It looks at the text of every message: "content" when it is a string, and the "text" of each
 * part when it is an array. Everything else in the request is copied byte for byte.
 *
 *   e-mail  local@domain.tld: local part [A-Za-z0-9._%+-] and non-ASCII letters, domain
 *           [A-Za-z0-9.-] and non-ASCII letters, with a dot and a top-level label of two or more
 *           ASCII letters.
 *   card    13 to 19 digits, optionally grouped by single spaces or hyphens, passing the Luhn
 *           check.
 *   phone   7 to 15 digits, optionally led by '+' and grouped by spaces, hyphens or
 *           parentheses, that start with '+', contain a separator, or have 10 digits or more
 *           (so "2024" or "1234567" stay). Dots do not separate, so decimals stay too. A run of
 *           digits that is neither is skipped whole, so no part of it matches on its own.
 *
 * Built with the C SDK (sdk/wasm-c); the same algorithm in Go is examples/plugins/pii-redact-go.
 */
#include "iom.h"

#include <string.h>

static const char REDACTED[] = "[REDACTED]";

/* Character classes, by table: the scan looks at every byte of every message. Bytes of
 * multi-byte UTF-8 sequences count as letters, for internationalised addresses. */
enum { DIGIT = 1, ALPHA = 2, LOCAL = 4, DOMAIN = 8 };
static unsigned char cls[256];

__attribute__((constructor)) static void init_classes(void) {
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if (c >= '0' && c <= '9') k |= DIGIT | LOCAL | DOMAIN;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) k |= ALPHA | LOCAL | DOMAIN;
        if (c >= 0x80) k |= LOCAL | DOMAIN;
        if (c == '.' || c == '-') k |= LOCAL | DOMAIN;
        if (c == '_' || c == '%' || c == '+') k |= LOCAL;
        cls[c] = k;
    }
}

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

/* domain_end returns the end of an address's domain starting at s[d], or 0: a dot, and a
 * top-level label of two or more ASCII letters. */
static size_t domain_end(const char *s, size_t n, size_t d) {
    size_t k = d;
    while (k < n && IS(s[k], DOMAIN)) k++;
    while (k > d && (s[k - 1] == '.' || s[k - 1] == '-')) k--; /* a sentence's full stop */
    size_t dot = 0;
    for (size_t x = d; x < k; x++)
        if (s[x] == '.') dot = x;
    if (dot == 0 || dot == d || k - dot - 1 < 2) return 0;
    for (size_t x = dot + 1; x < k; x++)
        if (!IS(s[x], ALPHA)) return 0;
    return k;
}

static int luhn(const char *digits, size_t n) {
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* number_end returns the end of a card or phone number starting at s[i], or 0. It sets *scanned
 * to the end of the run of digits and separators it read, so a run that is neither is skipped
 * whole rather than matched again from its middle. */
static size_t number_end(const char *s, size_t n, size_t i, size_t *scanned) {
    char digits[20];
    size_t nd = 0, j = i, end = 0;
    int plus = 0, sep = 0, run = 0, too_long = 0;
    if (s[j] == '+') plus = 1, j++;
    while (j < n) {
        char c = s[j];
        if (IS(c, DIGIT)) {
            if (nd == sizeof digits) too_long = 1;
            else digits[nd++] = c;
            if (run > 0 && nd > 1) sep = 1;
            run = 0;
            end = ++j;
        } else if ((c == ' ' || c == '-' || c == '(' || c == ')') && run < 2) {
            run++;
            j++;
        } else {
            break;
        }
    }
    *scanned = end > i ? end : i + 1;
    /* digits running into a letter, or into an address ("+15551234567@example.com"), are not
     * a number of their own */
    if (end == 0 || too_long || (end < n && (IS(s[end], DIGIT | ALPHA) || s[end] == '@'))) return 0;
    if (nd >= 13 && nd <= 19 && !plus && luhn(digits, nd)) return end;
    if (nd >= 7 && nd <= 15 && (plus || sep || nd >= 10)) return end;
    return 0;
}

/* redact appends s[0..n) to out with PII replaced; returns how many spans it replaced. An
 * address is found from its '@', looking back for the local part and ahead for the domain, so
 * ordinary words cost one table lookup per byte. */
static int redact(const char *s, size_t n, iom_buf *out) {
    int count = 0;
    size_t i = 0, copied = 0;
    while (i < n) {
        char c = s[i];
        size_t start = i, end = 0;
        if (c == '@') {
            while (start > copied && IS(s[start - 1], LOCAL)) start--;
            if (start < i) end = domain_end(s, n, i + 1);
        } else if ((IS(c, DIGIT) || c == '+' || c == '(') && (i == 0 || !IS(s[i - 1], DIGIT | ALPHA))) {
            size_t scanned;
            end = number_end(s, n, i, &scanned);
            if (!end) {
                i = scanned;
                continue;
            }
        }
        if (end) {
            iom_buf_put(out, s + copied, start - copied);
            iom_buf_put(out, REDACTED, sizeof REDACTED - 1);
            count++;
            i = copied = end;
            continue;
        }
        i++;
    }
    iom_buf_put(out, s + copied, n - copied);
    return count;
}

static iom_buf text, clean;

/* put_text writes the JSON string v to out, redacted; returns the number of redactions. */
static int put_text(iom_val v, iom_buf *out) {
    iom_buf_reset(&text);
    iom_buf_reset(&clean);
    if (!iom_json_unescape(v, &text) || text.failed) {
        iom_buf_put(out, v.p, v.n);
        return 0;
    }
    int count = redact(text.data, text.len, &clean);
    if (count == 0 || clean.failed) {
        iom_buf_put(out, v.p, v.n); /* unchanged: keep the original escaping */
        return 0;
    }
    iom_buf_put_json_string(out, clean.data, clean.len);
    return count;
}

/* put_object copies an object, putting the string value of member field through put_text, and
 * an array value through put_parts. */
static int put_parts(iom_val arr, iom_buf *out);

static int put_object(iom_val obj, const char *field, iom_buf *out) {
    if (iom_json_type(obj) != '{') {
        iom_buf_put(out, obj.p, obj.n);
        return 0;
    }
    int count = 0, first = 1;
    size_t pos = 0;
    iom_val k, v;
    iom_buf_putc(out, '{');
    while (iom_json_next_member(obj, &pos, &k, &v)) {
        if (!first) iom_buf_putc(out, ',');
        first = 0;
        iom_buf_put(out, k.p, k.n);
        iom_buf_putc(out, ':');
        if (iom_json_eq_str(k, field) && iom_json_type(v) == '"')
            count += put_text(v, out);
        else if (iom_json_eq_str(k, "content") && iom_json_type(v) == '[')
            count += put_parts(v, out);
        else
            iom_buf_put(out, v.p, v.n);
    }
    iom_buf_putc(out, '}');
    return count;
}

static int put_parts(iom_val arr, iom_buf *out) {
    int count = 0, first = 1;
    size_t pos = 0;
    iom_val e;
    iom_buf_putc(out, '[');
    while (iom_json_next_elem(arr, &pos, &e)) {
        if (!first) iom_buf_putc(out, ',');
        first = 0;
        count += put_object(e, "text", out);
    }
    iom_buf_putc(out, ']');
    return count;
}

IOM_EXPORT("iom_transform")
uint64_t transform(const char *in, uint32_t len) {
    iom_val env = {in, len}, stage, body, messages;
    if (!iom_json_get(env, "stage", &stage) || !iom_json_eq_str(stage, "request")) return 0;
    if (!iom_json_get(env, "body", &body) || !iom_json_get(body, "messages", &messages)) return 0;
    if (iom_json_type(messages) != '[') return 0;

    iom_buf *out = iom_out();
    iom_buf_puts(out, "{\"body\":");
    iom_buf_put(out, body.p, (size_t)(messages.p - body.p));
    int count = 0, first = 1;
    size_t pos = 0;
    iom_val m;
    iom_buf_putc(out, '[');
    while (iom_json_next_elem(messages, &pos, &m)) {
        if (!first) iom_buf_putc(out, ',');
        first = 0;
        count += put_object(m, "content", out);
    }
    iom_buf_putc(out, ']');
    const char *rest = messages.p + messages.n;
    iom_buf_put(out, rest, (size_t)(body.p + body.n - rest));
    iom_buf_putc(out, '}');
    if (count == 0) return 0; /* nothing to redact: unchanged */
    return iom_finish(out);
}

IOM_EXPORT("iom_describe")
uint64_t describe(void) {
    iom_buf *out = iom_out();
    iom_buf_puts(out, "{\"name\":\"pii-redact\",\"language\":\"c\",\"roles\":[\"transform\"],\"version\":\"1.0.0\"}");
    return iom_finish(out);
}
