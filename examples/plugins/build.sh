#!/usr/bin/env bash
# Builds the example WASM plugins into OUTDIR as <name>.wasm, every one or those named:
#   examples/plugins/build.sh OUTDIR [NAME...]
# Go plugins need only Go; C plugins need clang, wasm-ld and wasi-libc (Debian: apt-get install
# clang lld wasi-libc). Without clang the C plugins are skipped with a message, unless
# IOM_REQUIRE_WASM_C=1, which makes that an error. CLANG names another clang (default clang);
# WASI_SYSROOT points it at a wasi-libc sysroot where it does not find one itself (Debian's
# clang does). Rust plugins need a rustc with the wasm32-wasi target (Debian: apt-get install
# rustc libstd-rust-dev-wasm32), which sdk/wasm-rust/build.sh finds (RUSTC names another);
# without one they are skipped with a message, unless IOM_REQUIRE_WASM_RUST=1. AssemblyScript
# plugins need Node.js and the compiler that cd sdk/wasm-as && npm ci installs; without it they
# are skipped with a message, unless IOM_REQUIRE_WASM_AS=1.
set -euo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 OUTDIR [NAME...]" >&2
	exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
shift
only=" $* " # the plugins to build; all when empty

clang="${CLANG:-clang}"
have_clang=1
if ! command -v "$clang" >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
	have_clang=0
fi

cflags=(--target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-debug -Wall -Wextra)
if [ -n "${WASI_SYSROOT:-}" ]; then
	cflags+=("--sysroot=$WASI_SYSROOT")
fi

# rust_why says why no Rust plugin can be built; empty when they can.
rust_build="$root/sdk/wasm-rust/build.sh"
rust_why=""
if ! rust_why="$(bash "$rust_build" --check 2>&1 >/dev/null)"; then
	rust_why="${rust_why:-no rustc with the wasm32-wasi target}"
fi

# as_entry prints the entry file of the AssemblyScript plugin in directory $1: assembly/index.ts,
# or a .ts file at its top that imports the SDK; nothing when there is none.
as_entry() {
	local f
	for f in "$1assembly/index.ts" "$1"*.ts; do
		if [ -f "$f" ] && grep -q '"@iom/wasm-as"' "$f"; then
			echo "$f"
			return
		fi
	done
}

built=0
skipped=0
for dir in "$here"/*/; do
	name="$(basename "$dir")"
	if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then
		continue
	fi
	# A WASM plugin is a directory whose Go sources export with //go:wasmexport, whose C
	# sources use the C SDK, a Rust crate that uses the Rust SDK, or AssemblyScript that uses
	# the AssemblyScript SDK; the others (process plugins) are built elsewhere.
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
	elif grep -qs 'sdk/wasm-rust' "${dir}Cargo.toml" || grep -qs 'iom::' "${dir}lib.rs" "${dir}src/lib.rs"; then
		# a Rust crate that uses the Rust SDK
		if [ -n "$rust_why" ]; then
			if [ "${IOM_REQUIRE_WASM_RUST:-}" = 1 ]; then
				echo "error: Rust plugin $name: $rust_why" >&2
				exit 1
			fi
			echo "skip  $name: Rust plugin, and $rust_why"
			skipped=$((skipped + 1))
			continue
		fi
		echo "rust  $name"
		bash "$rust_build" "$dir" "$out/$name.wasm"
		built=$((built + 1))
	elif entry="$(as_entry "$dir")" && [ -n "$entry" ]; then
		if [ ! -x "$root/sdk/wasm-as/node_modules/.bin/asc" ]; then
			if [ "${IOM_REQUIRE_WASM_AS:-}" = 1 ]; then
				echo "error: AssemblyScript plugin $name needs the SDK's compiler: cd sdk/wasm-as && npm ci" >&2
				exit 1
			fi
			echo "skip  $name: AssemblyScript plugin, and its compiler is not installed (cd sdk/wasm-as && npm ci)"
			skipped=$((skipped + 1))
			continue
		fi
		echo "as    $name"
		bash "$root/sdk/wasm-as/build.sh" "$entry" "$out/$name.wasm"
		built=$((built + 1))
	fi
done
echo "built $built plugins into $out ($skipped skipped)"
