// Package responses serves OpenAI's Responses API on top of chat completions so that any model
// answers it: a request (continuing a stored conversation with previous_response_id) becomes a
// canonical chat request, and the answer a response object or the Responses event stream.
// Responses are stored, scoped to the org of the key that made them. Translated requests get only
// function tools, as hosted tools need OpenAI's servers; a model with config.responses:
// passthrough gets the request as sent (passthrough.go), its conversation still kept here.
package responses

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// Limits of a request, as OpenAI's: metadata pairs, and the sizes of their keys and values.
const (
	maxMetadata      = 16
	maxMetadataKey   = 64
	maxMetadataValue = 512
)

// Prepared is a Responses request translated for the engine.
type Prepared struct {
	// Chat is the canonical chat request.
	Chat []byte
	// Input is the request's input items, each with an id, as they are stored and listed.
	Input []openai.ResponsesItem
	// History is the conversation before this request, instructions left out (they do not
	// carry over to a continuation): the earlier response's, when there is one.
	History []openai.Message
	// Template is the response object before the answer: the request's settings, no output.
	Template openai.Response
	// Store says whether the response is kept.
	Store bool
}

// chatRequest is the canonical chat request with the members the chat completion API has
// beyond what translators read (openai.ChatRequest).
type chatRequest struct {
	openai.ChatRequest
	ParallelToolCalls *bool  `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort   string `json:"reasoning_effort,omitempty"`
	PromptCacheKey    string `json:"prompt_cache_key,omitempty"`
}

// ResponseID is the id of the response made by the request with the gateway's id reqID.
func ResponseID(reqID string) string { return "resp_" + reqID }

// Prepare translates req, made at created with the gateway's request id reqID, into a chat
// request. prev is the stored response req continues (previous_response_id), or nil. A request
// the gateway cannot serve faithfully is refused with a 400 that says why.
func Prepare(req *openai.ResponsesRequest, prev *Record, reqID string, created time.Time) (*Prepared, error) {
	if err := checkUnsupported(req); err != nil {
		return nil, err
	}
	items, err := inputItems(req.Input)
	if err != nil {
		return nil, err
	}
	c := converter{prefix: reqID}
	if err := c.items(items); err != nil {
		return nil, err
	}
	chat := chatRequest{ChatRequest: openai.ChatRequest{Model: req.Model, MaxCompletionTokens: req.MaxOutputTokens,
		Temperature: req.Temperature, TopP: req.TopP, Stream: req.Stream, User: req.User}, PromptCacheKey: req.PromptCacheKey}
	if req.Stream {
		chat.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if req.Reasoning != nil {
		chat.ReasoningEffort = req.Reasoning.Effort
	}
	if req.Instructions != nil && *req.Instructions != "" {
		content, _ := json.Marshal(*req.Instructions)
		chat.Messages = append(chat.Messages, openai.Message{Role: "system", Content: content})
	}
	var history []openai.Message
	if prev != nil {
		if history, err = prev.Conversation(); err != nil {
			return nil, err
		}
	}
	chat.Messages = append(append(chat.Messages, history...), c.msgs...)
	if err := setTools(&chat, req); err != nil {
		return nil, err
	}
	if err := setFormat(&chat.ChatRequest, req.Text); err != nil {
		return nil, err
	}
	body, err := json.Marshal(chat)
	if err != nil {
		return nil, fault.Invalid("", "cannot translate the request: %v", err)
	}
	p := &Prepared{Chat: body, Input: c.out, History: history, Store: req.Store == nil || *req.Store}
	p.Template = template(req, reqID, created, p.Store)
	return p, nil
}

// checkUnsupported refuses what the gateway does not serve, and checks the request's bounds.
func checkUnsupported(req *openai.ResponsesRequest) error {
	switch {
	case req.Model == "":
		return fault.Invalid("model", "model: field required")
	case req.Background != nil && *req.Background:
		return fault.Invalid("background", "background responses are not supported by this gateway; leave background unset")
	case len(req.Conversation) > 0 && string(req.Conversation) != "null":
		return fault.Invalid("conversation", "conversations are not supported by this gateway; continue with previous_response_id")
	case len(req.Prompt) > 0 && string(req.Prompt) != "null":
		return fault.Invalid("prompt", "stored prompts are not supported by this gateway; send instructions and input")
	case req.MaxOutputTokens != nil && *req.MaxOutputTokens < 1:
		return fault.Invalid("max_output_tokens", "max_output_tokens must be a positive integer")
	case req.Truncation != "" && req.Truncation != "disabled" && req.Truncation != "auto":
		return fault.Invalid("truncation", "truncation must be auto or disabled, got %q", req.Truncation)
	case len(req.Metadata) > maxMetadata:
		return fault.Invalid("metadata", "metadata may have at most %d pairs, got %d", maxMetadata, len(req.Metadata))
	}
	for k, v := range req.Metadata {
		if utf8.RuneCountInString(k) > maxMetadataKey || utf8.RuneCountInString(v) > maxMetadataValue {
			return fault.Invalid("metadata", "metadata keys may have at most %d characters and values %d", maxMetadataKey, maxMetadataValue)
		}
	}
	return nil
}

// inputItems reads input: a string is one user message.
func inputItems(raw json.RawMessage) ([]openai.ResponsesInputItem, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fault.Invalid("input", "input: field required (a string or a list of input items)")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []openai.ResponsesInputItem{{Type: "message", Role: "user", Content: raw}}, nil
	}
	var items []openai.ResponsesInputItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fault.Invalid("input", "input must be a string or a list of input items: %v", err)
	}
	if len(items) == 0 {
		return nil, fault.Invalid("input", "input must not be empty")
	}
	return items, nil
}

// converter turns input items into chat messages, and into the items stored for listing.
type converter struct {
	prefix string
	msgs   []openai.Message
	out    []openai.ResponsesItem
}

func (c *converter) items(items []openai.ResponsesInputItem) error {
	for i, it := range items {
		typ := it.Type
		if typ == "" && it.Role != "" {
			typ = "message"
		}
		param := "input[" + strconv.Itoa(i) + "]"
		var err error
		switch typ {
		case "message":
			err = c.message(it, param)
		case "function_call":
			err = c.functionCall(it, param)
		case "function_call_output":
			err = c.functionOutput(it, param)
		case "reasoning":
			// A reasoning item of an earlier answer, sent back: chat models take none.
			continue
		case "":
			err = fault.Invalid(param, "%s: an input item needs a type or a role", param)
		default:
			err = fault.Invalid(param+".type", "%s.type %q is not supported by this gateway: input items are messages, function_call and function_call_output", param, typ)
		}
		if err != nil {
			return err
		}
	}
	if len(c.msgs) == 0 {
		return fault.Invalid("input", "input has no message, function call or function call output")
	}
	return nil
}

// itemID is the id of an input item the client gave none.
func (c *converter) itemID(prefix string, given string) string {
	if given != "" {
		return given
	}
	return prefix + c.prefix + "_in" + strconv.Itoa(len(c.out))
}

func (c *converter) message(it openai.ResponsesInputItem, param string) error {
	role := it.Role
	switch role {
	case "user", "assistant", "system":
	case "developer":
		role = "system" // chat models that know no developer role all know system
	default:
		return fault.Invalid(param+".role", "%s.role must be user, assistant, system or developer, got %q", param, it.Role)
	}
	content, parts, err := messageContent(it.Role, it.Content, param)
	if err != nil {
		return err
	}
	c.msgs = append(c.msgs, openai.Message{Role: role, Content: content})
	c.out = append(c.out, openai.ResponsesItem{ID: c.itemID("msg_", it.ID), Type: "message", Status: "completed", Role: it.Role, Content: parts})
	return nil
}

// messageContent translates a message's content to chat content, and to the parts stored:
// text parts and images (for user messages). One text, and any text of a role other than
// user, becomes a string.
func messageContent(role string, raw json.RawMessage, param string) (json.RawMessage, []openai.ResponsesPart, error) {
	textType := "input_text"
	if role == "assistant" {
		textType = "output_text"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		content, _ := json.Marshal(s)
		return content, []openai.ResponsesPart{{Type: textType, Text: &s}}, nil
	}
	var in []openai.ResponsesInputPart
	if err := json.Unmarshal(raw, &in); err != nil || len(in) == 0 {
		return nil, nil, fault.Invalid(param+".content", "%s.content must be a string or a non-empty list of content parts", param)
	}
	var chat []openai.ContentPart
	var stored []openai.ResponsesPart
	var texts []string
	for j, p := range in {
		pp := param + ".content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case "input_text", "output_text", "text":
			text := p.Text
			chat = append(chat, openai.ContentPart{Type: "text", Text: text})
			stored = append(stored, openai.ResponsesPart{Type: textType, Text: &text})
			texts = append(texts, text)
		case "refusal":
			text := p.Refusal
			chat = append(chat, openai.ContentPart{Type: "text", Text: text})
			stored = append(stored, openai.ResponsesPart{Type: "refusal", Refusal: &text})
			texts = append(texts, text)
		case "input_image":
			if role != "user" {
				return nil, nil, fault.Invalid(pp, "%s: only user messages may hold images", pp)
			}
			if p.ImageURL == nil || *p.ImageURL == "" {
				return nil, nil, fault.Invalid(pp+".image_url", "%s: give the image as image_url (a URL or a data: URL); file ids are not supported by this gateway", pp)
			}
			detail := p.Detail
			if detail == "" {
				detail = "auto"
			}
			chat = append(chat, openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: *p.ImageURL, Detail: p.Detail}})
			stored = append(stored, openai.ResponsesPart{Type: "input_image", ImageURL: p.ImageURL, Detail: detail})
		default:
			return nil, nil, fault.Invalid(pp+".type", "%s.type %q is not supported by this gateway: use input_text or input_image", pp, p.Type)
		}
	}
	if len(texts) == len(chat) && (len(texts) == 1 || role != "user") {
		content, _ := json.Marshal(strings.Join(texts, "\n"))
		return content, stored, nil
	}
	content, _ := json.Marshal(chat)
	return content, stored, nil
}

// functionCall adds a call the model made in an earlier answer: to the assistant message just
// before it, when there is one, as chat completions keep a turn's calls together.
func (c *converter) functionCall(it openai.ResponsesInputItem, param string) error {
	if it.CallID == "" || it.Name == "" {
		return fault.Invalid(param, "%s: a function_call item needs call_id and name", param)
	}
	args := it.Arguments
	if args == "" {
		args = "{}"
	}
	call := openai.ToolCall{ID: it.CallID, Type: "function", Function: openai.FunctionCall{Name: it.Name, Arguments: args}}
	if n := len(c.msgs); n > 0 && c.msgs[n-1].Role == "assistant" {
		c.msgs[n-1].ToolCalls = append(c.msgs[n-1].ToolCalls, call)
	} else {
		c.msgs = append(c.msgs, openai.Message{Role: "assistant", ToolCalls: []openai.ToolCall{call}})
	}
	c.out = append(c.out, openai.ResponsesItem{ID: c.itemID("fc_", it.ID), Type: "function_call", Status: "completed",
		CallID: it.CallID, Name: it.Name, Arguments: args})
	return nil
}

// functionOutput adds the output of a call the client ran, as a tool message.
func (c *converter) functionOutput(it openai.ResponsesInputItem, param string) error {
	if it.CallID == "" {
		return fault.Invalid(param+".call_id", "%s: a function_call_output item needs call_id", param)
	}
	text, err := callOutput(it.Output)
	if err != nil {
		return fault.Invalid(param+".output", "%s.output must be a string or a list of input_text parts", param)
	}
	content, _ := json.Marshal(text)
	c.msgs = append(c.msgs, openai.Message{Role: "tool", ToolCallID: it.CallID, Content: content})
	c.out = append(c.out, openai.ResponsesItem{ID: c.itemID("fco_", it.ID), Type: "function_call_output", Status: "completed",
		CallID: it.CallID, Output: content})
	return nil
}

// callOutput is a function call output's text: the string, or its text parts joined.
func callOutput(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []openai.ResponsesInputPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var texts []string
	for _, p := range parts {
		if p.Type != "input_text" && p.Type != "output_text" && p.Type != "text" {
			return "", fault.Invalid("", "part type %q", p.Type)
		}
		texts = append(texts, p.Text)
	}
	return strings.Join(texts, "\n"), nil
}

// setTools translates function tools and the tool choice; any other tool is refused.
func setTools(chat *chatRequest, req *openai.ResponsesRequest) error {
	for i, t := range req.Tools {
		param := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "function" {
			return fault.Invalid(param+".type", "%s.type %q is not supported by this gateway: only function tools are (hosted tools need OpenAI's own servers)", param, t.Type)
		}
		if t.Name == "" {
			return fault.Invalid(param+".name", "%s.name: field required", param)
		}
		chat.Tools = append(chat.Tools, openai.Tool{Type: "function", Function: openai.Function{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
	}
	if len(chat.Tools) > 0 {
		chat.ParallelToolCalls = req.ParallelToolCalls
	}
	choice, err := toolChoice(req.ToolChoice)
	if err != nil {
		return err
	}
	chat.ToolChoice = choice
	if len(choice) > 0 && len(chat.Tools) == 0 && string(choice) != `"none"` && string(choice) != `"auto"` {
		return fault.Invalid("tool_choice", "tool_choice needs tools")
	}
	return nil
}

// toolChoice translates a tool choice: the modes as they are, a function by name as chat
// completions name it.
func toolChoice(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "auto", "none", "required":
			return json.RawMessage(strconv.Quote(mode)), nil
		}
		return nil, fault.Invalid("tool_choice", "tool_choice must be auto, none, required or a function, got %q", mode)
	}
	var tc struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &tc); err != nil {
		return nil, fault.Invalid("tool_choice", "tool_choice must be a string or an object")
	}
	if tc.Type != "function" || tc.Name == "" {
		return nil, fault.Invalid("tool_choice", "tool_choice of type %q is not supported by this gateway: name a function ({\"type\":\"function\",\"name\":…})", tc.Type)
	}
	b, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
	return b, nil
}

// setFormat translates text.format to the chat response_format.
func setFormat(chat *openai.ChatRequest, text *openai.ResponsesText) error {
	if text == nil || text.Format == nil {
		return nil
	}
	f := text.Format
	switch f.Type {
	case "text":
	case "json_object":
		chat.ResponseFormat = json.RawMessage(`{"type":"json_object"}`)
	case "json_schema":
		if f.Name == "" || len(f.Schema) == 0 {
			return fault.Invalid("text.format", "text.format of type json_schema needs name and schema")
		}
		schema := map[string]any{"name": f.Name, "schema": f.Schema}
		if f.Description != "" {
			schema["description"] = f.Description
		}
		if f.Strict != nil {
			schema["strict"] = *f.Strict
		}
		chat.ResponseFormat, _ = json.Marshal(map[string]any{"type": "json_schema", "json_schema": schema})
	default:
		return fault.Invalid("text.format.type", "text.format.type must be text, json_object or json_schema, got %q", f.Type)
	}
	return nil
}

// template is the response object of req before the answer, with OpenAI's defaults for what
// req leaves out.
func template(req *openai.ResponsesRequest, reqID string, created time.Time, store bool) openai.Response {
	r := openai.Response{ID: ResponseID(reqID), Object: "response", CreatedAt: created.Unix(), Status: "in_progress",
		Instructions: req.Instructions, MaxOutputTokens: req.MaxOutputTokens, Model: req.Model, Output: []openai.ResponsesItem{},
		ParallelToolCalls: true, Store: store, Temperature: 1, TopP: 1, Truncation: "disabled",
		Text: openai.ResponsesText{Format: &openai.ResponsesTextFormat{Type: "text"}}, ToolChoice: json.RawMessage(`"auto"`),
		Tools: []openai.ResponsesTool{}, Metadata: map[string]string{}}
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.PreviousResponseID != "" {
		prev := req.PreviousResponseID
		r.PreviousResponseID = &prev
	}
	if req.Reasoning != nil {
		r.Reasoning = *req.Reasoning
	}
	if req.Temperature != nil {
		r.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		r.TopP = *req.TopP
	}
	if req.Truncation != "" {
		r.Truncation = req.Truncation
	}
	if req.Text != nil && req.Text.Format != nil {
		r.Text = *req.Text
	}
	if len(req.ToolChoice) > 0 && string(req.ToolChoice) != "null" {
		r.ToolChoice = req.ToolChoice
	}
	if req.Tools != nil {
		r.Tools = req.Tools
	}
	if req.User != "" {
		user := req.User
		r.User = &user
	}
	if req.Metadata != nil {
		r.Metadata = req.Metadata
	}
	return r
}
