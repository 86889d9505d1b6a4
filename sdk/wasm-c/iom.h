/*
 * iom.h: the C guest SDK for IoM's WASM plugins, ABI v1 (the gateway's wasm/ABI.md).
 *
 * Linking iom.c into a module exports what every ABI v1 module needs: memory, iom_abi_version,
 * iom_alloc and iom_free. The plugin exports its role functions itself, so a module claims only
 * the roles it implements:
 *
 *     #include "iom.h"
 *
 *     IOM_EXPORT("iom_transform")
 *     uint64_t transform(const char *in, uint32_t len) {
 *         iom_val env = {in, len}, stage, body;
 *         if (!iom_json_get(env, "stage", &stage) || !iom_json_eq_str(stage, "request"))
 *             return 0;                          // 0: unchanged
 *         if (!iom_json_get(env, "body", &body))
 *             return iom_error("no body", "bad_request");
 *         iom_buf *out = iom_out();              // the shared output buffer, emptied
 *         iom_buf_puts(out, "{\"body\":");
 *         iom_buf_put(out, body.p, body.n);
 *         iom_buf_putc(out, '}');
 *         return iom_finish(out);                // packs (ptr << 32) | len for the host
 *     }
 *
 * Build (Debian: apt-get install clang lld wasi-libc; clang 14 works):
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-debug \
 *           -I sdk/wasm-c sdk/wasm-c/iom.c plugin.c -o plugin.wasm
 *
 * -mexec-model=reactor links wasi-libc's reactor start-up, which exports _initialize (the host
 * calls it once per instance) and no _start; exports come from IOM_EXPORT, so no --export flags
 * are needed. Debian's clang finds wasi-libc in /usr/include/wasm32-wasi and
 * /usr/lib/wasm32-wasi by itself; elsewhere add --sysroot=/path/to/wasi-sysroot.
 *
 * Memory: the input the host writes (through iom_alloc) lives in one buffer that the SDK reuses
 * for every call, and so does the output buffer (iom_out); neither is valid after the role
 * function returns. Nothing in the SDK allocates per call once the buffers have grown to the
 * largest input and output seen.
 */
#ifndef IOM_H
#define IOM_H

#include <stddef.h>
#include <stdint.h>

#define IOM_ABI_VERSION 1

/* IOM_EXPORT("name") exports a function from the module under that name. */
#define IOM_EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* Log levels of the host's iom.log import. */
enum { IOM_DEBUG = 0, IOM_INFO = 1, IOM_WARN = 2, IOM_ERROR = 3 };

/* iom_log sends msg[0..len) to the gateway's log at level, tagged with the plugin's name. */
void iom_log(int level, const char *msg, size_t len);
/* iom_logs logs a NUL-terminated message. */
void iom_logs(int level, const char *msg);

/* ---- Output ----------------------------------------------------------------------------- */

/* iom_buf is a growable byte buffer. A failed allocation sets failed; appends then do nothing
 * and iom_finish reports an out-of-memory error instead of a truncated document. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} iom_buf;

/* iom_out returns the SDK's output buffer, emptied. */
iom_buf *iom_out(void);
/* iom_finish returns b's contents packed as the ABI's (ptr << 32) | len, 0 when b is empty.
 * b must be iom_out() or otherwise stay valid until the host's iom_free. */
uint64_t iom_finish(iom_buf *b);
/* iom_error writes {"error":{"message":msg,"code":code}} (code may be NULL) to the output
 * buffer and returns it packed. */
uint64_t iom_error(const char *msg, const char *code);

int iom_buf_reserve(iom_buf *b, size_t extra);
void iom_buf_reset(iom_buf *b);
void iom_buf_put(iom_buf *b, const char *s, size_t n);
void iom_buf_puts(iom_buf *b, const char *s);
void iom_buf_putc(iom_buf *b, char c);
void iom_buf_put_int(iom_buf *b, long long v);
/* iom_buf_put_json_string appends s[0..n) as a JSON string: quoted, escaped; invalid UTF-8
 * becomes U+FFFD. */
void iom_buf_put_json_string(iom_buf *b, const char *s, size_t n);

/* ---- Reading JSON ------------------------------------------------------------------------ */

/* iom_val is a raw JSON value: a span of the input, never copied. */
typedef struct {
    const char *p;
    size_t n;
} iom_val;

#define IOM_JSON_BAD ((size_t)-1)

/* iom_json_ws returns the index of the first non-space byte at or after i. */
size_t iom_json_ws(const char *s, size_t n, size_t i);
/* iom_json_skip returns the index just past the JSON value starting at s[i] (after spaces),
 * or IOM_JSON_BAD when it is not well-formed. Strings are delimited, not validated. */
size_t iom_json_skip(const char *s, size_t n, size_t i);
/* iom_json_get finds member key of the object v; returns 1 and sets *out when found. */
int iom_json_get(iom_val v, const char *key, iom_val *out);
/* iom_json_next_member iterates an object: start with *pos = 0; returns 1 with the key (raw,
 * with its quotes) and value of each member in turn, then 0. */
int iom_json_next_member(iom_val obj, size_t *pos, iom_val *key, iom_val *val);
/* iom_json_next_elem iterates an array the same way. */
int iom_json_next_elem(iom_val arr, size_t *pos, iom_val *elem);
/* iom_json_type returns the value's first byte: '{', '[', '"', 'n', 't', 'f', or '0' for a
 * number; 0 when empty. */
char iom_json_type(iom_val v);
/* iom_json_eq_str reports whether v is the JSON string s (compared raw: s must need no escapes),
 * or, for a key from iom_json_next_member, whether the key is s. */
int iom_json_eq_str(iom_val v, const char *s);
/* iom_json_unescape appends the contents of the JSON string v, unescaped, to dst; returns 0 if
 * v is not a string. */
int iom_json_unescape(iom_val v, iom_buf *dst);
/* iom_json_int reads an integer number (0 when v is not one). */
long long iom_json_int(iom_val v, int *ok);

#endif
