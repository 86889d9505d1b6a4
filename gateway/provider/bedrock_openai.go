package provider

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream/eventstreamapi"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/wire/bedrock"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// This file translates Bedrock's answers back into canonical form: a Converse answer into a
// chat completion, the event-stream messages of ConverseStream into chat chunks, and its errors
// into the gateway's faults. The requests go the other way in openai_bedrock.go.

// bedrockStops maps Converse's stop reasons to OpenAI's finish reasons; what is not here stops
// normally.
var bedrockStops = map[string]string{"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls",
	"max_tokens": "length", "model_context_window_exceeded": "length", "guardrail_intervened": "content_filter",
	"content_filtered": "content_filter"}

func bedrockFinish(reason string) string {
	if r, ok := bedrockStops[reason]; ok {
		return r
	}
	return "stop"
}

// usageOfBedrock reads Converse's usage: its inputTokens leave out the prompt tokens read from
// and written to the cache, which the gateway counts in Input as OpenAI does.
func usageOfBedrock(u *bedrock.Usage) Usage {
	if u == nil {
		return Usage{}
	}
	return Usage{Input: u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens, Output: u.OutputTokens,
		CachedInput: u.CacheReadInputTokens, CacheWrite: u.CacheWriteInputTokens}
}

// fromBedrock translates a Converse answer to a chat completion.
func fromBedrock(br *bedrock.Response, model string) (*openai.ChatResponse, Usage) {
	msg := openai.ResponseMessage{Role: "assistant"}
	var text strings.Builder
	if m := br.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: b.ToolUse.ToolUseID, Type: "function",
					Function: openai.FunctionCall{Name: b.ToolUse.Name, Arguments: argsText(b.ToolUse.Input)}})
			}
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		msg.Content = openai.Str(text.String())
	}
	u := usageOfBedrock(&br.Usage)
	id := "chatcmpl-" + strings.TrimSuffix(strings.TrimPrefix(newCallPrefix(), "call_"), "_")
	return &openai.ChatResponse{ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []openai.Choice{{Message: msg, FinishReason: bedrockFinish(br.StopReason)}}, Usage: openaiUsage(u)}, u
}

// maxBedrockEvent bounds one event-stream message of a ConverseStream answer.
const maxBedrockEvent = 16 << 20

// eventPrelude is the length of an event-stream message's prelude: its total length, its
// headers' length and the prelude's checksum.
const eventPrelude = 12

// bedrockStream translates the event-stream messages of ConverseStream to chat completion
// chunks, one message at a time as they arrive: messageStart, contentBlockStart (a tool call),
// contentBlockDelta (text, or a piece of a tool call's input), contentBlockStop, messageStop (the
// stop reason) and metadata (the usage), or an exception.
type bedrockStream struct {
	body     *answerBody
	br       *bufio.Reader
	dec      *eventstream.Decoder
	payload  []byte
	k        chunker
	tools    map[int]int // Converse's content block index → OpenAI tool call index
	finished bool
	done     bool
}

func newBedrockStream(b *answerBody) *bedrockStream {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(b)
	return &bedrockStream{body: b, br: br, dec: eventstream.NewDecoder(), payload: make([]byte, 0, 1024), tools: map[int]int{}}
}

func (s *bedrockStream) Next() ([]byte, error) {
	for {
		if c, ok := s.k.pop(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		msg, err := s.read()
		if errors.Is(err, io.EOF) {
			if !s.finished {
				return nil, streamFault("upstream closed the stream before messageStop")
			}
			s.k.pushUsage()
			s.done = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.translate(msg); err != nil {
			return nil, err
		}
	}
}

// read decodes the next message, after checking its prelude against the bound; io.EOF when the
// body ends between messages.
func (s *bedrockStream) read() (eventstream.Message, error) {
	head, err := s.br.Peek(eventPrelude)
	if err != nil {
		if errors.Is(err, io.EOF) && len(head) == 0 {
			return eventstream.Message{}, io.EOF
		}
		if errors.Is(err, io.EOF) {
			return eventstream.Message{}, streamFault("upstream broke off an event of its stream")
		}
		return eventstream.Message{}, streamError(err)
	}
	total, headers := binary.BigEndian.Uint32(head), binary.BigEndian.Uint32(head[4:])
	if total > maxBedrockEvent || total < eventPrelude+4 || headers > total-eventPrelude-4 {
		return eventstream.Message{}, streamFault("upstream sent an event-stream message of %d bytes with %d of headers", total, headers)
	}
	msg, err := s.dec.Decode(s.br, s.payload[:0])
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return msg, fe
		}
		return msg, streamFault("upstream sent an event-stream message that does not decode: %v", err)
	}
	if cap(msg.Payload) <= 1<<20 {
		s.payload = msg.Payload[:0]
	}
	return msg, nil
}

// headerString is a string header of an event-stream message, or "".
func headerString(msg *eventstream.Message, name string) string {
	if v := msg.Headers.Get(name); v != nil {
		if sv, ok := v.(eventstream.StringValue); ok {
			return string(sv)
		}
	}
	return ""
}

func (s *bedrockStream) translate(msg eventstream.Message) error {
	switch headerString(&msg, eventstreamapi.MessageTypeHeader) {
	case eventstreamapi.EventMessageType:
	case eventstreamapi.ExceptionMessageType:
		var e bedrock.Error
		_ = json.Unmarshal(msg.Payload, &e)
		return streamFault("upstream bedrock sent a %s: %s", headerString(&msg, eventstreamapi.ExceptionTypeHeader), e.Message)
	case eventstreamapi.ErrorMessageType:
		return streamFault("upstream bedrock sent a %s: %s", headerString(&msg, eventstreamapi.ErrorCodeHeader),
			headerString(&msg, eventstreamapi.ErrorMessageHeader))
	default:
		return streamFault("upstream sent an event-stream message without a message type")
	}
	bad := func(err error) error { return streamFault("upstream sent an event that is not JSON: %v", err) }
	switch headerString(&msg, eventstreamapi.EventTypeHeader) {
	case "messageStart":
		s.k.push(openai.Delta{Role: "assistant", Content: openai.Str("")}, "")
	case "contentBlockStart":
		var ev bedrock.ContentBlockStart
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if tu := ev.Start.ToolUse; tu != nil {
			i := len(s.tools)
			s.tools[ev.ContentBlockIndex] = i
			s.k.push(openai.Delta{ToolCalls: []openai.ToolCall{{Index: &i, ID: tu.ToolUseID, Type: "function",
				Function: openai.FunctionCall{Name: tu.Name, Arguments: ""}}}}, "")
		}
	case "contentBlockDelta":
		var ev bedrock.ContentBlockDelta
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		switch d := ev.Delta; {
		case d.Text != nil:
			s.k.push(openai.Delta{Content: openai.Str(*d.Text)}, "")
		case d.ToolUse != nil:
			if i, ok := s.tools[ev.ContentBlockIndex]; ok {
				s.k.push(openai.Delta{ToolCalls: []openai.ToolCall{{Index: &i, Function: openai.FunctionCall{Arguments: d.ToolUse.Input}}}}, "")
			}
		}
	case "messageStop":
		var ev bedrock.MessageStop
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if !s.finished {
			s.k.push(openai.Delta{}, bedrockFinish(ev.StopReason))
			s.finished = true
		}
	case "metadata":
		var ev bedrock.Metadata
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if ev.Usage != nil {
			s.k.usage = usageOfBedrock(ev.Usage)
		}
	}
	// contentBlockStop, and events Converse may add, carry nothing the canonical stream needs.
	return nil
}

// Buffered reports whether a whole message is already read, so Next would not wait.
func (s *bedrockStream) Buffered() bool {
	if len(s.k.queue) > 0 {
		return true
	}
	if s.br == nil || s.br.Buffered() < eventPrelude {
		return false
	}
	head, _ := s.br.Peek(eventPrelude)
	return uint32(s.br.Buffered()) >= binary.BigEndian.Uint32(head)
}

func (s *bedrockStream) Usage() Usage { return s.k.usage }

func (s *bedrockStream) Close() {
	if s.body == nil {
		return
	}
	if s.done {
		_, _ = io.CopyN(io.Discard, s.br, 64<<10)
	}
	s.br.Reset(nil)
	readerPool.Put(s.br)
	s.body.Close()
	s.body, s.br = nil, nil
}

// bedrockAuthErrors are the error types of credentials AWS does not accept: the gateway's
// problem, not the caller's.
var bedrockAuthErrors = map[string]bool{"AccessDeniedException": true, "UnrecognizedClientException": true,
	"InvalidSignatureException": true, "IncompleteSignatureException": true, "ExpiredTokenException": true,
	"MissingAuthenticationTokenException": true, "InvalidClientTokenId": true, "SignatureDoesNotMatch": true}

// bedrockError maps a Bedrock error answer to a fault, as upstreamError does for every vendor,
// from its error type (the x-amzn-errortype header, or the body's __type) more than its status:
// throttling and quotas are 429s, a validation error the caller's 400, a model AWS does not
// have a 404, credentials AWS refuses a 502 as a 401 or 403 is, a model not ready a 503, a
// model timing out a 504. The type, in snake case, is the code.
func bedrockError(u *Upstream, status int, errType, body, retryAfter []byte) *fault.Error {
	fe := upstreamError(u, status, body, retryAfter, false)
	var eb struct {
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(body, &eb)
	typ := string(errType)
	if typ == "" {
		typ = eb.Type
	}
	typ, _, _ = strings.Cut(typ, ":") // the header may add the type's namespace
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:] // __type may be prefixed with its namespace
	}
	if typ == "" {
		return fe
	}
	fe.Code = snakeCase(strings.TrimSuffix(typ, "Exception"))
	switch {
	case typ == "ThrottlingException" || typ == "ServiceQuotaExceededException" || typ == "TooManyRequestsException":
		if fe.Status != http.StatusTooManyRequests {
			fe.Status, fe.Type = http.StatusTooManyRequests, "rate_limit_error"
			if n, err := strconv.Atoi(strings.TrimSpace(string(retryAfter))); err == nil && n > 0 {
				fe.RetryAfter = n
			}
		}
		fe.Code = "upstream_rate_limited"
	case typ == "ValidationException":
		fe.Status, fe.Type = http.StatusBadRequest, "invalid_request_error"
	case typ == "ResourceNotFoundException":
		fe.Status, fe.Type = http.StatusNotFound, "invalid_request_error"
	case bedrockAuthErrors[typ]:
		fe.Status, fe.Type = http.StatusBadGateway, "upstream_error"
	case typ == "ModelNotReadyException":
		fe.Status, fe.Type = http.StatusServiceUnavailable, "upstream_error"
	case typ == "ModelTimeoutException":
		fe.Status, fe.Type = http.StatusGatewayTimeout, "upstream_error"
	}
	return fe
}

// snakeCase turns an error type's name into a code: ModelNotReady → model_not_ready.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
