package config

import (
	"strings"
	"testing"
)

// responses.retentionHours defaults to 30 days and must be from 1 hour to ten years.
func TestResponsesRetention(t *testing.T) {
	f, err := Parse([]byte("server: {listen: \":8080\"}\n"), opts())
	if err != nil {
		t.Fatal(err)
	}
	if f.Responses.RetentionHours != DefaultResponsesRetentionHours {
		t.Fatalf("default retention %d", f.Responses.RetentionHours)
	}
	f, err = Parse([]byte("responses: {retentionHours: 48}\n"), opts())
	if err != nil || f.Responses.RetentionHours != 48 {
		t.Fatalf("retention 48: %v %+v", err, f)
	}
	for _, bad := range []string{"-1", "87601"} {
		_, err := Parse([]byte("responses: {retentionHours: "+bad+"}\n"), opts())
		if err == nil || !strings.Contains(err.Error(), "responses.retentionHours: must be from 1 to 87600") {
			t.Errorf("retention %s: %v", bad, err)
		}
	}
}
