// Command testplugin is the plugin the host's tests run: a provider and a transformer in one
// process, whose misbehaviour is picked by markers in the request (HANG, CRASH, PANIC, FAIL,
// SLOW, UPSTREAM429, ENV, LOG); ECHO answers with the input as it came, for benchmarks; BIG
// answers a transform with a 3 MiB body, more than one flow-control window; SHOW_TRACE answers a
// transform with the traceparent and tracestate the call's gRPC metadata carried.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	iomplugin "github.com/iomhq/iom/sdk/plugin"
)

type testPlugin struct{}

// misbehave acts on the markers common to every call; an error is the answer it was asked for.
func misbehave(ctx context.Context, req []byte) error {
	switch {
	case bytes.Contains(req, []byte("HANG")):
		// Ignore ctx on purpose: the host must enforce the deadline on its own.
		time.Sleep(time.Hour)
	case bytes.Contains(req, []byte("CRASH")):
		os.Exit(3)
	case bytes.Contains(req, []byte("PANIC")):
		panic("asked to panic")
	case bytes.Contains(req, []byte("FAIL")):
		return errors.New("asked to fail")
	case bytes.Contains(req, []byte("UPSTREAM429")):
		return &iomplugin.UpstreamError{Status: 429, Message: "slow down", Code: "rate_limit_exceeded", RetryAfter: 7,
			Body: []byte(`{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit_exceeded","param":null}}`)}
	case bytes.Contains(req, []byte("SLOW")):
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	case bytes.Contains(req, []byte("LOG")):
		iomplugin.Logger().Warn("asked to log", "answer", 42)
		fmt.Fprintln(os.Stderr, "a plain stderr line")
	}
	return nil
}

func (testPlugin) Transform(ctx context.Context, envelope []byte) ([]byte, error) {
	if bytes.HasPrefix(envelope, []byte(`{"ECHO"`)) {
		return envelope, nil
	}
	if bytes.Contains(envelope, []byte("SHOW_TRACE")) {
		md, _ := metadata.FromIncomingContext(ctx)
		b, _ := json.Marshal(map[string]any{"body": map[string]any{"traceparent": md.Get("traceparent"), "tracestate": md.Get("tracestate")}})
		return b, nil
	}
	if bytes.Contains(envelope, []byte("BIG")) {
		return []byte(`{"body":"` + strings.Repeat("b", 3<<20) + `"}`), nil
	}
	if err := misbehave(ctx, envelope); err != nil {
		return nil, err
	}
	// Echo the envelope's body back, so a round trip carries the payload both ways.
	var env struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(env.Body)+16)
	out = append(out, `{"body":`...)
	out = append(out, env.Body...)
	return append(out, '}'), nil
}

func (testPlugin) Complete(ctx context.Context, call iomplugin.Call) ([]byte, error) {
	if bytes.HasPrefix(call.Request, []byte(`{"ECHO"`)) {
		return call.Request, nil
	}
	if err := misbehave(ctx, call.Request); err != nil {
		return nil, err
	}
	if bytes.Contains(call.Request, []byte("ENV")) {
		return json.Marshal(map[string]any{"env": os.Environ()})
	}
	return json.Marshal(map[string]any{
		"object": "chat.completion", "pid": os.Getpid(), "model": call.Model.UpstreamModel,
		"config": call.Config, "key": call.APIKey, "echo": json.RawMessage(call.Request),
		"usage": map[string]int{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
	})
}

func (testPlugin) Stream(ctx context.Context, call iomplugin.Call, send func([]byte) error) error {
	if err := misbehave(ctx, call.Request); err != nil {
		return err
	}
	for i := range 3 {
		if bytes.Contains(call.Request, []byte("STALL")) && i == 1 {
			time.Sleep(time.Hour)
		}
		chunk := `{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"` + strconv.Itoa(i) + `"}}]}`
		if err := send([]byte(chunk)); err != nil {
			return err
		}
	}
	return send([]byte(`{"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}`))
}

func main() {
	iomplugin.Serve(iomplugin.Plugin{Provider: testPlugin{}, Transformer: testPlugin{}})
}
