// Package gemini holds the wire types of Google's Gemini API (generativelanguage.googleapis.com):
// generateContent, streamGenerateContent, embedContent and batchEmbedContents. Data only.
package gemini

import "encoding/json"

// Request is a generateContent (or streamGenerateContent) request.
type Request struct {
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
	Tools             []Tool            `json:"tools,omitempty"`
	ToolConfig        *ToolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
}

// Content is one turn: role user or model (none for a system instruction), and its parts.
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is one piece of a turn; exactly one of its data members is set.
type Part struct {
	Text             string            `json:"text,omitempty"`
	InlineData       *Blob             `json:"inlineData,omitempty"`
	FileData         *FileData         `json:"fileData,omitempty"`
	FunctionCall     *FunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *FunctionResponse `json:"functionResponse,omitempty"`
	// Thought marks a part of the model's reasoning (a thought summary), not of its answer.
	Thought bool `json:"thought,omitempty"`
	// ThoughtSignature is the opaque signature of the reasoning behind a part; thinking models
	// want it back with the function call it came with, in the next turn.
	ThoughtSignature string `json:"thoughtSignature,omitempty"`
}

// Blob is inline data: base64 bytes and their media type.
type Blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

// FileData is data by URI (an uploaded file).
type FileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

// FunctionCall is a call the model made; Args is a JSON object.
type FunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// FunctionResponse is a function's result; Response is a JSON object.
type FunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

// Tool offers functions to the model.
type Tool struct {
	FunctionDeclarations []FunctionDeclaration `json:"functionDeclarations,omitempty"`
}

// FunctionDeclaration describes a function; Parameters is a Schema (an OpenAPI subset).
type FunctionDeclaration struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ToolConfig says how the model may call functions.
type ToolConfig struct {
	FunctionCallingConfig *FunctionCallingConfig `json:"functionCallingConfig,omitempty"`
}

// FunctionCallingConfig: Mode is AUTO, ANY or NONE; with ANY, AllowedFunctionNames may narrow
// the choice.
type FunctionCallingConfig struct {
	Mode                 string   `json:"mode,omitempty"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

// GenerationConfig holds the sampling and output settings.
type GenerationConfig struct {
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"topP,omitempty"`
	MaxOutputTokens  *int            `json:"maxOutputTokens,omitempty"`
	StopSequences    []string        `json:"stopSequences,omitempty"`
	CandidateCount   *int            `json:"candidateCount,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	ResponseMimeType string          `json:"responseMimeType,omitempty"`
	ResponseSchema   json.RawMessage `json:"responseSchema,omitempty"`
}

// Response is a generateContent answer, or one chunk of a streamed one.
type Response struct {
	Candidates     []Candidate     `json:"candidates,omitempty"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion,omitempty"`
	ResponseID     string          `json:"responseId,omitempty"`
}

// Candidate is one answer.
type Candidate struct {
	Content      *Content `json:"content,omitempty"`
	FinishReason string   `json:"finishReason,omitempty"`
	Index        int      `json:"index,omitempty"`
}

// PromptFeedback says why a prompt was blocked, when it was.
type PromptFeedback struct {
	BlockReason string `json:"blockReason,omitempty"`
}

// UsageMetadata counts tokens. CandidatesTokenCount leaves out ThoughtsTokenCount; the cached
// count is part of PromptTokenCount.
type UsageMetadata struct {
	PromptTokenCount        int64 `json:"promptTokenCount,omitempty"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int64 `json:"totalTokenCount,omitempty"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount,omitempty"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount,omitempty"`
}

// EmbedRequest is an embedContent request, and one request of a batch (which names its model
// as models/{model}).
type EmbedRequest struct {
	Model                string  `json:"model,omitempty"`
	Content              Content `json:"content"`
	TaskType             string  `json:"taskType,omitempty"`
	OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
}

// BatchEmbedRequest is a batchEmbedContents request.
type BatchEmbedRequest struct {
	Requests []EmbedRequest `json:"requests"`
}

// Embedding is one vector.
type Embedding struct {
	Values []float64 `json:"values"`
}

// EmbedResponse is an embedContent answer.
type EmbedResponse struct {
	Embedding Embedding `json:"embedding"`
}

// BatchEmbedResponse is a batchEmbedContents answer, one embedding per request in order.
type BatchEmbedResponse struct {
	Embeddings []Embedding `json:"embeddings"`
}

// ErrorResponse is the API's error body.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error is a Google API error: the HTTP status as Code, a canonical Status (INVALID_ARGUMENT,
// RESOURCE_EXHAUSTED…) and details, whose ErrorInfo carries a Reason (API_KEY_INVALID…).
type Error struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
	Details []ErrorDetails `json:"details,omitempty"`
}

// ErrorDetails is one detail of an error; only ErrorInfo's members are read.
type ErrorDetails struct {
	Type   string `json:"@type,omitempty"`
	Reason string `json:"reason,omitempty"`
	Domain string `json:"domain,omitempty"`
}
