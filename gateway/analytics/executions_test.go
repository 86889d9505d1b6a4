package analytics

import (
	"errors"
	"testing"
	"time"
)

func TestWithNode(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(withNode([]byte(in), "gw-a")); got != want {
			t.Fatalf("withNode(%s) = %s, want %s", in, got, want)
		}
	}
	f(`{"id":"x"}`, `{"node":"gw-a","id":"x"}`)
	f(`{}`, `{"node":"gw-a"}`)
	f(`[1]`, `[1]`)
}

func TestMergedCursor(t *testing.T) {
	c := mergedCursor{Local: cursor(blockKey(time.Unix(1700000000, 0), 1), 3), Remote: RemotePos{Ms: 5, ID: "ab"}, RemoteEnd: true}
	got, err := parseMerged(c.String())
	if err != nil || got != c {
		t.Fatalf("parseMerged(%s) = %+v, %v", c, got, err)
	}
	for _, bad := range []string{"nonsense", "m.!!", "m.e30x", mergedCursor{Local: "zz.1"}.String(), cursor(blockKey(time.Unix(1700000000, 0), 1), 0)} {
		if _, err := parseMerged(bad); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("parseMerged(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}
