package responses

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// Complete makes the response from a canonical chat completion, body, whose call used usage
// (the engine's count, which is what the call is billed for).
func (p *Prepared) Complete(body []byte, usage provider.Usage, now time.Time) (*openai.Response, error) {
	var c openai.ChatResponse
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fault.Upstream(0, "the answer is not a chat completion: %v", err)
	}
	var items []openai.ResponsesItem
	finish := ""
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		finish = ch.FinishReason
		if ch.Message.Content != nil && *ch.Message.Content != "" || len(ch.Message.ToolCalls) == 0 {
			text := ""
			if ch.Message.Content != nil {
				text = *ch.Message.Content
			}
			items = append(items, p.messageItem(text, "completed"))
		}
		for i, tc := range ch.Message.ToolCalls {
			items = append(items, p.callItem(i, tc.ID, tc.Function.Name, tc.Function.Arguments, "completed"))
		}
	} else {
		items = append(items, p.messageItem("", "completed"))
	}
	return p.finish(items, finish, usage, now), nil
}

// messageItem is the answer's message.
func (p *Prepared) messageItem(text, status string) openai.ResponsesItem {
	return openai.ResponsesItem{ID: "msg_" + p.reqID(), Type: "message", Status: status, Role: "assistant",
		Content: []openai.ResponsesPart{{Type: "output_text", Text: &text}}}
}

// callItem is the answer's function call number i. A call without an id (some upstreams give
// none) gets one, so that its output can name it.
func (p *Prepared) callItem(i int, callID, name, args, status string) openai.ResponsesItem {
	n := strconv.Itoa(i)
	if callID == "" {
		callID = "call_" + p.reqID() + "_" + n
	}
	return openai.ResponsesItem{ID: "fc_" + p.reqID() + "_" + n, Type: "function_call", Status: status,
		CallID: callID, Name: name, Arguments: args}
}

// reqID is the gateway's id of the request, which ids of its items derive from.
func (p *Prepared) reqID() string { return strings.TrimPrefix(p.Template.ID, "resp_") }

// finish is the template completed with the output: incomplete when the model stopped at the
// token limit or its content filter, completed otherwise.
func (p *Prepared) finish(items []openai.ResponsesItem, finishReason string, usage provider.Usage, now time.Time) *openai.Response {
	r := p.Template
	r.Output = items
	if r.Output == nil {
		r.Output = []openai.ResponsesItem{}
	}
	r.Status = "completed"
	switch finishReason {
	case "length":
		r.Status, r.IncompleteDetails = "incomplete", &openai.IncompleteDetails{Reason: "max_output_tokens"}
	case "content_filter":
		r.Status, r.IncompleteDetails = "incomplete", &openai.IncompleteDetails{Reason: "content_filter"}
	}
	if r.Status == "completed" {
		at := now.Unix()
		r.CompletedAt = &at
	}
	r.Usage = Usage(usage)
	return &r
}

// Usage is a call's usage as the Responses API reports it.
func Usage(u provider.Usage) *openai.ResponsesUsage {
	return &openai.ResponsesUsage{InputTokens: u.Input, OutputTokens: u.Output, TotalTokens: u.Input + u.Output,
		InputTokensDetails:  openai.InputTokensDetails{CachedTokens: u.CachedInput},
		OutputTokensDetails: openai.OutputTokensDetails{ReasoningTokens: u.Reasoning}}
}

// answerMessage is a response's output as one assistant chat message, for the conversation a
// later request continues; ok is false when the output is empty.
func answerMessage(items []openai.ResponsesItem) (msg openai.Message, ok bool) {
	msg.Role = "assistant"
	var texts []string
	for _, it := range items {
		switch it.Type {
		case "message":
			for _, part := range it.Content {
				if part.Text != nil && *part.Text != "" {
					texts = append(texts, *part.Text)
				}
			}
		case "function_call":
			msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: it.CallID, Type: "function",
				Function: openai.FunctionCall{Name: it.Name, Arguments: it.Arguments}})
		}
	}
	if len(texts) > 0 {
		msg.Content, _ = json.Marshal(strings.Join(texts, ""))
	}
	return msg, len(texts) > 0 || len(msg.ToolCalls) > 0
}
