package server_test

import (
	"context"
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
