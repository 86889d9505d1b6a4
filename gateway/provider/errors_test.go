package provider

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/spec"
)

// A fault names the provider and a reason, never where the upstream is: not its URL (whose query
// may hold a key), host, address or port, whatever failed.
func TestFaultsNameNoEndpoint(t *testing.T) {
	const query = "/secret/path/v1?api-key=SECRET"
	hanging := func(t *testing.T) string {
		raw := startRaw(t)
		hold := make(chan struct{})
		t.Cleanup(func() { close(hold) })
		raw.set(func(net.Conn, *http.Request, string) bool { <-hold; return false })
		return "http://" + raw.addr
	}
	resetting := func(t *testing.T) string {
		raw := startRaw(t)
		raw.set(func(c net.Conn, _ *http.Request, _ string) bool {
			c.(*net.TCPConn).SetLinger(0)
			return false
		})
		return "http://" + raw.addr
	}
	// streaming answers with one chunk and then hangs (stall) or resets the connection.
	streaming := func(stall bool) func(t *testing.T) string {
		return func(t *testing.T) string {
			raw := startRaw(t)
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			raw.set(func(c net.Conn, _ *http.Request, _ string) bool {
				chunk := "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
					strconv.FormatInt(int64(len(chunk)), 16)+"\r\n"+chunk+"\r\n")
				if stall {
					<-hold
				} else {
					c.(*net.TCPConn).SetLinger(0)
				}
				return false
			})
			return "http://" + raw.addr
		}
	}
	cases := []struct {
		name     string
		upstream func(t *testing.T) string // its scheme, host and port
		stream   bool
		want     string
	}{
		{"refused", func(t *testing.T) string {
			raw := startRaw(t)
			raw.stop()
			return "http://" + raw.addr
		}, false, "cannot reach upstream openai: connection refused"},
		{"no such host", func(t *testing.T) string {
			return "http://no-such-host.invalid:8080"
		}, false, "cannot reach upstream openai: its host name"},
		{"timeout", hanging, false, "upstream openai did not answer within 200ms"},
		{"timeout streaming", hanging, true, "upstream openai did not answer within 200ms"},
		{"reset", resetting, false, "upstream openai failed to answer"},
		{"closed", func(t *testing.T) string {
			raw := startRaw(t)
			raw.set(func(net.Conn, *http.Request, string) bool { return false })
			return "http://" + raw.addr
		}, false, "upstream openai failed to answer: it closed the connection without answering"},
		{"not TLS", func(t *testing.T) string {
			ts := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(ts.Close)
			return "https://" + ts.Listener.Addr().String()
		}, false, "cannot reach upstream openai: it does not speak TLS"},
		{"untrusted certificate", func(t *testing.T) string {
			ts := httptest.NewUnstartedServer(http.NotFoundHandler())
			ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake fails, as it should
			ts.StartTLS()
			t.Cleanup(ts.Close)
			return "https://" + ts.Listener.Addr().String()
		}, false, "cannot reach upstream openai: its TLS certificate is not trusted"},
		{"stream goes quiet", streaming(true), true, "upstream openai went quiet for 200ms"},
		{"stream reset", streaming(false), true, "upstream openai broke off its answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			origin := tc.upstream(t)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://"))
			m := &spec.Model{ID: "m", Provider: "openai", Endpoint: origin + query, UpstreamModel: "up", TimeoutMs: 200}
			u := upstreamOf(t, m)
			var err error
			if tc.stream {
				var s Stream
				if s, err = u.Stream(chat(t, "hi", true)); err == nil {
					_, err = drain(t, s)
				}
			} else {
				_, err = ask(u, "hi", t)
			}
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("no failure: %v", err)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q, want it to say %q", msg, tc.want)
			}
			for _, leak := range []string{"SECRET", "api-key", "secret/path", "127.0.0.1", "no-such-host", "://", port} {
				if strings.Contains(msg, leak) {
					t.Errorf("%q names %q", msg, leak)
				}
			}
		})
	}
}
