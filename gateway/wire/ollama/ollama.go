// Package ollama holds the wire types of Ollama's native API (/api/chat, /api/generate,
// /api/embed). Data only.
package ollama

import "encoding/json"

// Options are sampling options.
type Options struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	NumPredict  *int     `json:"num_predict,omitempty"`
	Stop        []string `json:"stop,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
}

// ChatRequest is a /api/chat request.
type ChatRequest struct {
	Model    string          `json:"model"`
	Messages []Message       `json:"messages"`
	Stream   bool            `json:"stream"`
	Options  *Options        `json:"options,omitempty"`
	Tools    json.RawMessage `json:"tools,omitempty"` // OpenAI's tool shape
	Format   json.RawMessage `json:"format,omitempty"`
}

// Message is one chat message.
type Message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Images    []string   `json:"images,omitempty"` // base64
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// ToolCall is a function call of the model.
type ToolCall struct {
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"` // an object
	} `json:"function"`
}

// ChatResponse is an answer of /api/chat, or one line of its stream.
type ChatResponse struct {
	Model           string  `json:"model"`
	CreatedAt       string  `json:"created_at"`
	Message         Message `json:"message"`
	Done            bool    `json:"done"`
	DoneReason      string  `json:"done_reason,omitempty"`
	PromptEvalCount int64   `json:"prompt_eval_count,omitempty"`
	EvalCount       int64   `json:"eval_count,omitempty"`
	Error           string  `json:"error,omitempty"`
}

// GenerateRequest is a /api/generate request.
type GenerateRequest struct {
	Model   string   `json:"model"`
	Prompt  string   `json:"prompt"`
	Stream  bool     `json:"stream"`
	Options *Options `json:"options,omitempty"`
}

// GenerateResponse is an answer of /api/generate, or one line of its stream.
type GenerateResponse struct {
	Model           string `json:"model"`
	Response        string `json:"response"`
	Done            bool   `json:"done"`
	DoneReason      string `json:"done_reason,omitempty"`
	PromptEvalCount int64  `json:"prompt_eval_count,omitempty"`
	EvalCount       int64  `json:"eval_count,omitempty"`
	Error           string `json:"error,omitempty"`
}

// EmbedRequest is a /api/embed request.
type EmbedRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

// EmbedResponse is an answer of /api/embed.
type EmbedResponse struct {
	Model           string      `json:"model"`
	Embeddings      [][]float64 `json:"embeddings"`
	PromptEvalCount int64       `json:"prompt_eval_count,omitempty"`
}
