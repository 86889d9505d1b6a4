package responses

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/gateway/wire/openai"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStoreScopedByOrg(t *testing.T) {
	s := NewStore(openStore(t), time.Hour)
	p := prepare(t, `{"model":"m","input":"hi"}`, nil)
	r, _ := p.Complete([]byte(`{"choices":[{"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}`), provider.Usage{}, now)
	rec, err := p.NewRecord("acme", r)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(r.ID, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("acme", r.ID)
	if err != nil || !strings.Contains(string(got.Response), `"text":"hello"`) || len(got.Input) != 1 || got.Size() < 100 {
		t.Fatalf("get: %v %+v", err, got)
	}
	conv, err := got.Conversation()
	if err != nil || jsonOf(conv) != `[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]` {
		t.Fatalf("conversation %v %s", err, jsonOf(conv))
	}
	if _, err := s.Get("globex", r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another org: %v", err)
	}
	if err := s.Delete("globex", r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another org deletes: %v", err)
	}
	for _, id := range []string{"resp_nope", "resp_" + strings.Repeat("g", 24), "../" + r.ID, ""} {
		if _, err := s.Get("acme", id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("id %q: %v", id, err)
		}
	}
	if err := s.Delete("acme", r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("acme", r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestStoreBoundsRecords(t *testing.T) {
	s := NewStore(openStore(t), time.Hour)
	big := openai.Message{Role: "user", Content: []byte(`"` + strings.Repeat("x", MaxRecordBytes) + `"`)}
	rec := &Record{Org: "acme", Response: []byte(`{}`), History: []openai.Message{big}}
	if err := s.Put("resp_"+reqID, rec); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a record over the bound: %v", err)
	}
}

func TestPage(t *testing.T) {
	rec := &Record{}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		rec.Input = append(rec.Input, openai.ResponsesItem{ID: id, Type: "message", Role: "user"})
	}
	ids := func(l openai.ResponsesItemList) string {
		var s []string
		for _, it := range l.Data {
			s = append(s, it.ID)
		}
		return strings.Join(s, "")
	}
	p, _ := rec.Page(2, "desc", "")
	if ids(p) != "ed" || !p.HasMore || *p.FirstID != "e" || *p.LastID != "d" || p.Object != "list" {
		t.Fatalf("first page %+v", p)
	}
	p, _ = rec.Page(2, "desc", *p.LastID)
	if ids(p) != "cb" || !p.HasMore {
		t.Fatalf("second page %+v", p)
	}
	p, _ = rec.Page(10, "asc", "c")
	if ids(p) != "de" || p.HasMore {
		t.Fatalf("asc after c %+v", p)
	}
	p, _ = rec.Page(10, "asc", "e")
	if len(p.Data) != 0 || p.FirstID != nil || p.HasMore {
		t.Fatalf("after the last %+v", p)
	}
	if _, err := rec.Page(10, "asc", "zz"); err == nil {
		t.Fatal("an unknown cursor must fail")
	}
}
