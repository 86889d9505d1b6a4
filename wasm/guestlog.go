package wasm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// What a guest may write to the gateway's log: iom.log, stdout and stderr lines together. The log
// is the operator's and must stay readable and cheap whatever a plugin does: lines past a bound
// are dropped and counted, and one line a second at most says how many were.
const (
	logLinesPerCall   = 100     // per call (and per start-up of an instance)
	logLinesPerSecond = 100     // per plugin, sustained…
	logBurst          = 200     // …with this many at once
	maxLogLine        = 8 << 10 // bytes; a longer line is cut, and the rest of it dropped
	failureLogsPerSec = 10      // the host's warnings about failed calls, per plugin…
	failureLogBurst   = 10      // …with this many at once
	dropReportEvery   = time.Second
)

// lineLimiter is a token bucket of log lines that counts what it drops.
type lineLimiter struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time

	dropped  atomic.Uint64 // since the last report
	total    atomic.Uint64
	reported atomic.Int64 // when, in Unix nanoseconds
}

func newLineLimiter(rate, burst float64) *lineLimiter {
	return &lineLimiter{rate: rate, burst: burst, tokens: burst}
}

// allow takes a token for one line, or counts the line as dropped.
func (l *lineLimiter) allow() bool {
	now := time.Now()
	l.mu.Lock()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	ok := l.tokens >= 1
	if ok {
		l.tokens--
	}
	l.mu.Unlock()
	if !ok {
		l.drop()
	}
	return ok
}

func (l *lineLimiter) drop() {
	l.dropped.Add(1)
	l.total.Add(1)
}

// report returns how many lines were dropped since the last report, once dropReportEvery has
// passed since it (at once when force is set), and 0 otherwise.
func (l *lineLimiter) report(force bool) uint64 {
	if l.dropped.Load() == 0 {
		return 0
	}
	now := time.Now().UnixNano()
	last := l.reported.Load()
	if !force && now-last < int64(dropReportEvery) || !l.reported.CompareAndSwap(last, now) {
		return 0
	}
	return l.dropped.Swap(0)
}

// reportDropped logs how many lines the limits dropped lately, if any.
func (p *Plugin) reportDropped(force bool) {
	if n := p.guestLog.report(force); n > 0 {
		p.log.Warn(fmt.Sprintf("wasm plugin: %d log lines dropped (at most %d a call and %d a second, %d at once)",
			n, logLinesPerCall, logLinesPerSecond, logBurst))
	}
	if n := p.failLog.report(force); n > 0 {
		p.log.Warn(fmt.Sprintf("wasm plugin: %d warnings about failed calls dropped (at most %d a second); the stats count every failure",
			n, failureLogsPerSec))
	}
}

// guestLine logs one line the guest wrote, within the limits. in is the instance writing it,
// nil when unknown.
func (p *Plugin) guestLine(in *instance, level slog.Level, prefix string, line []byte, cut bool) {
	if !p.log.Enabled(context.Background(), level) {
		return
	}
	if in != nil {
		if in.lines >= logLinesPerCall {
			p.guestLog.drop()
			return
		}
		in.lines++
	}
	if !p.guestLog.allow() {
		return
	}
	msg := prefix + string(line)
	if cut {
		msg += "…"
	}
	p.log.Log(context.Background(), level, msg)
}

// warnFailure logs a failed call at warn level, within the limits.
func (p *Plugin) warnFailure(export string, kind Kind, err error) {
	if p.failLog.allow() {
		p.log.Warn("wasm plugin call failed", "export", export, "kind", kind.String(), "error", err)
	}
}

// hostLog implements the iom.log import: log(level i32, ptr i32, len i32).
func (p *Plugin) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	level := slog.LevelInfo
	switch int32(stack[0]) {
	case 0:
		level = slog.LevelDebug
	case 2:
		level = slog.LevelWarn
	case 3:
		level = slog.LevelError
	}
	if !p.log.Enabled(ctx, level) {
		return
	}
	ptr, n := uint32(stack[1]), uint32(stack[2])
	cut := n > maxLogLine
	if cut {
		n = maxLogLine
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		b, cut = []byte(fmt.Sprintf("iom.log with a message outside the guest's memory (ptr %#x, len %d)", ptr, n)), false
		level = slog.LevelWarn
	}
	p.guestLine(p.instanceOf(mod), level, "", b, cut)
}

// streamWriter sends what a guest writes to stdout or stderr to the log, line by line.
type streamWriter struct {
	in     *instance
	level  slog.Level
	prefix string
	line   []byte
	cut    bool // the current line was cut and logged; drop the rest of it
	// head keeps the first bytes written during the current call (stderr only), so a crash
	// can be named in the error: a Go guest's panic or fatal error message comes first, its
	// goroutine traces after.
	head     []byte
	keepHead bool
}

const stderrHead = 512

func (w *streamWriter) Write(b []byte) (int, error) {
	n := len(b)
	if room := stderrHead - len(w.head); w.keepHead && room > 0 {
		w.head = append(w.head, b[:min(room, len(b))]...)
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		end := i
		if i < 0 {
			end = len(b)
		}
		if !w.cut {
			if room := maxLogLine - len(w.line); end > room {
				w.line = append(w.line, b[:room]...)
				w.flush(true)
				w.cut = true
			} else {
				w.line = append(w.line, b[:end]...)
			}
		}
		if i < 0 {
			break
		}
		if !w.cut {
			w.flush(false)
		}
		w.cut = false
		b = b[i+1:]
	}
	return n, nil
}

func (w *streamWriter) flush(cut bool) {
	w.in.plugin.guestLine(w.in, w.level, w.prefix, w.line, cut)
	w.line = w.line[:0]
}

func (w *streamWriter) reset() { w.head = w.head[:0] }

// message returns the first two non-empty lines the guest wrote to stderr during the call.
func (w *streamWriter) message() string {
	var lines []string
	for _, l := range strings.Split(string(w.head), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
			if len(lines) == 2 {
				break
			}
		}
	}
	return strings.Join(lines, " / ")
}
