package config

import (
	"reflect"
	"strings"
	"testing"
)

// accessLog is off by default, with its rotation, sampling and exclusion defaults filled in.
func TestAccessLogDefaults(t *testing.T) {
	f, err := Parse([]byte("{}"), opts())
	if err != nil {
		t.Fatal(err)
	}
	a := f.AccessLog
	if a.Enabled || a.Format != "json" || a.File != "" || a.MaxSizeMB != 100 || a.Backups() != 5 || a.AgeDays() != 7 ||
		a.SampleRate() != 1 || len(a.Fields) != 0 || !reflect.DeepEqual(a.Exclude, []string{"/v1/models"}) {
		t.Fatalf("defaults: %+v", a)
	}
}

// Zeroes that mean something are kept: sample 0 logs only failures, maxBackups and maxAgeDays 0
// keep every rotated file, and an empty exclude logs every path.
func TestAccessLogExplicitValues(t *testing.T) {
	f, err := Parse([]byte(`accessLog:
  enabled: true
  format: text
  file: logs/access.log
  maxSizeMB: 1
  maxBackups: 0
  maxAgeDays: 0
  sample: 0
  fields: [requestId, status]
  exclude: []
`), opts())
	if err != nil {
		t.Fatal(err)
	}
	a := f.AccessLog
	if !a.Enabled || a.Format != "text" || a.File != "logs/access.log" || a.MaxSizeMB != 1 || a.Backups() != 0 ||
		a.AgeDays() != 0 || a.SampleRate() != 0 || !reflect.DeepEqual(a.Fields, []string{"requestId", "status"}) ||
		a.Exclude == nil || len(a.Exclude) != 0 {
		t.Fatalf("explicit values: %+v", a)
	}
	if _, err := Parse([]byte("accessLog: {maxSizeMB: 2000000}\n"), opts()); err == nil ||
		err.Error() != "accessLog.maxSizeMB: must be from 1 to 1048576, got 2000000" {
		t.Fatalf("a size too large: %v", err)
	}
	// A config built in code, not parsed, has the defaults too.
	var zero AccessLog
	if zero.SampleRate() != 1 || zero.Backups() != 5 || zero.AgeDays() != 7 {
		t.Fatalf("zero value: %v %v %v", zero.SampleRate(), zero.Backups(), zero.AgeDays())
	}
	for _, name := range AccessLogFields {
		if strings.ContainsAny(name, " _") {
			t.Fatalf("field %q", name)
		}
	}
}
