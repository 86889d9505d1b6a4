/*
 * iom.c: the C guest SDK for IoM's WASM plugins, ABI v1. See iom.h.
 */
#include "iom.h"

#include <stdlib.h>
#include <string.h>

/* Strings are scanned and escaped eight bytes at a time (SWAR, SIMD within a register): a
 * plugin's input is mostly the text of strings, which the scanner passes over several times.
 * A flagged word may be a false positive; the byte-by-byte path then decides. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define HAS_ZERO(x) (((x) - ONES) & ~(x) & HIGHS)
#define HAS_BYTE(x, b) HAS_ZERO((x) ^ (ONES * (unsigned char)(b)))
#define HAS_LESS(x, b) (((x) - ONES * (unsigned char)(b)) & ~(x) & HIGHS)

/* ---- ABI exports ------------------------------------------------------------------------- */

IOM_EXPORT("iom_abi_version")
int32_t iom_abi_version(void) { return IOM_ABI_VERSION; }

/* The host calls iom_alloc once per call, for the input, and never touches the input after the
 * role function returns, so one buffer, grown as needed, serves every call. */
static char *in_buf;
static size_t in_cap;

IOM_EXPORT("iom_alloc")
uint32_t iom_alloc(uint32_t size) {
    if (size == 0) size = 1;
    if (size > in_cap) {
        char *p = realloc(in_buf, size);
        if (!p) return 0; /* the host reports that the guest is out of memory */
        in_buf = p;
        in_cap = size;
    }
    return (uint32_t)(uintptr_t)in_buf;
}

static iom_buf out_buf;

IOM_EXPORT("iom_free")
void iom_free(uint32_t ptr, uint32_t size) {
    (void)size;
    /* The output buffer is reused. Only a very large one is given back, so one huge answer
     * does not pin its memory; buffers a plugin made itself are freed. */
    if (ptr == (uint32_t)(uintptr_t)out_buf.data) {
        if (out_buf.cap > (1u << 20)) {
            free(out_buf.data);
            out_buf.data = NULL;
            out_buf.cap = out_buf.len = 0;
        }
        return;
    }
    free((void *)(uintptr_t)ptr);
}

/* ---- Logging ----------------------------------------------------------------------------- */

__attribute__((import_module("iom"), import_name("log")))
extern void iom_host_log(int32_t level, const char *ptr, uint32_t len);

void iom_log(int level, const char *msg, size_t len) { iom_host_log(level, msg, (uint32_t)len); }

void iom_logs(int level, const char *msg) { iom_log(level, msg, strlen(msg)); }

/* ---- Output ------------------------------------------------------------------------------ */

iom_buf *iom_out(void) {
    out_buf.len = 0;
    out_buf.failed = 0;
    return &out_buf;
}

uint64_t iom_finish(iom_buf *b) {
    if (b->failed) return iom_error("the plugin ran out of memory building its output", "out_of_memory");
    if (b->len == 0) return 0;
    return ((uint64_t)(uintptr_t)b->data << 32) | (uint64_t)(uint32_t)b->len;
}

uint64_t iom_error(const char *msg, const char *code) {
    iom_buf *b = iom_out();
    iom_buf_puts(b, "{\"error\":{\"message\":");
    iom_buf_put_json_string(b, msg, strlen(msg));
    if (code) {
        iom_buf_puts(b, ",\"code\":");
        iom_buf_put_json_string(b, code, strlen(code));
    }
    iom_buf_puts(b, "}}");
    if (b->failed) return 0;
    return iom_finish(b);
}

int iom_buf_reserve(iom_buf *b, size_t extra) {
    if (b->failed) return 0;
    if (b->len + extra <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void iom_buf_reset(iom_buf *b) {
    b->len = 0;
    b->failed = 0;
}

void iom_buf_put(iom_buf *b, const char *s, size_t n) {
    if (!iom_buf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void iom_buf_puts(iom_buf *b, const char *s) { iom_buf_put(b, s, strlen(s)); }

void iom_buf_putc(iom_buf *b, char c) {
    if (!iom_buf_reserve(b, 1)) return;
    b->data[b->len++] = c;
}

void iom_buf_put_int(iom_buf *b, long long v) {
    char tmp[24];
    int i = sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    iom_buf_put(b, tmp + i, sizeof tmp - i);
}

/* utf8_len returns the length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    unsigned int min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    unsigned int r = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        r = (r << 6) | (s[i] & 0x3f);
    }
    if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return 0;
    return len;
}

void iom_buf_put_json_string(iom_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (!iom_buf_reserve(b, n + 2)) return;
    iom_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        if (i + 8 <= n) { /* eight plain ASCII bytes at a time */
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (!((HAS_LESS(x, 0x20) | HAS_BYTE(x, '"') | HAS_BYTE(x, '\\') | x) & HIGHS)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)s + i, n - i);
            if (l) {
                i += l;
                continue;
            }
            iom_buf_put(b, s + start, i - start);
            iom_buf_puts(b, "\\ufffd");
            start = ++i;
            continue;
        }
        iom_buf_put(b, s + start, i - start);
        switch (c) {
        case '"': iom_buf_puts(b, "\\\""); break;
        case '\\': iom_buf_puts(b, "\\\\"); break;
        case '\n': iom_buf_puts(b, "\\n"); break;
        case '\r': iom_buf_puts(b, "\\r"); break;
        case '\t': iom_buf_puts(b, "\\t"); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            iom_buf_put(b, e, 6);
        }
        }
        start = ++i;
    }
    iom_buf_put(b, s + start, n - start);
    iom_buf_putc(b, '"');
}

/* ---- Reading JSON ------------------------------------------------------------------------ */

size_t iom_json_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

static size_t skip_string(const char *s, size_t n, size_t i) {
    for (i++; i < n; i++) {
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (HAS_BYTE(x, '"') | HAS_BYTE(x, '\\')) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] == '"') return i + 1;
        if (s[i] == '\\') i++;
    }
    return IOM_JSON_BAD;
}

static size_t skip_value(const char *s, size_t n, size_t i, int depth) {
    i = iom_json_ws(s, n, i);
    if (i >= n || depth > 512) return IOM_JSON_BAD;
    char c = s[i];
    if (c == '"') return skip_string(s, n, i);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        i = iom_json_ws(s, n, i + 1);
        if (i < n && s[i] == close) return i + 1;
        for (;;) {
            if (c == '{') {
                if (i >= n || s[i] != '"') return IOM_JSON_BAD;
                i = skip_string(s, n, i);
                if (i == IOM_JSON_BAD) return i;
                i = iom_json_ws(s, n, i);
                if (i >= n || s[i] != ':') return IOM_JSON_BAD;
                i++;
            }
            i = skip_value(s, n, i, depth + 1);
            if (i == IOM_JSON_BAD) return i;
            i = iom_json_ws(s, n, i);
            if (i >= n) return IOM_JSON_BAD;
            if (s[i] == close) return i + 1;
            if (s[i] != ',') return IOM_JSON_BAD;
            i = iom_json_ws(s, n, i + 1);
        }
    }
    /* a number or a literal: up to the next delimiter */
    size_t start = i;
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\n' && s[i] != '\r' && s[i] != ':' && s[i] != '"')
        i++;
    return i > start ? i : IOM_JSON_BAD;
}

size_t iom_json_skip(const char *s, size_t n, size_t i) { return skip_value(s, n, i, 0); }

char iom_json_type(iom_val v) {
    size_t i = iom_json_ws(v.p, v.n, 0);
    if (i >= v.n) return 0;
    char c = v.p[i];
    if (c == '-' || (c >= '0' && c <= '9')) return '0';
    return c;
}

int iom_json_next_member(iom_val obj, size_t *pos, iom_val *key, iom_val *val) {
    const char *s = obj.p;
    size_t n = obj.n, i = *pos;
    if (i == 0) {
        i = iom_json_ws(s, n, 0);
        if (i >= n || s[i] != '{') return 0;
        i++;
    }
    i = iom_json_ws(s, n, i);
    if (i < n && s[i] == ',') i = iom_json_ws(s, n, i + 1);
    if (i >= n || s[i] != '"') return 0;
    size_t kend = skip_string(s, n, i);
    if (kend == IOM_JSON_BAD) return 0;
    key->p = s + i;
    key->n = kend - i;
    i = iom_json_ws(s, n, kend);
    if (i >= n || s[i] != ':') return 0;
    i = iom_json_ws(s, n, i + 1);
    size_t vend = skip_value(s, n, i, 1);
    if (vend == IOM_JSON_BAD) return 0;
    val->p = s + i;
    val->n = vend - i;
    *pos = vend;
    return 1;
}

int iom_json_next_elem(iom_val arr, size_t *pos, iom_val *elem) {
    const char *s = arr.p;
    size_t n = arr.n, i = *pos;
    if (i == 0) {
        i = iom_json_ws(s, n, 0);
        if (i >= n || s[i] != '[') return 0;
        i++;
    }
    i = iom_json_ws(s, n, i);
    if (i < n && s[i] == ',') i = iom_json_ws(s, n, i + 1);
    if (i >= n || s[i] == ']') return 0;
    size_t end = skip_value(s, n, i, 1);
    if (end == IOM_JSON_BAD) return 0;
    elem->p = s + i;
    elem->n = end - i;
    *pos = end;
    return 1;
}

int iom_json_eq_str(iom_val v, const char *str) {
    size_t i = iom_json_ws(v.p, v.n, 0), l = strlen(str);
    if (i >= v.n || v.p[i] != '"') return 0;
    return v.n - i >= l + 2 && memcmp(v.p + i + 1, str, l) == 0 && v.p[i + 1 + l] == '"';
}

int iom_json_get(iom_val v, const char *key, iom_val *out) {
    size_t pos = 0;
    iom_val k, val;
    while (iom_json_next_member(v, &pos, &k, &val)) {
        if (iom_json_eq_str(k, key)) {
            *out = val;
            return 1;
        }
    }
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long hex4(const char *p) {
    long r = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        r = r << 4 | h;
    }
    return r;
}

static void put_utf8(iom_buf *b, long r) {
    char e[4];
    if (r < 0x80) {
        iom_buf_putc(b, (char)r);
    } else if (r < 0x800) {
        e[0] = (char)(0xc0 | r >> 6), e[1] = (char)(0x80 | (r & 0x3f));
        iom_buf_put(b, e, 2);
    } else if (r < 0x10000) {
        e[0] = (char)(0xe0 | r >> 12), e[1] = (char)(0x80 | ((r >> 6) & 0x3f)), e[2] = (char)(0x80 | (r & 0x3f));
        iom_buf_put(b, e, 3);
    } else {
        e[0] = (char)(0xf0 | r >> 18), e[1] = (char)(0x80 | ((r >> 12) & 0x3f));
        e[2] = (char)(0x80 | ((r >> 6) & 0x3f)), e[3] = (char)(0x80 | (r & 0x3f));
        iom_buf_put(b, e, 4);
    }
}

int iom_json_unescape(iom_val v, iom_buf *dst) {
    size_t i = iom_json_ws(v.p, v.n, 0);
    if (i >= v.n || v.p[i] != '"') return 0;
    size_t end = skip_string(v.p, v.n, i);
    if (end == IOM_JSON_BAD) return 0;
    const char *s = v.p + i + 1;
    size_t n = end - i - 2;
    if (!iom_buf_reserve(dst, n)) return 1;
    for (size_t j = 0; j < n;) {
        size_t k = j;
        while (k < n && s[k] != '\\') k++;
        iom_buf_put(dst, s + j, k - j);
        if (k >= n) break;
        if (k + 1 >= n) break;
        char c = s[k + 1];
        j = k + 2;
        switch (c) {
        case 'b': iom_buf_putc(dst, '\b'); break;
        case 'f': iom_buf_putc(dst, '\f'); break;
        case 'n': iom_buf_putc(dst, '\n'); break;
        case 'r': iom_buf_putc(dst, '\r'); break;
        case 't': iom_buf_putc(dst, '\t'); break;
        case 'u': {
            long r = k + 6 <= n ? hex4(s + k + 2) : -1;
            j = k + 6;
            if (r >= 0xd800 && r <= 0xdbff && j + 6 <= n && s[j] == '\\' && s[j + 1] == 'u') {
                long lo = hex4(s + j + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
                    j += 6;
                }
            }
            if (r < 0 || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
            put_utf8(dst, r);
            break;
        }
        default: iom_buf_putc(dst, c);
        }
    }
    return 1;
}

long long iom_json_int(iom_val v, int *ok) {
    size_t i = iom_json_ws(v.p, v.n, 0);
    long long r = 0;
    int neg = 0, digits = 0;
    if (i < v.n && v.p[i] == '-') neg = 1, i++;
    for (; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++, digits++) r = r * 10 + (v.p[i] - '0');
    if (ok) *ok = digits > 0 && (i >= v.n || v.p[i] == ' ' || v.p[i] == '\n' || v.p[i] == '\t' || v.p[i] == '\r');
    return neg ? -r : r;
}
