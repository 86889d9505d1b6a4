#!/usr/bin/env bash
# Builds every example WASM plugin into OUTDIR as <name>.wasm:
#   examples/plugins/build.sh OUTDIR
# Go plugins need only Go; C plugins need clang, wasm-ld and wasi-libc (Debian: apt-get install
# clang lld wasi-libc). Without clang the C plugins are skipped with a message, unless
# IOM_REQUIRE_WASM_C=1, which makes that an error. CLANG names another clang (default clang);
# WASI_SYSROOT points it at a wasi-libc sysroot where it does not find one itself (Debian's
# clang does).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

clang="${CLANG:-clang}"
have_clang=1
if ! command -v "$clang" >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
	have_clang=0
fi

cflags=(--target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-debug -Wall -Wextra)
if [ -n "${WASI_SYSROOT:-}" ]; then
	cflags+=("--sysroot=$WASI_SYSROOT")
fi

built=0
skipped=0
for dir in "$here"/*/; do
	name="$(basename "$dir")"
	# A WASM plugin is a directory whose Go sources export with //go:wasmexport, or whose C
	# sources use the C SDK; the others (process plugins) are built elsewhere.
	if compgen -G "$dir*.go" >/dev/null && grep -q '^//go:wasmexport' "$dir"*.go; then
		echo "go    $name"
		(cd "$root" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$out/$name.wasm" "./examples/plugins/$name")
		built=$((built + 1))
	elif compgen -G "$dir*.c" >/dev/null && grep -q '#include "iom.h"' "$dir"*.c; then
		if [ "$have_clang" = 0 ]; then
			if [ "${IOM_REQUIRE_WASM_C:-}" = 1 ]; then
				echo "error: C plugin $name needs clang and wasm-ld (apt-get install clang lld wasi-libc)" >&2
				exit 1
			fi
			echo "skip  $name: C plugin, and clang or wasm-ld is not installed (apt-get install clang lld wasi-libc)"
			skipped=$((skipped + 1))
			continue
		fi
		echo "c     $name"
		"$clang" "${cflags[@]}" -I "$root/sdk/wasm-c" "$root/sdk/wasm-c/iom.c" "$dir"*.c -o "$out/$name.wasm"
		built=$((built + 1))
	fi
done
echo "built $built plugins into $out ($skipped skipped)"
