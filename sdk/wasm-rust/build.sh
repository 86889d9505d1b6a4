#!/usr/bin/env bash
# Builds a Rust WASM plugin that uses this SDK with rustc alone (no cargo, no registry):
#   sdk/wasm-rust/build.sh SRC_DIR OUT.wasm
#   sdk/wasm-rust/build.sh --check      prints the rustc it would use, or fails saying why
# SRC_DIR holds the plugin's crate root, lib.rs (or src/lib.rs). In a temporary directory the
# SDK is compiled to an rlib and the plugin to a cdylib for wasm32-wasi, optimised (-O, and
# link-time optimisation so the SDK's reader is inlined into the plugin) and without debug
# info; the module is then copied to OUT.wasm.
#
# It needs a rustc whose sysroot has the wasm32-wasi standard library (Debian 12: apt-get
# install rustc libstd-rust-dev-wasm32), or wasm32-wasip1, the target's name from Rust 1.78 on
# (rustup target add wasm32-wasip1). RUSTC names the one to use; without it, the first
# rustc on PATH that has the target is used, since a toolchain earlier on PATH (rustup's, say)
# may lack it.
set -euo pipefail

target=wasm32-wasi # or wasm32-wasip1: has_target sets it
here="$(cd "$(dirname "$0")" && pwd)"

usage() {
	echo "usage: $0 SRC_DIR OUT.wasm | --check" >&2
	exit 2
}

# has_target reports whether the rustc $1 has a WASI standard library, and sets target to it.
has_target() {
	local sysroot t
	sysroot="$("$1" --print sysroot 2>/dev/null)" && [ -n "$sysroot" ] || return 1
	for t in wasm32-wasi wasm32-wasip1; do
		if [ -d "$sysroot/lib/rustlib/$t" ]; then
			target=$t
			return 0
		fi
	done
	return 1
}

# find_rustc prints the rustc to use, or explains on stderr why there is none.
find_rustc() {
	if [ -n "${RUSTC:-}" ]; then
		if has_target "$RUSTC"; then
			echo "$RUSTC"
			return 0
		fi
		echo "RUSTC=$RUSTC has no $target standard library (Debian: apt-get install libstd-rust-dev-wasm32)" >&2
		return 1
	fi
	local r
	while IFS= read -r r; do
		if has_target "$r"; then
			echo "$r"
			return 0
		fi
	done < <(type -a -P rustc 2>/dev/null || true)
	echo "no rustc with the $target target found (Debian: apt-get install rustc libstd-rust-dev-wasm32)" >&2
	return 1
}

if [ $# -eq 1 ] && [ "$1" = --check ]; then
	find_rustc
	exit
fi
[ $# -eq 2 ] || usage

src="$1"
out="$2"
if [ -f "$src/lib.rs" ]; then
	crate_root="$src/lib.rs"
elif [ -f "$src/src/lib.rs" ]; then
	crate_root="$src/src/lib.rs"
else
	echo "$0: no lib.rs or src/lib.rs in $src" >&2
	exit 1
fi
rustc="$(find_rustc)"
has_target "$rustc" # the command substitution above ran in a subshell: set target here

# The crate is named after its directory, as cargo would (pii-redact-rust: pii_redact_rust).
name="$(basename "$(cd "$src" && pwd)" | tr -c 'A-Za-z0-9_\n' '_')"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

flags=(--edition 2021 --target "$target" -O -C codegen-units=1 -C lto=fat -C strip=debuginfo)
"$rustc" "${flags[@]}" --crate-type rlib --crate-name iom -o "$tmp/libiom.rlib" "$here/src/lib.rs"
"$rustc" "${flags[@]}" --crate-type cdylib --crate-name "$name" --extern iom="$tmp/libiom.rlib" \
	-o "$tmp/$name.wasm" "$crate_root"
mkdir -p "$(dirname "$out")"
cp "$tmp/$name.wasm" "$out"
