package iomplugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// fake is a provider and transformer whose answers the tests pick through the request.
type fake struct{}

func (fake) Transform(_ context.Context, env []byte) ([]byte, error) {
	if string(env) == "fail" {
		return nil, errors.New("transform broke")
	}
	return append([]byte("seen:"), env...), nil
}

func (fake) Complete(ctx context.Context, c Call) ([]byte, error) {
	switch string(c.Request) {
	case "upstream":
		return nil, fmt.Errorf("wrapped: %w", &UpstreamError{Status: 503, Message: "overloaded", Code: "busy",
			Body: []byte(`{"error":{"message":"overloaded"}}`), RetryAfter: 2})
	case "unreachable":
		return nil, &UpstreamError{Message: "dial tcp: refused"}
	case "status":
		return nil, status.Error(codes.FailedPrecondition, "not ready")
	case "transport-code":
		return nil, status.Error(codes.Unavailable, "busy")
	case "panic":
		panic("boom")
	}
	return json.Marshal(map[string]any{"op": c.Op, "model": c.Model, "config": c.Config, "key": c.APIKey})
}

func (fake) Stream(_ context.Context, c Call, send func([]byte) error) error {
	buf := []byte("chunk-0")
	for i := range 3 {
		buf[len(buf)-1] = byte('0' + i) // send copies, so reusing the buffer is fine
		if err := send(buf); err != nil {
			return err
		}
	}
	if string(c.Request) == "fail-late" {
		return &UpstreamError{Message: "cut"}
	}
	return nil
}

// serve runs the kit's gRPC servers on 127.0.0.1, as go-plugin would over its socket.
func serve(t *testing.T) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(nil)
	if err := (&providerPlugin{impl: fake{}}).GRPCServer(nil, srv); err != nil {
		t.Fatal(err)
	}
	if err := (&transformerPlugin{impl: fake{}}).GRPCServer(nil, srv); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.Dial(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestProviderServer(t *testing.T) {
	p := pluginpb.NewProviderClient(serve(t))
	ctx := context.Background()

	resp, err := p.Complete(ctx, &pluginpb.ProviderRequest{Op: "chat", Request: []byte(`{}`), ApiKey: "k",
		Model: []byte(`{"id":"a","upstreamModel":"b","endpoint":"c"}`), Config: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"config":{"x":1},"key":"k","model":{"id":"a","upstreamModel":"b","endpoint":"c"},"op":"chat"}`
	if string(resp.Response) != want {
		t.Fatalf("Complete = %s\nwant      %s", resp.Response, want)
	}

	for _, tc := range []struct {
		request string
		code    codes.Code
		message string
		detail  *pluginpb.UpstreamError
	}{
		{"upstream", codes.Unavailable, "upstream returned HTTP 503: overloaded",
			&pluginpb.UpstreamError{Status: 503, Message: "overloaded", Code: "busy", Body: []byte(`{"error":{"message":"overloaded"}}`), RetryAfterSeconds: 2}},
		{"unreachable", codes.Unavailable, "upstream unreachable: dial tcp: refused", &pluginpb.UpstreamError{Message: "dial tcp: refused"}},
		{"status", codes.FailedPrecondition, "not ready", nil},
		// The host reads Unavailable as a broken connection: a plugin's own never passes as one.
		{"transport-code", codes.Unknown, "busy", nil},
		{"panic", codes.Internal, "plugin panicked: boom", nil},
	} {
		t.Run(tc.request, func(t *testing.T) {
			_, err := p.Complete(ctx, &pluginpb.ProviderRequest{Request: []byte(tc.request)})
			st := status.Convert(err)
			if st.Code() != tc.code || st.Message() != tc.message {
				t.Fatalf("got %s %q, want %s %q", st.Code(), st.Message(), tc.code, tc.message)
			}
			var got *pluginpb.UpstreamError
			for _, d := range st.Details() {
				got, _ = d.(*pluginpb.UpstreamError)
			}
			if (got == nil) != (tc.detail == nil) || got != nil && (got.Status != tc.detail.Status ||
				got.Message != tc.detail.Message || got.Code != tc.detail.Code ||
				!bytes.Equal(got.Body, tc.detail.Body) || got.RetryAfterSeconds != tc.detail.RetryAfterSeconds) {
				t.Fatalf("detail %v, want %v", got, tc.detail)
			}
		})
	}

	if _, err := p.Complete(ctx, &pluginpb.ProviderRequest{Model: []byte(`{`)}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a bad model description: %v", err)
	}
}

func TestProviderStream(t *testing.T) {
	p := pluginpb.NewProviderClient(serve(t))
	for _, tc := range []struct {
		request string
		end     codes.Code
	}{{"ok", codes.OK}, {"fail-late", codes.Unavailable}} {
		s, err := p.Stream(context.Background(), &pluginpb.ProviderRequest{Request: []byte(tc.request)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			c, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				if status.Code(err) != tc.end {
					t.Fatalf("%s: stream ended with %v", tc.request, err)
				}
				break
			}
			got = append(got, string(c.Chunk))
		}
		if strings.Join(got, ",") != "chunk-0,chunk-1,chunk-2" {
			t.Fatalf("%s: chunks %q", tc.request, got)
		}
	}
}

func TestTransformerServer(t *testing.T) {
	tr := pluginpb.NewTransformerClient(serve(t))
	resp, err := tr.Transform(context.Background(), &pluginpb.TransformRequest{Envelope: []byte(`{}`)})
	if err != nil || string(resp.Result) != "seen:{}" {
		t.Fatalf("Transform = %v, %v", resp, err)
	}
	_, err = tr.Transform(context.Background(), &pluginpb.TransformRequest{Envelope: []byte("fail")})
	if st := status.Convert(err); st.Code() != codes.Unknown || st.Message() != "transform broke" {
		t.Fatalf("a failing transform: %v", err)
	}
}

// The logger's lines must be what go-plugin's host parses: hclog's JSON keys and time layout.
func TestLoggerFormat(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf)
	l.Debug("d")
	l.Warn("careful", "n", 3)
	l.Log(context.Background(), slog.LevelDebug-4, "t")
	var levels []string
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", rec["@timestamp"].(string)); err != nil {
			t.Fatalf("timestamp: %v", err)
		}
		if rec["@message"] == "careful" && rec["n"] != 3.0 {
			t.Fatalf("attributes lost: %s", line)
		}
		levels = append(levels, rec["@level"].(string))
	}
	if strings.Join(levels, ",") != "debug,warn,trace" {
		t.Fatalf("levels %v", levels)
	}
}

// A plugin whose gateway is gone exits by itself. The test runs this test binary as a parent
// that starts a child plugin stand-in and exits at once, orphaning it.
func TestExitWithParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExitWithParent$")
	cmd.Env = append(os.Environ(), "IOMPLUGIN_TEST_ROLE=parent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("parent printed %q", out)
	}
	deadline := time.Now().Add(3 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			syscallKill(pid)
			t.Fatalf("the orphaned plugin %d is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	switch os.Getenv("IOMPLUGIN_TEST_ROLE") {
	case "parent":
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), "IOMPLUGIN_TEST_ROLE=orphan")
		stdout, _ := child.StdoutPipe()
		if err := child.Start(); err != nil {
			os.Exit(2)
		}
		// Wait until the child watches, then leave it behind.
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		fmt.Print(line)
		os.Exit(0)
	case "plugin":
		Serve(Plugin{Provider: fake{}, Transformer: fake{}})
		os.Exit(0)
	case "orphan":
		go exitWithParent(os.Getppid(), 20*time.Millisecond)
		fmt.Println(os.Getpid())
		time.Sleep(30 * time.Second)
		os.Exit(1)
	}
	stderr = io.Discard // the panic test's log line is expected noise
	os.Exit(m.Run())
}

// running reports whether pid is a live process: neither gone nor a zombie nobody reaped.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := bytes.Cut(b, []byte(") "))
	return len(after) > 0 && after[0] != 'Z'
}

func syscallKill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
