package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// allocated returns how many bytes fn allocated (the whole process's, so a little more).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAnalyticsAnswersAreBounded: whatever range and step are asked, an analytics answer holds
// at most 2000 points per series (the step is widened, and the one asked for reported), a range
// over 366 days is refused, and a query costs a few MB at most.
func TestAnalyticsAnswersAreBounded(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"x"}]}`)
	g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"embed","input":"x"}`)
	g.Flush()
	now := time.Now()
	query := func(since time.Time, step, want string) {
		t.Helper()
		var r gt.Response
		alloc := allocated(func() {
			r = g.Admin("GET", fmt.Sprintf("/api/analytics?since=%d&step=%s", since.UnixMilli(), step), nil)
		})
		if r.Status != 200 {
			t.Fatalf("since %s, step %s: %d %s", since, step, r.Status, r.Body)
		}
		var rep struct {
			Step, RequestedStep string
			Series              []struct{ Points []json.RawMessage }
		}
		json.Unmarshal(r.Body, &rep)
		if len(rep.Series) != 2 {
			t.Fatalf("since %s: %d series", since, len(rep.Series))
		}
		for _, s := range rep.Series {
			if len(s.Points) > 2000 {
				t.Fatalf("since %s, step %s: %d points (step %s)", since, step, len(s.Points), rep.Step)
			}
		}
		if rep.Step != want || rep.RequestedStep != step {
			t.Fatalf("since %s: step %q, requestedStep %q; want %q, %q", since, rep.Step, rep.RequestedStep, want, step)
		}
		t.Logf("since %s, step %s: step %s, %d KB allocated", since.Format(time.DateOnly), step, rep.Step, alloc>>10)
		if alloc > 32<<20 {
			t.Fatalf("since %s, step %s: the query allocated %d MB", since, step, alloc>>20)
		}
	}
	query(now.Add(-30*24*time.Hour), "1m", "1h")  // 43,201 minutes
	query(now.Add(-365*24*time.Hour), "1m", "6h") // the widest range, at the finest step
	query(now.Add(-365*24*time.Hour), "1h", "6h")

	// Since the epoch at one minute: 29 million points per series before these bounds.
	var r gt.Response
	start := time.Now()
	alloc := allocated(func() { r = g.Admin("GET", "/api/analytics?since=0&step=1m", nil) })
	if r.Status != 400 || !strings.Contains(string(r.Body), "366 days") {
		t.Fatalf("since=0: %d %s", r.Status, r.Body)
	}
	if took := time.Since(start); took > 2*time.Second || alloc > 32<<20 {
		t.Fatalf("since=0 took %s and allocated %d MB", took, alloc>>20)
	}
	if r := g.Admin("GET", fmt.Sprintf("/api/analytics?until=%d", now.Add(400*24*time.Hour).UnixMilli()), nil); r.Status != 400 {
		t.Fatalf("until far ahead: %d %s", r.Status, r.Body)
	}
}

// TestListingsArePaged: every listing answers at most 500 items a page; a larger limit is refused.
func TestListingsArePaged(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	for _, p := range []string{"/api/models", "/api/pipelines", "/api/executions"} {
		for _, q := range []string{"limit=100000", "limit=501", "limit=0", "limit=x", "offset=-1"} {
			if p == "/api/executions" && strings.HasPrefix(q, "offset") {
				continue // executions page with a cursor
			}
			if r := g.Admin("GET", p+"?"+q, nil); r.Status != 400 || !strings.Contains(string(r.Body), "between 1 and 500") && !strings.Contains(string(r.Body), "offset") {
				t.Errorf("%s?%s: %d %s", p, q, r.Status, r.Body)
			}
		}
	}
	var page struct {
		Data  []struct{ ID string }
		Total int
		Next  *int
	}
	get := func(q string) {
		t.Helper()
		page.Data, page.Next = nil, nil
		if err := json.Unmarshal(g.Admin("GET", "/api/models?sort=id&"+q, nil).Body, &page); err != nil {
			t.Fatal(err)
		}
	}
	get("limit=1")
	if len(page.Data) != 1 || page.Data[0].ID != "echo" || page.Total != 2 || page.Next == nil || *page.Next != 1 {
		t.Fatalf("first page: %+v", page)
	}
	get("limit=1&offset=1")
	if len(page.Data) != 1 || page.Data[0].ID != "embed" || page.Next != nil {
		t.Fatalf("last page: %+v", page)
	}
	get("offset=7")
	if len(page.Data) != 0 || page.Total != 2 {
		t.Fatalf("past the end: %+v", page)
	}
}

// TestAdminAnswersAreNeverStored: every admin answer, the console's page and errors included,
// says Cache-Control: no-store.
func TestAdminAnswersAreNeverStored(t *testing.T) {
	g := gt.Start(t, "", "")
	for _, c := range []struct{ path, token string }{
		{"/api/status", gt.AdminToken}, {"/api/keys", gt.AdminToken}, {"/api/models", ""}, {"/api/models", "wrong-token-0123456789"},
		{"/api/nothing", gt.AdminToken}, {"/healthz", ""}, {"/metrics", ""}, {"/", ""}, {"/models", ""},
	} {
		r := gt.Do(t, "GET", g.AdminURL+c.path, c.token, nil)
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s (%d): Cache-Control %q", c.path, r.Status, cc)
		}
	}
}

// TestLogsNeverHoldCredentials: through a first start, key creation, wrong keys and tokens and a
// reload, at debug level, no credential appears in the log.
func TestLogsNeverHoldCredentials(t *testing.T) {
	dir := t.TempDir()
	path := firstStartConfig(t, dir)
	cfg, err := config.Load(path, app.LoadOptions())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logs := &lockedBuffer{b: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := app.New(cfg, app.Options{ConfigPath: path, Logger: log, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	creds := gt.ReadCredentials(t, filepath.Join(dir, "data", "credentials"))
	secrets := []string{creds["IOM_ADMIN_TOKEN"], creds["IOM_KEY_DEMO_APP"]}
	if len(creds) != 2 || secrets[0] == "" || secrets[1] == "" {
		t.Fatalf("credentials: %q", creds)
	}
	admin, data := "http://"+g.AdminAddr(), "http://"+g.DataAddr()
	r := gt.Do(t, "POST", admin+"/api/keys", secrets[0], map[string]any{"name": "made-by-api"})
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	secrets = append(secrets, r.JSON(t)["key"].(string), "iom-wrong-key-presented-0123456789", "wrong-admin-token-0123456789")
	gt.Do(t, "GET", data+"/v1/models", secrets[3], nil)
	gt.Do(t, "GET", admin+"/api/status", secrets[4], nil)
	gt.Do(t, "GET", data+"/v1/models", secrets[1], nil)
	gt.Do(t, "POST", data+"/v1/chat/completions", secrets[2], `{"model":"none","messages":[]}`)
	if r := gt.Do(t, "POST", admin+"/api/reload", secrets[0], nil); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
	g.Flush()
	got := logs.String()
	if !strings.Contains(got, `"level":"DEBUG"`) && !strings.Contains(got, `"level":"INFO"`) {
		t.Fatalf("nothing was logged: %q", got)
	}
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("the log holds credential %q:\n%s", s, got)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
