// Package e2e holds end-to-end tests: the official client SDKs, unchanged, against a real
// gateway on 127.0.0.1 in front of fake upstreams that speak the providers' wire formats.
package e2e
