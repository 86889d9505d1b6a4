package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
)

// hangAfter makes raw answer with head (and whatever body it starts) and then wait, reporting on
// the channel when the connection closes under it.
func hangAfter(raw *rawUpstream, head string) <-chan struct{} {
	gone := make(chan struct{}, 1)
	raw.set(func(c net.Conn, _ *http.Request, _ string) bool {
		io.WriteString(c, head)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.Read(make([]byte, 1)) // until the gateway closes the connection
		gone <- struct{}{}
		return false
	})
	return gone
}

// cancelAfter cancels ctx after d, and returns when it did.
func cancelAfter(d time.Duration, cancel context.CancelFunc) *atomic.Int64 {
	var at atomic.Int64
	time.AfterFunc(d, func() {
		at.Store(time.Now().UnixNano())
		cancel()
	})
	return &at
}

func isCancelled(err error) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Code == "client_closed" && fe.Kind == fault.Caller
}

// A stream whose context is cancelled fails at once, even while it waits for the next chunk, and
// its connection is closed.
func TestStreamCancelled(t *testing.T) {
	raw := startRaw(t)
	chunk := "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
	gone := hangAfter(raw, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
		strconv.FormatInt(int64(len(chunk)), 16)+"\r\n"+chunk+"\r\n")
	u := upstreamOf(t, raw.model(10*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	call := chat(t, "stream", true)
	call.Ctx = ctx
	s, err := u.Stream(call)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Next(); err != nil || !strings.Contains(string(c), `"a"`) {
		t.Fatalf("first chunk: %s, %v", c, err)
	}
	at := cancelAfter(50*time.Millisecond, cancel)
	_, err = s.Next()
	if took := time.Since(time.Unix(0, at.Load())); took > 100*time.Millisecond {
		t.Errorf("Next returned %s after the cancel", took)
	}
	if !isCancelled(err) {
		t.Errorf("Next after the cancel: %v", err)
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Error("the upstream's connection is still open")
	}
	s.Close()
	settled(t, u)
}

// A plain call whose context is cancelled fails at once, and its connection is closed; one whose
// context is done already fails without a connection.
func TestCallCancelled(t *testing.T) {
	raw := startRaw(t)
	gone := hangAfter(raw, "")
	u := upstreamOf(t, raw.model(10*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	call := chat(t, "wait", false)
	call.Ctx = ctx
	at := cancelAfter(50*time.Millisecond, cancel)
	_, err := u.Do(call)
	if took := time.Since(time.Unix(0, at.Load())); took > 100*time.Millisecond {
		t.Errorf("Do returned %s after the cancel", took)
	}
	if !isCancelled(err) {
		t.Errorf("Do after the cancel: %v", err)
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Error("the upstream's connection is still open")
	}

	conns := raw.conns.Load()
	if _, err := u.Do(call); !isCancelled(err) {
		t.Errorf("Do with a cancelled context: %v", err)
	}
	streamed := chat(t, "stream", true)
	streamed.Ctx = ctx
	if s, err := u.Stream(streamed); !isCancelled(err) {
		t.Errorf("Stream with a cancelled context: %v", err)
		if err == nil {
			s.Close()
		}
	}
	if n := raw.conns.Load() - conns; n != 0 {
		t.Errorf("%d connections for calls cancelled already", n)
	}
	settled(t, u)
}

// A call's context bounds it as its deadline does.
func TestCallContextDeadline(t *testing.T) {
	raw := startRaw(t)
	hangAfter(raw, "")
	u := upstreamOf(t, raw.model(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	call := chat(t, "wait", false)
	call.Ctx = ctx
	t0 := time.Now()
	_, err := u.Do(call)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != "upstream_timeout" || time.Since(t0) > 2*time.Second {
		t.Fatalf("after %s: %v", time.Since(t0), err)
	}
}

// A plugin's call runs under the call's context.
func TestPluginCallCancelled(t *testing.T) {
	pool := NewPool()
	pool.Plugins = func(string) (PluginModel, error) { return blockingPlugin{}, nil }
	u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "plugin:block"}, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	call := chat(t, "wait", false)
	call.Ctx = ctx
	at := cancelAfter(50*time.Millisecond, cancel)
	_, err = u.Do(call)
	if took := time.Since(time.Unix(0, at.Load())); took > 100*time.Millisecond {
		t.Errorf("Do returned %s after the cancel", took)
	}
	if !isCancelled(err) {
		t.Errorf("Do after the cancel: %v", err)
	}
}

// blockingPlugin answers when its context ends.
type blockingPlugin struct{}

func (blockingPlugin) Adapter() bool { return false }
func (blockingPlugin) AdaptRequest(context.Context, Op, []byte, PluginModelInfo) (*PluginHTTP, error) {
	return nil, errors.New("not an adapter")
}
func (blockingPlugin) AdaptResponse(context.Context, Op, int, map[string]string, []byte, []byte, PluginModelInfo) ([]byte, error) {
	return nil, errors.New("not an adapter")
}
func (blockingPlugin) Infer(ctx context.Context, _ Op, _ []byte, _ PluginModelInfo) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (blockingPlugin) InferStream(context.Context, Op, []byte, PluginModelInfo) (ChunkStream, error) {
	return nil, nil
}

// A transport fault says whether the request went out, and keeps what the gateway knows for its
// logs, without the endpoint's query.
func TestTransportFaultDetail(t *testing.T) {
	raw := startRaw(t)
	raw.set(func(net.Conn, *http.Request, string) bool { return false })
	m := raw.model(10 * time.Second)
	m.Endpoint += "?api-key=SECRET"
	_, err := ask(upstreamOf(t, m), "hi", t)
	var fe *fault.Error
	if !errors.As(err, &fe) || !fe.Delivered || !strings.Contains(fe.Detail, raw.addr) || strings.Contains(fe.Detail, "SECRET") {
		t.Fatalf("delivered, then closed: %#v", fe)
	}
	raw.stop()
	_, err = ask(upstreamOf(t, m), "hi", t)
	if !errors.As(err, &fe) || fe.Delivered || !strings.Contains(fe.Detail, "refused") || strings.Contains(fe.Detail, "SECRET") {
		t.Fatalf("refused: %#v", fe)
	}
	if b := string(fe.AppendJSON(nil)); strings.Contains(b, raw.addr) {
		t.Fatalf("the detail reached the client: %s", b)
	}
}
