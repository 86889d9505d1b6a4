package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// everythingServer is the reference MCP server of e2e/node (server-everything).
const everythingServer = "node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

// startEverythingHTTP runs server-everything's streamable HTTP transport on a free port of
// 127.0.0.1 and returns its endpoint once it accepts connections.
func startEverythingHTTP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	script, _ := filepath.Abs(everythingServer)
	cmd := exec.Command("node", script, "streamableHttp")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatalf("node: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server-everything did not start listening")
		}
	}
	return "http://" + addr + "/mcp"
}

// The official TypeScript client, through the gateway, uses server-everything started by the
// gateway over stdio and reached over streamable HTTP: tools, a call, progress, prompts,
// resources, errors.
func TestMCPNodeSDK(t *testing.T) {
	if _, err := os.Stat(everythingServer); err != nil {
		if os.Getenv("IOM_REQUIRE_NODE") == "1" {
			t.Fatal("e2e/node/node_modules is missing: run npm ci in e2e/node")
		}
		t.Skip("e2e/node/node_modules is missing (npm ci in e2e/node)")
	}
	script, _ := filepath.Abs(everythingServer)
	httpURL := startEverythingHTTP(t)
	g := gt.Start(t, "", `mcpServers:
  - id: everything
    command: ["node", "`+script+`", "stdio"]
    securityPolicy: public
  - id: everything-http
    url: `+httpURL+`
    securityPolicy: private
    allowedKeys: [app]
`)
	out := nodeScript(t, g, "mcp.mjs", "IOM_MCP_URL="+g.DataURL+"/mcp", "IOM_MCP_SERVERS=everything,everything-http")
	for _, want := range []string{"list ok", "echo ok everything", "progress ok everything", "echo ok everything-http",
		"progress ok everything-http", "prompts ok everything", "prompts ok everything-http", "resources ok everything", "resources ok everything-http", "errors ok", "auth ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
	g.Flush()
	rec := g.Admin("GET", "/api/executions?model=everything-http__echo", nil).JSON(t)
	if data, _ := rec["data"].([]any); len(data) != 1 || data[0].(map[string]any)["op"] != "tool" {
		t.Fatalf("records: %v", rec)
	}
	rec = g.Admin("GET", "/api/executions?model=everything-http__instructions.md", nil).JSON(t)
	if data, _ := rec["data"].([]any); len(data) != 1 || data[0].(map[string]any)["op"] != "resource" {
		t.Fatalf("the resource read's records: %v", rec)
	}
}
