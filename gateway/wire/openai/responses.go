package openai

import "encoding/json"

// This file holds the types of OpenAI's Responses API (POST /v1/responses), which the gateway
// serves by translating to and from chat completions (package responses). Data only.

// ResponsesRequest is a request to create a response.
type ResponsesRequest struct {
	Model string `json:"model"`
	// Input is a string (one user message) or a list of input items (ResponsesInputItem).
	Input              json.RawMessage     `json:"input,omitempty"`
	Instructions       *string             `json:"instructions,omitempty"`
	Tools              []ResponsesTool     `json:"tools,omitempty"`
	ToolChoice         json.RawMessage     `json:"tool_choice,omitempty"` // "auto"|"none"|"required"|{"type":"function","name"}
	Text               *ResponsesText      `json:"text,omitempty"`
	MaxOutputTokens    *int                `json:"max_output_tokens,omitempty"`
	Temperature        *float64            `json:"temperature,omitempty"`
	TopP               *float64            `json:"top_p,omitempty"`
	Metadata           map[string]string   `json:"metadata,omitempty"`
	Store              *bool               `json:"store,omitempty"`
	PreviousResponseID string              `json:"previous_response_id,omitempty"`
	ParallelToolCalls  *bool               `json:"parallel_tool_calls,omitempty"`
	User               string              `json:"user,omitempty"`
	Stream             bool                `json:"stream,omitempty"`
	Reasoning          *ResponsesReasoning `json:"reasoning,omitempty"`
	PromptCacheKey     string              `json:"prompt_cache_key,omitempty"`
	Truncation         string              `json:"truncation,omitempty"`
	Include            []string            `json:"include,omitempty"`
	// Background, Conversation and Prompt are refused: the gateway has no background runs,
	// conversation objects or stored prompts.
	Background   *bool           `json:"background,omitempty"`
	Conversation json.RawMessage `json:"conversation,omitempty"`
	Prompt       json.RawMessage `json:"prompt,omitempty"`
}

// ResponsesTool is a tool the model may call. Only function tools are served.
type ResponsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponsesText configures the text output: its format.
type ResponsesText struct {
	Format    *ResponsesTextFormat `json:"format,omitempty"`
	Verbosity string               `json:"verbosity,omitempty"`
}

// ResponsesTextFormat is text, json_object, or json_schema with a named schema.
type ResponsesTextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponsesReasoning configures a reasoning model.
type ResponsesReasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// ResponsesInputItem is one input item as clients send it: a message (type "message" or no
// type, with a role), a function_call from an earlier answer, or a function_call_output.
type ResponsesInputItem struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	// Role and Content are a message's: content is a string or a list of ResponsesInputPart.
	Role    string          `json:"role,omitempty"`
	Content json.RawMessage `json:"content,omitempty"`
	Status  string          `json:"status,omitempty"`
	// CallID, Name and Arguments are a function call's; CallID and Output its output's.
	CallID    string          `json:"call_id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments string          `json:"arguments,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"` // a string or a list of parts
}

// ResponsesInputPart is one part of a message's content.
type ResponsesInputPart struct {
	Type     string  `json:"type"` // input_text, input_image, output_text, refusal
	Text     string  `json:"text,omitempty"`
	ImageURL *string `json:"image_url,omitempty"`
	FileID   *string `json:"file_id,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	Refusal  string  `json:"refusal,omitempty"`
}

// Response is a response object.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"` // response
	CreatedAt          int64              `json:"created_at"`
	CompletedAt        *int64             `json:"completed_at"`
	Status             string             `json:"status"` // in_progress, completed, incomplete, failed
	Error              *ResponsesError    `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []ResponsesItem    `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          ResponsesReasoning `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        float64            `json:"temperature"`
	Text               ResponsesText      `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []ResponsesTool    `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *ResponsesUsage    `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
}

// ResponsesError is why a response failed.
type ResponsesError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response stopped early: max_output_tokens or content_filter.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponsesItem is an output item, or a stored input item: a message, a function_call or a
// function_call_output. Its JSON has the members of its type only (see MarshalJSON).
type ResponsesItem struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Status string `json:"status,omitempty"`
	// Role and Content are a message's.
	Role    string          `json:"role,omitempty"`
	Content []ResponsesPart `json:"content,omitempty"`
	// CallID, Name and Arguments are a function call's; CallID and Output its output's.
	CallID    string          `json:"call_id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments string          `json:"arguments,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
}

// MarshalJSON writes the members of the item's type, with a message's content and a function
// call's arguments present even when empty, as clients index into them.
func (it ResponsesItem) MarshalJSON() ([]byte, error) {
	switch it.Type {
	case "message":
		content := it.Content
		if content == nil {
			content = []ResponsesPart{}
		}
		return json.Marshal(struct {
			ID      string          `json:"id"`
			Type    string          `json:"type"`
			Status  string          `json:"status"`
			Role    string          `json:"role"`
			Content []ResponsesPart `json:"content"`
		}{it.ID, it.Type, it.Status, it.Role, content})
	case "function_call":
		return json.Marshal(struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			Status    string `json:"status"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		}{it.ID, it.Type, it.Status, it.CallID, it.Name, it.Arguments})
	}
	type plain ResponsesItem
	return json.Marshal(plain(it))
}

// ResponsesPart is one part of a message item: output_text in answers; input_text,
// input_image, output_text or refusal in stored input.
type ResponsesPart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text,omitempty"`
	ImageURL *string `json:"image_url,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	Refusal  *string `json:"refusal,omitempty"`
}

// MarshalJSON writes an output_text part with its (empty) annotations and logprobs, and its
// text even when empty, as OpenAI does; other parts as they are.
func (p ResponsesPart) MarshalJSON() ([]byte, error) {
	if p.Type == "output_text" {
		text := ""
		if p.Text != nil {
			text = *p.Text
		}
		return json.Marshal(struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			Annotations []any  `json:"annotations"`
			Logprobs    []any  `json:"logprobs"`
		}{p.Type, text, []any{}, []any{}})
	}
	type plain ResponsesPart
	return json.Marshal(plain(p))
}

// ResponsesUsage counts a response's tokens.
type ResponsesUsage struct {
	InputTokens         int64               `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int64               `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int64               `json:"total_tokens"`
}

// InputTokensDetails breaks input_tokens down: CachedTokens were read from the prompt cache.
type InputTokensDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
}

// OutputTokensDetails breaks output_tokens down: ReasoningTokens were spent reasoning.
type OutputTokensDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// ResponsesItemList is a page of input items.
type ResponsesItemList struct {
	Object  string          `json:"object"` // list
	Data    []ResponsesItem `json:"data"`
	FirstID *string         `json:"first_id"`
	LastID  *string         `json:"last_id"`
	HasMore bool            `json:"has_more"`
}

// ResponsesDeleted answers the deletion of a response.
type ResponsesDeleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // response
	Deleted bool   `json:"deleted"`
}
