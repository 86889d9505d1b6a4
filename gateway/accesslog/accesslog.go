// Package accesslog writes the access log: one structured line per data-plane request, through
// log/slog, to stderr or a file rotated by size (lumberjack). A line holds what the request's
// record says and where it came from, never a key, token, prompt, answer or upstream address,
// which an Entry has no room for. The server builds the entries; this package decides which are
// written (sampling, fields, excluded paths) and writes them.
package accesslog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/iomhq/iom/gateway/config"
)

// Entry is one request's line. Strings left empty are written empty, so every line of a log has
// the same fields.
type Entry struct {
	Time      time.Time // the request's arrival
	RequestID string
	KeyID     string
	Org       string
	// Model is what the client asked for; ServedBy the model that answered (a fallback, when
	// one was used).
	Model    string
	ServedBy string
	Provider string
	// Status is the HTTP status the client got; ErrorKind the fault's kind (caller, auth,
	// policy, provider, plugin, gateway) when the request failed, a stream that broke after
	// its 200 included.
	Status       int
	ErrorKind    string
	LatencyMs    float64
	FirstByteMs  float64
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	Cache        string // hit or miss; empty when no model was called
	Fallback     string
	ClientIP     string
	Op           string
	Stream       bool
	Path         string // without the query
	TraceID      string // the W3C trace id, as x-iom-trace-id has it
}

// Failed reports whether the entry is of a request that failed: those are always written.
func (e *Entry) Failed() bool { return e.Status >= 400 || e.ErrorKind != "" }

// Indexes of config.AccessLogFields, in its order.
const (
	fTime = iota
	fRequestID
	fKeyID
	fOrg
	fModel
	fServedBy
	fProvider
	fStatus
	fErrorKind
	fLatency
	fFirstByte
	fInputTokens
	fOutputTokens
	fCost
	fCache
	fFallback
	fClientIP
	fOp
	fStream
	fPath
	fTraceID
	numFields
)

// Log is an open access log. It is safe for concurrent use.
type Log struct {
	handler  slog.Handler
	want     uint32 // bit i: field i is written
	sample   float64
	exact    map[string]bool
	prefixes []string
	out      *output // nil for stderr
}

// Open returns the access log c describes, or nil when c disables it. prev is the log written
// until now, if any: when c writes to the same file with the same rotation, the new log shares
// its file (see Close). A file that cannot be created is an error now, not a lost line later.
func Open(c config.AccessLog, prev *Log) (*Log, error) {
	if !c.Enabled {
		return nil, nil
	}
	if len(config.AccessLogFields) != numFields {
		panic("accesslog: the field list and config.AccessLogFields differ")
	}
	l := &Log{sample: c.SampleRate(), exact: map[string]bool{}}
	if len(c.Fields) == 0 {
		l.want = 1<<numFields - 1
	}
	for _, name := range c.Fields {
		for i, f := range config.AccessLogFields {
			if f == name {
				l.want |= 1 << i
			}
		}
	}
	for _, p := range c.Exclude {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			l.prefixes = append(l.prefixes, prefix)
		} else {
			l.exact[p] = true
		}
	}
	var w io.Writer = os.Stderr
	if c.File != "" {
		key := fmt.Sprintf("%s|%d|%d|%d", c.File, c.MaxSizeMB, c.Backups(), c.AgeDays())
		if prev != nil && prev.out != nil && prev.out.key == key {
			l.out = prev.out
		} else {
			out, err := openFile(c, key)
			if err != nil {
				return nil, err
			}
			l.out = out
		}
		w = l.out
	}
	if c.Format == "text" {
		l.handler = slog.NewTextHandler(w, nil)
	} else {
		l.handler = slog.NewJSONHandler(w, nil)
	}
	return l, nil
}

// openFile checks that the file can be written (creating its directory) and returns its
// rotating writer.
func openFile(c config.AccessLog, key string) (*output, error) {
	if err := os.MkdirAll(filepath.Dir(c.File), 0o755); err != nil {
		return nil, fmt.Errorf("accessLog.file: cannot create the directory of %q: %w", c.File, err)
	}
	f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("accessLog.file: cannot open %q: %w", c.File, err)
	}
	f.Close()
	return &output{key: key, lj: &lumberjack.Logger{Filename: c.File, MaxSize: c.MaxSizeMB,
		MaxBackups: c.Backups(), MaxAge: c.AgeDays()}}, nil
}

// output is a rotated file, shared by the logs that write to it. Once closed it drops what it
// is given: a line of a request that began under a log since replaced does not reopen the file.
type output struct {
	key    string
	mu     sync.Mutex
	lj     *lumberjack.Logger
	closed bool
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return len(p), nil
	}
	return o.lj.Write(p)
}

func (o *output) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return o.lj.Close()
}

// Close closes the log's file, unless next (the log replacing it, or nil) shares it.
func (l *Log) Close(next *Log) error {
	if l == nil || l.out == nil || next != nil && next.out == l.out {
		return nil
	}
	return l.out.close()
}

// Excluded reports whether requests to path are not logged.
func (l *Log) Excluded(path []byte) bool {
	if l.exact[string(path)] {
		return true
	}
	for _, p := range l.prefixes {
		if strings.HasPrefix(string(path), p) {
			return true
		}
	}
	return false
}

// Write writes e's line, unless e is of a successful request that sampling leaves out.
func (l *Log) Write(e *Entry) {
	if l.sample < 1 && !e.Failed() && (l.sample <= 0 || rand.Float64() >= l.sample) {
		return
	}
	var t time.Time // a record without a time has no time field
	if l.want&(1<<fTime) != 0 {
		t = e.Time
	}
	r := slog.NewRecord(t, slog.LevelInfo, "access", 0)
	var attrs [numFields]slog.Attr
	n := 0
	add := func(f int, a slog.Attr) {
		if l.want&(1<<f) != 0 {
			attrs[n] = a
			n++
		}
	}
	add(fRequestID, slog.String("requestId", e.RequestID))
	add(fKeyID, slog.String("keyId", e.KeyID))
	add(fOrg, slog.String("org", e.Org))
	add(fModel, slog.String("model", e.Model))
	add(fServedBy, slog.String("servedBy", e.ServedBy))
	add(fProvider, slog.String("provider", e.Provider))
	add(fStatus, slog.Int("status", e.Status))
	add(fErrorKind, slog.String("errorKind", e.ErrorKind))
	add(fLatency, slog.Float64("latencyMs", e.LatencyMs))
	add(fFirstByte, slog.Float64("firstByteMs", e.FirstByteMs))
	add(fInputTokens, slog.Int64("inputTokens", e.InputTokens))
	add(fOutputTokens, slog.Int64("outputTokens", e.OutputTokens))
	add(fCost, slog.Float64("costUsd", e.CostUSD))
	add(fCache, slog.String("cache", e.Cache))
	add(fFallback, slog.String("fallback", e.Fallback))
	add(fClientIP, slog.String("clientIp", e.ClientIP))
	add(fOp, slog.String("op", e.Op))
	add(fStream, slog.Bool("stream", e.Stream))
	add(fPath, slog.String("path", e.Path))
	add(fTraceID, slog.String("traceId", e.TraceID))
	r.AddAttrs(attrs[:n]...)
	_ = l.handler.Handle(context.Background(), r) // a line that cannot be written is not the request's failure
}
