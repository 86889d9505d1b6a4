/* A C test guest that misbehaves on demand, like testdata/faults: the request body's "fault"
 * member names what to do. */
#include "iom.h"

#include <stdlib.h>

static volatile int sink;

IOM_EXPORT("iom_transform")
uint64_t transform(const char *in, uint32_t len) {
    iom_val env = {in, len}, body, fault;
    if (!iom_json_get(env, "body", &body) || !iom_json_get(body, "fault", &fault)) return 0;
    if (iom_json_eq_str(fault, "loop")) {
        for (;;) sink++;
    }
    if (iom_json_eq_str(fault, "trap")) __builtin_trap();
    if (iom_json_eq_str(fault, "oob")) return (uint64_t)*(volatile int *)(uintptr_t)0xfffffff0u;
    if (iom_json_eq_str(fault, "oom")) {
        /* Grow memory until the host's cap refuses, then fail the way C code does when a
         * malloc result goes unchecked. */
        while (__builtin_wasm_memory_grow(0, 16) != (size_t)-1) sink++;
        __builtin_trap();
    }
    if (iom_json_eq_str(fault, "error")) return iom_error("refused by C", "nope");
    if (iom_json_eq_str(fault, "echo")) {
        iom_buf *out = iom_out();
        iom_buf_puts(out, "{\"body\":");
        iom_buf_put(out, in, len);
        iom_buf_putc(out, '}');
        return iom_finish(out);
    }
    return 0;
}
