package server

import (
	"bufio"
	"io"
	"testing"
	"time"
)

type writeLog struct{ writes []string }

func (l *writeLog) Write(p []byte) (int, error) {
	l.writes = append(l.writes, string(p))
	return len(p), nil
}

// Each flush of the stream's writer is one write to fasthttp's chunk writer, and what is left
// unflushed when fn returns goes out last; fn runs once.
func TestStreamBodyFlushesAreWrites(t *testing.T) {
	runs := 0
	b := &streamBody{fn: func(w *bufio.Writer) {
		runs++
		w.WriteString("data: 1\n\n")
		w.Flush()
		w.WriteString("data: 2\n\n")
		w.WriteString("data: 3\n\n")
		w.Flush()
		w.WriteString("data: [DONE]\n\n")
	}}
	var dst writeLog
	n, err := b.WriteTo(&dst)
	if err != nil || n != 41 || len(dst.writes) != 3 || dst.writes[1] != "data: 2\n\ndata: 3\n\n" {
		t.Fatalf("WriteTo: %d %v %q", n, err, dst.writes)
	}
	b.Close()
	if n, _ := b.WriteTo(&dst); n != 0 || runs != 1 {
		t.Fatalf("fn ran %d times", runs)
	}
}

// A body never sent still runs fn, whose first flush fails as a gone client's does.
func TestStreamBodyNotSent(t *testing.T) {
	flushed := make(chan error, 1)
	b := &streamBody{fn: func(w *bufio.Writer) {
		w.WriteString("data: 1\n\n")
		flushed <- w.Flush()
	}}
	b.Close()
	select {
	case err := <-flushed:
		if err == nil {
			t.Fatal("the flush of a body not sent succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fn did not run for a body never sent")
	}
}

// A reader of the body gets what fn writes.
func TestStreamBodyRead(t *testing.T) {
	b := &streamBody{fn: func(w *bufio.Writer) { w.WriteString("data: x\n\n") }}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "data: x\n\n" {
		t.Fatalf("read %q %v", got, err)
	}
	b.Close()
}
