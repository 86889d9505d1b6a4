// Package exetrim gives back the memory that the gateway's executable occupies only because the
// process started.
//
// Starting touches code and read-only data all over the binary: every package's initialisation,
// config parsing, WASM compilation, the store's recovery. Linux maps a file's pages around each
// one touched (fault-around, 64 KiB by default), so after start most of the executable's text
// and read-only data is resident: about 20 MiB of a 28 MiB binary, more than the gateway's own
// heap. The request path needs a few MiB of it. Trim advises the kernel (MADV_PAGEOUT) that the
// executable's read-only mappings are not needed, and (MADV_RANDOM) that what is used afterwards
// is to be read back a page at a time: left to itself, the kernel reads 128 KiB around a page
// that faults and maps 64 KiB around it, and the code and tables the gateway uses, spread all
// over the binary, are back in windows within seconds (17 MiB after ten seconds of load, against
// 10-12 MiB read back page by page).
//
// Pages that another process maps too (a second gateway started from the same file) are left
// alone: the kernel pages out only what the caller maps alone.
//
// The kernel would reclaim these pages under memory pressure anyway. Trim makes the process's
// resident set what the gateway uses, which is what an operator sizing an edge box reads.
package exetrim
