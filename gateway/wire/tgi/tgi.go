// Package tgi holds the wire types of Hugging Face's Text Generation Inference (/generate,
// /generate_stream), Text Embeddings Inference (/embed) and the Inference API task payloads.
// Data only.
package tgi

// Parameters are generation parameters.
type Parameters struct {
	MaxNewTokens        *int     `json:"max_new_tokens,omitempty"`
	Temperature         *float64 `json:"temperature,omitempty"`
	TopP                *float64 `json:"top_p,omitempty"`
	Stop                []string `json:"stop,omitempty"`
	Details             bool     `json:"details,omitempty"`
	DecoderInputDetails bool     `json:"decoder_input_details,omitempty"`
	ReturnFullText      *bool    `json:"return_full_text,omitempty"`
	Seed                *int64   `json:"seed,omitempty"`
}

// GenerateRequest is a /generate (or Inference API text-generation) request.
type GenerateRequest struct {
	Inputs     string      `json:"inputs"`
	Parameters *Parameters `json:"parameters,omitempty"`
	Stream     bool        `json:"stream,omitempty"`
}

// Details are what TGI reports about a generation.
type Details struct {
	FinishReason    string  `json:"finish_reason"` // length, eos_token, stop_sequence
	GeneratedTokens int64   `json:"generated_tokens"`
	InputLength     int64   `json:"input_length,omitempty"`
	Prefill         []Token `json:"prefill,omitempty"`
}

// Token is one token.
type Token struct {
	ID      int64   `json:"id"`
	Text    string  `json:"text"`
	Logprob float64 `json:"logprob,omitempty"`
	Special bool    `json:"special,omitempty"`
}

// GenerateResponse is a /generate answer (the Inference API wraps it in a list).
type GenerateResponse struct {
	GeneratedText string   `json:"generated_text"`
	Details       *Details `json:"details,omitempty"`
}

// StreamEvent is one event of /generate_stream.
type StreamEvent struct {
	Token         Token    `json:"token"`
	GeneratedText *string  `json:"generated_text"`
	Details       *Details `json:"details"`
	Error         string   `json:"error,omitempty"`
}

// InputsRequest is the payload of feature extraction, classification and TEI's /embed.
type InputsRequest struct {
	Inputs any `json:"inputs"` // string or []string
}

// Label is one classification result.
type Label struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}
