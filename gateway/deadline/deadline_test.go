package deadline

import (
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var l Lazy
	if _, arm := l.Due(t0, 0); arm {
		t.Fatal("no deadline asked for, none armed: nothing to do")
	}

	// The first deadline is armed; one a little later, asked for a little later, is not.
	l.Set(at(60 * time.Second))
	if d, arm := l.Due(t0, 0); !arm || !d.Equal(at(60*time.Second)) {
		t.Fatalf("first deadline: %v %v", d, arm)
	}
	l.Set(at(61 * time.Second))
	if d, arm := l.Due(at(time.Second), 0); arm || !d.Equal(at(60*time.Second)) {
		t.Fatalf("a deadline 1 s later with 60 s left keeps the armed one: %v %v", d, arm)
	}
	// Once the armed one is short by more than an eighth of the time left, it moves.
	l.Set(at(70 * time.Second))
	if d, arm := l.Due(at(10*time.Second), 0); !arm || !d.Equal(at(70*time.Second)) {
		t.Fatalf("10 s short of 60 s left: %v %v", d, arm)
	}
	// An earlier deadline is always armed.
	l.Set(at(69 * time.Second))
	if d, arm := l.Due(at(10*time.Second), 0); !arm || !d.Equal(at(69*time.Second)) {
		t.Fatalf("earlier deadline: %v %v", d, arm)
	}
	// Clearing the deadline clears the socket's once.
	l.Set(time.Time{})
	if d, arm := l.Due(at(10*time.Second), 0); !arm || !d.IsZero() {
		t.Fatalf("cleared: %v %v", d, arm)
	}
	if _, arm := l.Due(at(10*time.Second), 0); arm {
		t.Fatal("cleared twice")
	}
}

func TestDueLimit(t *testing.T) {
	t0 := time.Now()
	var l Lazy
	// An idle limit alone: armed, then kept while reads come often.
	if d, arm := l.Due(t0, 8*time.Second); !arm || !d.Equal(t0.Add(8*time.Second)) {
		t.Fatalf("limit: %v %v", d, arm)
	}
	if _, arm := l.Due(t0.Add(500*time.Millisecond), 8*time.Second); arm {
		t.Fatal("0.5 s later with an 8 s limit: keep")
	}
	if _, arm := l.Due(t0.Add(1100*time.Millisecond), 8*time.Second); !arm {
		t.Fatal("1.1 s later with an 8 s limit: move")
	}
	// A deadline sooner than the limit wins over it.
	l.Set(t0.Add(3 * time.Second))
	if d, arm := l.Due(t0.Add(2*time.Second), 8*time.Second); !arm || !d.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("deadline under the limit: %v %v", d, arm)
	}
}

// A deadline that has passed is armed (the operation then fails at once), never skipped.
func TestDuePassed(t *testing.T) {
	t0 := time.Now()
	var l Lazy
	l.Set(t0.Add(time.Second))
	l.Due(t0, 0)
	l.Set(t0.Add(999 * time.Millisecond))
	if _, arm := l.Due(t0.Add(2*time.Second), 0); !arm {
		t.Fatal("passed deadline not armed")
	}
}

func TestNone(t *testing.T) {
	var l Lazy
	if !l.None() {
		t.Fatal("zero value")
	}
	l.Set(time.Now().Add(time.Second))
	if l.None() {
		t.Fatal("asked for")
	}
	l.Due(time.Now(), 0)
	l.Set(time.Time{})
	if l.None() {
		t.Fatal("still armed")
	}
	l.Due(time.Now(), 0)
	if !l.None() {
		t.Fatal("cleared")
	}
}
