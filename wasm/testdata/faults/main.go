// Command faults is a test guest that misbehaves on demand: the request body's "fault" member
// names what to do. Each fault must cost only its own call.
package main

import (
	"strconv"
	"strings"
	"time"
	"unsafe"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

// trap executes the wasm unreachable instruction (trap_wasm.s).
func trap()

var (
	sink    int
	hoard   [][]byte
	scratch = []byte(`{"body":{"truncated":`)
)

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 {
	in := iomwasm.Value(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), size))
	switch in.Get("body").Get("fault").Str() {
	case "loop":
		for {
			sink++
		}
	case "oom":
		for {
			b := make([]byte, 8<<20)
			b[0] = 1
			hoard = append(hoard, b)
		}
	case "trap":
		trap()
	case "sleep":
		time.Sleep(time.Hour)
	case "clock":
		// Answer with the wall clock's year, to tell the fake clock from the real one.
		return packed([]byte(`{"body":{"year":` + strconv.Itoa(time.Now().Year()) + `}}`))
	case "panic":
		var m map[string]int
		m["boom"]++
	case "badjson":
		return packed(scratch)
	case "badptr":
		return 0xfffffff0<<32 | 64
	case "badheaders":
		return packed([]byte(`{"headers":{"x-n":"1"}}`))
	case "drop":
		return packed([]byte(`{"drop":true}`))
	case "log":
		iomwasm.Log(iomwasm.LevelWarn, "hello from the guest")
	}
	return iomwasm.Transform(ptr, size, func(env *iomwasm.Envelope) (iomwasm.Result, error) {
		switch env.Body.Get("fault").Str() {
		case "error":
			return iomwasm.Result{}, iomwasm.Errorf("nope", "refused: %s", env.Metadata.RequestID)
		case "echo":
			// Answer with the envelope the guest saw, to check what the host sends.
			return iomwasm.Result{Body: append([]byte(nil), in...)}, nil
		}
		return iomwasm.Result{}, nil
	})
}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 {
	return iomwasm.Infer(ptr, size, func(c *iomwasm.ModelCall) ([]byte, error) {
		if c.Request.Get("usage").Bool() {
			return iomwasm.ChatCompletion(c.Model.ID, "ok", 1, 1), nil
		}
		return []byte(`{"object":"chat.completion","choices":[]}`), nil
	})
}

var keep [][]byte

func packed(b []byte) uint64 {
	keep = append(keep[:0], b)
	return uint64(uintptr(unsafe.Pointer(&b[0])))<<32 | uint64(len(b))
}

// iom_transform_chunk drops chunks with no content and upper-cases the rest's first letter.
//
//go:wasmexport iom_transform_chunk
func transformChunk(ptr, size uint32) uint64 {
	return iomwasm.Transform(ptr, size, func(env *iomwasm.Envelope) (iomwasm.Result, error) {
		var delta iomwasm.Value
		env.Body.Get("choices").Each(func(_ int, c iomwasm.Value) bool { delta = c.Get("delta"); return false })
		content := delta.Get("content")
		text := content.Str()
		if env.Stage != "chunk" || text == "" {
			return iomwasm.Result{Drop: true}, nil
		}
		text = strings.ToUpper(text[:1]) + text[1:]
		return iomwasm.Result{Body: iomwasm.Splice(env.Body, content, iomwasm.AppendString(nil, text))}, nil
	})
}
