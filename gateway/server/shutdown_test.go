package server_test

import (
	"context"
	"net"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// TestShutdownRightAfterStart: a Shutdown that comes before the servers' goroutines have begun
// to serve still ends them, within its deadline.
func TestShutdownRightAfterStart(t *testing.T) {
	dir := t.TempDir()
	for range 10 {
		g := gt.Start(t, dir, "")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := g.Shutdown(ctx)
		cancel()
		g.Gateway = nil // stopped
		if err != nil {
			t.Fatalf("shutdown right after start: %v", err)
		}
	}
}

// A connection that has sent nothing (an HTTP client's spare one) does not hold a shutdown up:
// fasthttp counts a new connection as busy for its first 5 s, so the gateway closes those that
// stay silent once it stops accepting.
func TestShutdownClosesSilentConnections(t *testing.T) {
	g := gt.Start(t, "", "")
	addr := g.DataAddr()
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(100 * time.Millisecond) // accepted
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = g.Shutdown(ctx)
	g.Gateway = nil // stopped
	if err != nil {
		t.Fatalf("shutdown with a silent connection open: %v (after %v)", err, time.Since(start))
	}
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("the silent connection is still open")
	}
}
