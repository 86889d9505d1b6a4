package iomplugin

import (
	"io"
	"log/slog"
	"os"
	"sync"
)

// stderr is the process's own stderr, taken before go-plugin's Serve points os.Stderr at a pipe
// of its own: the gateway parses log lines from the real one.
var stderr io.Writer = os.Stderr

var logger = sync.OnceValue(func() *slog.Logger { return newLogger(stderr) })

// Logger returns the plugin's logger. Its lines reach the gateway's log at their own level,
// under the plugin's name, with their attributes. It writes JSON lines in the format go-plugin
// hosts parse (hclog's: "@level", "@message", "@timestamp" and the attributes).
func Logger() *slog.Logger { return logger() }

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug - 4, // trace: the host decides what it keeps
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				// The only layout go-plugin's host accepts.
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", levelName(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
