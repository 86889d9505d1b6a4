// Package anthropic holds the wire types of Anthropic's Messages API. Data only.
package anthropic

import "encoding/json"

// Version is the anthropic-version header the gateway sends.
const Version = "2023-06-01"

// Request is a Messages API request.
type Request struct {
	Model         string          `json:"model"`
	MaxTokens     int             `json:"max_tokens"`
	System        json.RawMessage `json:"system,omitempty"` // string or []Block
	Messages      []Message       `json:"messages"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	TopK          *int            `json:"top_k,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Tools         []Tool          `json:"tools,omitempty"`
	ToolChoice    *ToolChoice     `json:"tool_choice,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
}

// Message is one turn. Content is a string or a list of blocks.
type Message struct {
	Role    string          `json:"role"` // user or assistant
	Content json.RawMessage `json:"content"`
}

// Block is a content block.
type Block struct {
	Type string `json:"type"` // text, image, tool_use, tool_result, thinking
	Text string `json:"text,omitempty"`
	// CacheControl marks the end of a prompt prefix to cache ({"type":"ephemeral"}).
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
	// image
	Source *ImageSource `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"` // string or []Block
	IsError   bool            `json:"is_error,omitempty"`
	// thinking
	Thinking string `json:"thinking,omitempty"`
}

// ImageSource is an image given inline or by URL.
type ImageSource struct {
	Type      string `json:"type"` // base64 or url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Tool is a tool the model may use.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// ToolChoice says how the model should use tools.
type ToolChoice struct {
	Type string `json:"type"` // auto, any, tool, none
	Name string `json:"name,omitempty"`
}

// Response is a Messages API answer.
type Response struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"` // message
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []Block `json:"content"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        Usage   `json:"usage"`
}

// Usage counts tokens.
type Usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens,omitempty"`
}

// Event is one streamed event; which fields are set depends on Type.
type Event struct {
	Type         string          `json:"type"`
	Message      *Response       `json:"message,omitempty"`       // message_start
	Index        int             `json:"index"`                   // content_block_*
	ContentBlock *Block          `json:"content_block,omitempty"` // content_block_start
	Delta        json.RawMessage `json:"delta,omitempty"`         // content_block_delta, message_delta
	Usage        *Usage          `json:"usage,omitempty"`         // message_delta
	Error        *Error          `json:"error,omitempty"`         // error
}

// BlockDelta is the delta of a content_block_delta event.
type BlockDelta struct {
	Type        string `json:"type"` // text_delta, input_json_delta, thinking_delta, signature_delta
	Text        string `json:"text,omitempty"`
	PartialJSON string `json:"partial_json,omitempty"`
	Thinking    string `json:"thinking,omitempty"`
}

// MessageDelta is the delta of a message_delta event.
type MessageDelta struct {
	StopReason   string  `json:"stop_reason,omitempty"`
	StopSequence *string `json:"stop_sequence,omitempty"`
}

// Error is Anthropic's error object.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ErrorResponse is the body of an error answer.
type ErrorResponse struct {
	Type  string `json:"type"` // error
	Error Error  `json:"error"`
}
