#!/usr/bin/env bash
# Regenerates the Go code of the plugin contract (sdk/plugin/proto/plugin.pb.go,
# sdk/plugin/proto/plugin_grpc.pb.go) from sdk/plugin/proto/plugin.proto. The contract lives in
# the author kit's module, which the gateway imports it from. The output is committed; run this
# after editing the .proto.
#
# Needs protoc (Debian's protobuf-compiler; the committed code was made with libprotoc 3.21.12,
# whose version is stamped in the header) and Go. The two Go generators are installed at the
# pinned versions below into a temporary directory, so the result does not depend on whatever
# is on PATH:
#   - protoc-gen-go matches google.golang.org/protobuf in sdk/plugin/go.mod;
#   - protoc-gen-go-grpc stays at v1.3.0, whose output works with every
#     google.golang.org/grpc from v1.61.0 (the oldest go-plugin v1.8.0 accepts) on; v1.4.0 and
#     later would force a newer grpc on plugin authors.
set -euo pipefail

PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.3.0
WANT_PROTOC="libprotoc 3.21.12"

cd "$(dirname "$0")/../sdk/plugin/proto"

command -v protoc >/dev/null || { echo "gen.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
if [ "$(protoc --version)" != "$WANT_PROTOC" ]; then
	echo "gen.sh: warning: $(protoc --version) is not $WANT_PROTOC; only the version comment will differ" >&2
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"

protoc \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	plugin.proto
