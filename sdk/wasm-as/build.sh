#!/usr/bin/env bash
# Builds an AssemblyScript plugin written with this SDK into a WASM module for the gateway:
#   sdk/wasm-as/build.sh SRC_FILE OUT.wasm
# SRC_FILE is the plugin's entry file; it imports the SDK as "@iom/wasm-as". Needs Node.js 20 or
# later and the SDK's pinned compiler: cd sdk/wasm-as && npm ci.
#
# The compiler runs in SRC_FILE's directory, so the module does not depend on where it is built
# from. Flags:
#   -O3                      optimised for speed, no debug information
#   --runtime incremental    the garbage collector that frees what a call allocated (README.md)
#   --path                   a directory holding @iom/wasm-as, a link to this SDK's assembly/
#   --use abort=… trace=… seed=…
#                            AssemblyScript's hooks, imported from "env" by default (which the
#                            host refuses), routed to the SDK: abort logs and traps
# Then the module's imports and exports are checked against ABI v1, so a plugin that uses a
# JavaScript binding (console.log, Date.now…) fails here, naming the import, and not at load.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SRC_FILE OUT.wasm" >&2
	exit 2
fi
sdk="$(cd "$(dirname "$0")" && pwd)"
asc="$sdk/node_modules/.bin/asc"
if [ ! -x "$asc" ]; then
	echo "error: the AssemblyScript compiler is not installed: cd sdk/wasm-as && npm ci" >&2
	exit 1
fi
if [ ! -f "$1" ]; then
	echo "error: $1: no such file" >&2
	exit 1
fi
src_dir="$(cd "$(dirname "$1")" && pwd)"
src="$(basename "$1")"
mkdir -p "$(dirname "$2")"
out="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/@iom"
ln -s "$sdk/assembly" "$tmp/@iom/wasm-as"

hooks="~lib/@iom/wasm-as/index"
(cd "$src_dir" && "$asc" "$src" --outFile "$out" -O3 --runtime incremental --path "$tmp" \
	--use "abort=$hooks/abortHook" --use "trace=$hooks/traceHook" --use "seed=$hooks/seedHook")

if ! node - "$out" <<'EOF'; then
const fs = require("fs");
const mod = new WebAssembly.Module(fs.readFileSync(process.argv[2]));
const problems = [];
for (const i of WebAssembly.Module.imports(mod)) {
  if (i.module !== "iom" && i.module !== "wasi_snapshot_preview1") {
    problems.push(`imports ${i.module}.${i.name}, which the host does not provide (only iom and wasi_snapshot_preview1)`);
  }
}
const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
for (const name of ["memory", "iom_abi_version", "iom_alloc", "iom_free"]) {
  if (!exported.has(name)) {
    problems.push(`does not export ${name} (the entry file needs: export { iom_abi_version, iom_alloc, iom_free } from "@iom/wasm-as")`);
  }
}
for (const p of problems) console.error(`error: ${process.argv[2]} ${p}`);
process.exit(problems.length ? 1 : 0);
EOF
	rm -f "$out"
	exit 1
fi
