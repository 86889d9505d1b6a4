// Package vmtest starts a real VictoriaMetrics (single-node) for tests: on a free port of
// 127.0.0.1, its data in a temp dir, stopped when the test ends.
package vmtest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Server is a running VictoriaMetrics.
type Server struct {
	URL string // http://127.0.0.1:port
	cmd *exec.Cmd
}

// Start starts victoria-metrics. Without it on the PATH the test is skipped, or fails when
// IOM_REQUIRE_VM is set (as CI sets it).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		if os.Getenv("IOM_REQUIRE_VM") != "" {
			t.Fatal("victoria-metrics is required (IOM_REQUIRE_VM is set) but not on the PATH")
		}
		t.Skip("victoria-metrics is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// Queries see points as soon as they are flushed (every second), not a minute later.
	cmd := exec.Command(bin, "-httpListenAddr="+addr, "-storageDataPath="+t.TempDir(), "-retentionPeriod=1d",
		"-search.latencyOffset=0s", "-loggerLevel=ERROR")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(s.URL + "/health"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("victoria-metrics did not become healthy")
	return nil
}

// Series runs an instant query and returns each series' labels and value.
func (s *Server) Series(ctx context.Context, query string) ([]map[string]string, []string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return nil, nil, err
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer r.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, nil, err
	}
	var labels []map[string]string
	var values []string
	for _, res := range body.Data.Result {
		v, _ := res.Value[1].(string)
		labels, values = append(labels, res.Metric), append(values, v)
	}
	return labels, values, nil
}
