package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// newKey creates a key through the admin API and returns its id and value.
func newKey(t *testing.T, g *gt.Gateway, name, org string) (id, value string) {
	t.Helper()
	body := map[string]any{"name": name}
	if org != "" {
		body["org"] = org
	}
	r := g.Admin("POST", "/api/keys", body)
	if r.Status != 201 {
		t.Fatalf("create key %q in %q: %d %s", name, org, r.Status, r.Body)
	}
	k := r.JSON(t)
	return k["id"].(string), k["key"].(string)
}

func visibleModels(t *testing.T, g *gt.Gateway, key string) []string {
	t.Helper()
	r := g.Data("GET", "/v1/models", key, nil)
	if r.Status != 200 {
		t.Fatalf("list models: %d %s", r.Status, r.Body)
	}
	var ids []string
	for _, m := range r.JSON(t)["data"].([]any) {
		ids = append(ids, m.(map[string]any)["id"].(string))
	}
	return ids
}

func vaultConfig(f *fakeupstream.OpenAI) string {
	return `models:
  - id: open
    name: Open
    endpoint: ` + f.URL + `
    provider: openai
  - id: vault
    name: Vault
    endpoint: ` + f.URL + `
    provider: openai
    tags: [vault-only]
    securityPolicy: private
    allowedKeys: [app]
pipelines:
  - id: vault-flow
    name: Through the vault
    nodes:
      - {id: in, type: input}
      - {id: v, type: model, data: {model: vault}}
      - {id: out, type: output}
    edges:
      - {source: in, target: v}
      - {source: v, target: out}
`
}

// A key created in another org under the name of a key a private model allows gets nothing of
// that model, on any route: allowedKeys holds key ids, and names are not ids.
func TestKeyNameReuseCannotReachPrivateModel(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", vaultConfig(f))
	if got := g.Admin("GET", "/api/models/vault", nil).JSON(t)["allowedKeys"]; !slices.Equal(toStrings(got), []string{"config:app"}) {
		t.Errorf("a config's allowedKeys must be resolved to key ids: %v", got)
	}
	_, twin := newKey(t, g, "app", "globex")
	apiVault := g.Admin("POST", "/api/models", `{"id":"api-vault","name":"API vault","endpoint":"`+f.URL+`","provider":"openai",
		"securityPolicy":"private","allowedKeys":["config:app"]}`)
	if apiVault.Status != 201 {
		t.Fatalf("register a private model by key id: %d %s", apiVault.Status, apiVault.Body)
	}

	type check struct {
		what, method, path, body string
		headers                  map[string]string
	}
	chat := func(model string, stream bool) string {
		s := ""
		if stream {
			s = `"stream":true,`
		}
		return `{"model":"` + model + `",` + s + `"messages":[{"role":"user","content":"the secret"}]}`
	}
	msg := func(model string, stream bool) string {
		s := ""
		if stream {
			s = `"stream":true,`
		}
		return `{"model":"` + model + `",` + s + `"max_tokens":16,"messages":[{"role":"user","content":"the secret"}]}`
	}
	var checks []check
	for _, m := range []string{"vault", "api-vault"} {
		checks = append(checks,
			check{"chat " + m, "POST", "/v1/chat/completions", chat(m, false), nil},
			check{"chat stream " + m, "POST", "/v1/chat/completions", chat(m, true), nil},
			check{"completion " + m, "POST", "/v1/completions", `{"model":"` + m + `","prompt":"the secret"}`, nil},
			check{"invoke " + m, "POST", "/v1/models/" + m + "/invoke", `{"prompt":"the secret"}`, nil},
			check{"messages " + m, "POST", "/v1/messages", msg(m, false), nil},
			check{"messages stream " + m, "POST", "/v1/messages", msg(m, true), nil},
			check{"retrieve " + m, "GET", "/v1/models/" + m, "", nil},
		)
	}
	checks = append(checks,
		check{"pipeline as a model", "POST", "/v1/chat/completions", chat("pipeline:vault-flow", false), nil},
		check{"pipeline stream", "POST", "/v1/chat/completions", chat("pipeline:vault-flow", true), nil},
		check{"pipeline run", "POST", "/v1/pipelines/vault-flow/run", `"the secret"`, nil},
		check{"auto routing", "POST", "/v1/chat/completions", chat("auto", false), map[string]string{"x-iom-capability": "vault-only"}},
	)
	send := func(key string, c check) gt.Response {
		h := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
		for k, v := range c.headers {
			h[k] = v
		}
		return doRaw(t, c.method, g.DataURL+c.path, h, c.body)
	}
	for _, c := range checks {
		if r := send(gt.Key, c); r.Status != 200 {
			t.Errorf("%s with the allowed key: %d %s", c.what, r.Status, r.Body)
		}
	}
	before := f.Count()
	for _, c := range checks {
		r := send(twin, c)
		if r.Status != 404 {
			t.Errorf("%s with a same-named key of another org: %d", c.what, r.Status)
		}
		if m := r.Header.Get("x-iom-model"); m != "" {
			t.Errorf("%s with a same-named key of another org was served by %q", c.what, m)
		}
	}
	if n := f.Count() - before; n != 0 {
		t.Errorf("the same-named key reached the upstream %d times", n)
	}
	seen := visibleModels(t, g, twin)
	for _, hidden := range []string{"vault", "api-vault", "pipeline:vault-flow"} {
		if slices.Contains(seen, hidden) {
			t.Errorf("the same-named key sees %s in /v1/models: %v", hidden, seen)
		}
	}
	if !slices.Contains(seen, "open") {
		t.Errorf("the same-named key should still see public models: %v", seen)
	}
	if seen := visibleModels(t, g, gt.Key); !slices.Contains(seen, "vault") || !slices.Contains(seen, "pipeline:vault-flow") {
		t.Errorf("the allowed key should see the vault: %v", seen)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// Key names are unique within an org, and every key has an id that is not a name.
func TestKeyNamesAreUniquePerOrg(t *testing.T) {
	g := gt.Start(t, "", "")
	r := g.Admin("POST", "/api/keys", `{"name":"app","org":"acme"}`)
	if r.Status != 409 || !strings.Contains(string(r.Body), `a key named \"app\" already exists in org \"acme\"`) {
		t.Fatalf("a duplicate name in one org (the config's key): %d %s", r.Status, r.Body)
	}
	id, _ := newKey(t, g, "app", "globex")
	if !regexp.MustCompile(`^key_[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("an API key's id %q", id)
	}
	if r := g.Admin("POST", "/api/keys", `{"name":"app","org":"globex"}`); r.Status != 409 {
		t.Fatalf("a duplicate name in one org (an API key): %d %s", r.Status, r.Body)
	}
	noOrg := g.Admin("POST", "/api/keys", `{"name":"app"}`)
	if noOrg.Status != 201 || noOrg.JSON(t)["org"] != "default" {
		t.Fatalf("a key without an org belongs to the default org: %d %s", noOrg.Status, noOrg.Body)
	}
	if r := g.Admin("POST", "/api/keys", `{"name":"app","org":"default"}`); r.Status != 409 {
		t.Fatalf("a duplicate name in the default org: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("POST", "/api/keys", `{"name":"key_0123456789abcdef"}`); r.Status != 400 {
		t.Fatalf("a name shaped like a key id: %d %s", r.Status, r.Body)
	}
	ids := map[string]string{}
	for _, k := range g.Admin("GET", "/api/keys", nil).JSON(t)["data"].([]any) {
		k := k.(map[string]any)
		ids[k["id"].(string)] = k["name"].(string) + "@" + k["org"].(string)
	}
	if ids["config:app"] != "app@acme" || ids["config:other"] != "other@globex" || ids[id] != "app@globex" || len(ids) != 4 {
		t.Fatalf("keys by id: %v", ids)
	}

	// The config file cannot take a name an API key has in the same org either: the reload
	// fails, and the running keys stay.
	mobile, _ := newKey(t, g, "mobile", "globex")
	cfg, err := os.ReadFile(g.Config)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(g.Config, append(cfg, "  - {name: mobile, key: test-key-globex-twin-0123, org: globex}\n"...), 0o600)
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), `keys[2].name: "mobile" is the name of key "`+mobile+`"`) {
		t.Fatalf("a config key named like an API key of its org: %v", err)
	}
	if r := g.Data("GET", "/v1/models", "test-key-globex-twin-0123", nil); r.Status != 401 {
		t.Fatalf("a failed reload added a key: %d", r.Status)
	}
}

// allowedKeys of a model registered through the API holds key ids; a name is refused with the
// id to use instead.
func TestAllowedKeysTakeKeyIDs(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", "")
	reg := func(allowed string) gt.Response {
		return g.Admin("POST", "/api/models", `{"name":"Private","endpoint":"`+f.URL+`","provider":"openai",
			"securityPolicy":"private","allowedKeys":`+allowed+`}`)
	}
	r := reg(`["app"]`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `config:app`) || !strings.Contains(string(r.Body), `"param":"allowedKeys[0]"`) {
		t.Fatalf("a key name in allowedKeys: %d %s", r.Status, r.Body)
	}
	if r := reg(`["key_0000000000000000"]`); r.Status != 400 || !strings.Contains(string(r.Body), `no key has id`) {
		t.Fatalf("an unknown key id: %d %s", r.Status, r.Body)
	}
	id, value := newKey(t, g, "mobile", "globex")
	r = reg(`["config:app","` + id + `"]`)
	if r.Status != 201 {
		t.Fatalf("key ids: %d %s", r.Status, r.Body)
	}
	for key, want := range map[string]int{gt.Key: 200, value: 200, gt.OtherKey: 404} {
		if r := chatStatus(g, key, "private"); r.Status != want {
			t.Errorf("chat with key %s…: %d, want %d", key[:9], r.Status, want)
		}
	}
	// A revoked key's id may stay in a model that is edited for another reason.
	if r := g.Admin("DELETE", "/api/keys/"+id, nil); r.Status != 204 {
		t.Fatalf("revoke: %d", r.Status)
	}
	m := g.Admin("GET", "/api/models/private", nil).JSON(t)
	m["description"] = "edited"
	if r := g.Admin("PUT", "/api/models/private", m); r.Status != 200 {
		t.Fatalf("an edit keeping a revoked key's id: %d %s", r.Status, r.Body)
	}
}

// A model registered through the API without a securityPolicy is for its org only: the org it
// names, or the default org, which keys without an org belong to.
func TestAPIModelsDefaultToOrganization(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", "")
	_, plain := newKey(t, g, "plain", "")
	reg := func(body string) map[string]any {
		t.Helper()
		r := g.Admin("POST", "/api/models", body)
		if r.Status != 201 {
			t.Fatalf("register %s: %d %s", body, r.Status, r.Body)
		}
		return r.JSON(t)
	}
	m := reg(`{"name":"Team","endpoint":"` + f.URL + `","provider":"openai"}`)
	if m["securityPolicy"] != "organization" || m["org"] != "default" {
		t.Errorf("defaults of an API registration: policy %v, org %v", m["securityPolicy"], m["org"])
	}
	m = reg(`{"name":"Acme team","endpoint":"` + f.URL + `","provider":"openai","org":"acme"}`)
	if m["securityPolicy"] != "organization" || m["org"] != "acme" {
		t.Errorf("an API registration naming its org: policy %v, org %v", m["securityPolicy"], m["org"])
	}
	reg(`{"name":"Everyone","endpoint":"` + f.URL + `","provider":"openai","securityPolicy":"public"}`)
	for _, c := range []struct {
		key, model string
		want       int
	}{
		{gt.Key, "team", 404}, {gt.OtherKey, "team", 404}, {plain, "team", 200},
		{gt.Key, "acme-team", 200}, {gt.OtherKey, "acme-team", 404}, {plain, "acme-team", 404},
		{gt.Key, "everyone", 200}, {gt.OtherKey, "everyone", 200}, {plain, "everyone", 200},
	} {
		if r := chatStatus(g, c.key, c.model); r.Status != c.want {
			t.Errorf("%s with key %s…: %d, want %d", c.model, c.key[:9], r.Status, c.want)
		}
	}
	if got := visibleModels(t, g, gt.OtherKey); !slices.Equal(got, []string{"everyone"}) {
		t.Errorf("globex sees %v", got)
	}
}

// A cached answer is shared only within the org that asked (by key, for a private model).
func TestResponseCacheIsScopedPerTenant(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", `models:
  - id: cached
    name: Cached
    endpoint: `+f.URL+`
    provider: openai
    cache: {ttlSeconds: 60}
  - id: acme-cached
    name: Acme cached
    endpoint: `+f.URL+`
    provider: openai
    securityPolicy: organization
    org: acme
    cache: {ttlSeconds: 60}
`)
	acme2ID, acme2 := newKey(t, g, "acme-two", "acme")
	if r := g.Admin("POST", "/api/models", `{"id":"private-cached","name":"Private cached","endpoint":"`+f.URL+`","provider":"openai",
		"securityPolicy":"private","allowedKeys":["config:app","`+acme2ID+`"],"cache":{"ttlSeconds":60}}`); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	ask := func(key, model, want string) {
		t.Helper()
		before := f.Count()
		r := g.Data("POST", "/v1/chat/completions", key, `{"model":"`+model+`","messages":[{"role":"user","content":"same question"}]}`)
		g.Flush()
		calls := f.Count() - before
		if r.Status != 200 || r.Header.Get("x-iom-cache") != want || (want == "hit") != (calls == 0) {
			t.Errorf("%s with key %s…: %d, cache %q (want %s), %d upstream calls", model, key[:9], r.Status, r.Header.Get("x-iom-cache"), want, calls)
		}
	}
	ask(gt.Key, "cached", "miss")
	ask(gt.OtherKey, "cached", "miss") // another org never gets acme's answer
	ask(acme2, "cached", "hit")        // the same org shares it
	ask(gt.OtherKey, "cached", "hit")
	ask(gt.Key, "acme-cached", "miss")
	ask(acme2, "acme-cached", "hit")
	ask(gt.Key, "private-cached", "miss")
	ask(acme2, "private-cached", "miss") // a private model's answers are each key's own
	ask(gt.Key, "private-cached", "hit")
}

// writeStoredModels writes models into a stopped gateway's store as an earlier release stored
// them: allowedKeys may hold key names.
func writeStoredModels(t *testing.T, dir string, models ...string) {
	t.Helper()
	dataDir := filepath.Join(dir, "data")
	mk, err := store.MasterKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(dataDir, "db"), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		var id struct{ ID string }
		if err := json.Unmarshal([]byte(m), &id); err != nil {
			t.Fatal(err)
		}
		if err := st.Put([]byte("model/"+id.ID), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// Stored models whose allowedKeys hold key names (as earlier releases allowed) get key ids on
// the first start: a name of exactly one key becomes its id, a name of no key is dropped, and a
// name of several keys stops the start, naming the model and the entry.
func TestStoredAllowedKeysMigrateToIDs(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	g := gt.Start(t, dir, "")
	soloID, _ := newKey(t, g, "solo", "acme")
	newKey(t, g, "twin", "acme")
	newKey(t, g, "twin", "globex")
	g.Stop()
	stored := func(id string, allowed ...string) string {
		b, _ := json.Marshal(map[string]any{"id": id, "name": id, "endpoint": f.URL, "provider": "openai", "modelType": "llm",
			"upstreamModel": id, "securityPolicy": "private", "allowedKeys": allowed, "managedBy": "api"})
		return string(b)
	}
	writeStoredModels(t, dir,
		stored("legacy-config", "app"),
		stored("legacy-api", "solo", "ghost", soloID),
		stored("by-id", "config:other"))

	g = gt.Start(t, dir, "")
	for id, want := range map[string][]string{"legacy-config": {"config:app"}, "legacy-api": {soloID}, "by-id": {"config:other"}} {
		if got := toStrings(g.Admin("GET", "/api/models/"+id, nil).JSON(t)["allowedKeys"]); !slices.Equal(got, want) {
			t.Errorf("%s: allowedKeys %v, want %v", id, got, want)
		}
	}
	if logs := g.Logs(); !strings.Contains(logs, `entry=ghost`) {
		t.Errorf("a dropped entry should be logged:\n%s", logs)
	}
	if r := chatStatus(g, gt.Key, "legacy-config"); r.Status != 200 {
		t.Fatalf("the key the name stood for: %d %s", r.Status, r.Body)
	}
	_, twin := newKey(t, g, "app", "globex")
	if r := chatStatus(g, twin, "legacy-config"); r.Status != 404 {
		t.Fatalf("a key named like the migrated entry: %d %s", r.Status, r.Body)
	}
	g.Stop()

	// The migration ran once: a name that is now taken by another key is not resolved again.
	g = gt.Start(t, dir, "")
	if got := toStrings(g.Admin("GET", "/api/models/legacy-config", nil).JSON(t)["allowedKeys"]); !slices.Equal(got, []string{"config:app"}) {
		t.Fatalf("after a second start: %v", got)
	}
	g.Stop()

	writeStoredModels(t, dir, stored("legacy-twin", "twin"))
	cfg, err := config.Load(filepath.Join(dir, "iom.yaml"), app.LoadOptions())
	if err != nil {
		t.Fatal(err)
	}
	started, err := app.New(cfg, app.Options{})
	if err == nil {
		started.Shutdown(context.Background())
		t.Fatal("a name of two keys must stop the start")
	}
	for _, want := range []string{`"legacy-twin"`, `"twin"`, "acme", "globex"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error should name %s: %v", want, err)
		}
	}
}
