// Package bedrock holds the wire types of Amazon Bedrock Runtime's Converse and ConverseStream
// APIs (POST /model/{modelId}/converse and /converse-stream) and of the Titan text embeddings
// model's InvokeModel body. Data only.
package bedrock

import "encoding/json"

// Request is a Converse (or ConverseStream) request; the model is in the path.
type Request struct {
	Messages        []Message        `json:"messages"`
	System          []SystemBlock    `json:"system,omitempty"`
	InferenceConfig *InferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig      *ToolConfig      `json:"toolConfig,omitempty"`
}

// Message is one turn: role user or assistant, and its content blocks.
type Message struct {
	Role    string         `json:"role"`
	Content []ContentBlock `json:"content"`
}

// SystemBlock is a piece of the system prompt: text, or a cache point after the text before it.
type SystemBlock struct {
	Text       string      `json:"text,omitempty"`
	CachePoint *CachePoint `json:"cachePoint,omitempty"`
}

// CachePoint marks the end of a prompt prefix to cache.
type CachePoint struct {
	Type string `json:"type"` // default
}

// ContentBlock is one block of a turn; exactly one member is set.
type ContentBlock struct {
	Text       *string     `json:"text,omitempty"`
	Image      *Image      `json:"image,omitempty"`
	ToolUse    *ToolUse    `json:"toolUse,omitempty"`
	ToolResult *ToolResult `json:"toolResult,omitempty"`
	// ReasoningContent is the model's reasoning (extended thinking), not its answer.
	ReasoningContent json.RawMessage `json:"reasoningContent,omitempty"`
	CachePoint       *CachePoint     `json:"cachePoint,omitempty"`
}

// Image is an image block: its format (png, jpeg, gif, webp) and its bytes.
type Image struct {
	Format string      `json:"format"`
	Source ImageSource `json:"source"`
}

// ImageSource holds an image's bytes, base64 in JSON.
type ImageSource struct {
	Bytes string `json:"bytes"`
}

// ToolUse is a call the model made; Input is a JSON object.
type ToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

// ToolResult answers a ToolUse.
type ToolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"` // success or error
}

// ToolResultContent is one block of a tool result: text or a JSON value.
type ToolResultContent struct {
	Text *string         `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

// InferenceConfig holds the sampling settings.
type InferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// ToolConfig offers tools and says how the model may use them.
type ToolConfig struct {
	Tools      []Tool      `json:"tools"`
	ToolChoice *ToolChoice `json:"toolChoice,omitempty"`
}

// Tool is a tool the model may call.
type Tool struct {
	ToolSpec ToolSpec `json:"toolSpec"`
}

// ToolSpec describes a tool; its input schema is JSON Schema under "json".
type ToolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema InputSchema `json:"inputSchema"`
}

// InputSchema wraps a JSON Schema.
type InputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// ToolChoice: exactly one member is set; Auto and Any are empty objects.
type ToolChoice struct {
	Auto *struct{}     `json:"auto,omitempty"`
	Any  *struct{}     `json:"any,omitempty"`
	Tool *SpecificTool `json:"tool,omitempty"`
}

// SpecificTool names the tool the model must call.
type SpecificTool struct {
	Name string `json:"name"`
}

// Response is a Converse answer.
type Response struct {
	Output struct {
		Message *Message `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      Usage  `json:"usage"`
}

// Usage counts tokens. InputTokens leaves out the prompt tokens read from or written to the
// prompt cache, which have counts of their own.
type Usage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens,omitempty"`
}

// The events of a ConverseStream answer, each the JSON payload of an event-stream message whose
// :event-type header names it.

// MessageStart opens the answer.
type MessageStart struct {
	Role string `json:"role"`
}

// ContentBlockStart opens a block; only tool use blocks are announced.
type ContentBlockStart struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Start             struct {
		ToolUse *struct {
			ToolUseID string `json:"toolUseId"`
			Name      string `json:"name"`
		} `json:"toolUse"`
	} `json:"start"`
}

// ContentBlockDelta carries the next piece of a block: text, or a piece of a tool call's input
// (JSON text).
type ContentBlockDelta struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Delta             struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
		ReasoningContent json.RawMessage `json:"reasoningContent"`
	} `json:"delta"`
}

// MessageStop says why the answer stopped.
type MessageStop struct {
	StopReason string `json:"stopReason"`
}

// Metadata ends the stream with its usage.
type Metadata struct {
	Usage *Usage `json:"usage"`
}

// Error is the body of an error answer, and the payload of an exception event.
type Error struct {
	Message string `json:"message"`
}

// TitanEmbedRequest is the InvokeModel body of Amazon's Titan text embeddings models.
type TitanEmbedRequest struct {
	InputText  string `json:"inputText"`
	Dimensions *int   `json:"dimensions,omitempty"`
}

// TitanEmbedResponse is its answer.
type TitanEmbedResponse struct {
	Embedding           []float64 `json:"embedding"`
	InputTextTokenCount int64     `json:"inputTextTokenCount"`
}
