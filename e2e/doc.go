// Package e2e holds end-to-end tests: the official client SDKs, unchanged, against a real
// gateway on 127.0.0.1 in front of fake upstreams that speak the providers' wire formats.
//
// It is a Go module of its own (github.com/iomhq/iom/e2e, built against the gateway in this
// tree), so that the client SDKs stay out of the gateway's requirements: go test ./... at the
// repository's root does not reach it. make test runs it; by hand, from this directory:
//
//	IOM_PLUGINS_DIR=$PWD/../bin/plugins go test ./...
//
// IOM_PLUGINS_DIR names the example plugins built by make plugins; without it the tests build
// them into a temp dir.
package e2e
