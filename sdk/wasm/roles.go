package iomwasm

// The role functions below are what a plugin's //go:wasmexport functions return: each reads
// the input at ptr/size, runs the handler and packs the output as (ptr << 32) | len.

// Transform serves iom_transform (and iom_transform_chunk: the handler sees Stage "chunk" and
// may set Result.Drop).
func Transform(ptr, size uint32, fn func(*Envelope) (Result, error)) uint64 {
	return pack(TransformJSON(input(ptr, size), fn))
}

// AdapterRequest serves iom_adapter_request.
func AdapterRequest(ptr, size uint32, fn func(*ModelCall) (*HTTPRequest, error)) uint64 {
	return pack(AdapterRequestJSON(input(ptr, size), fn))
}

// AdapterResponse serves iom_adapter_response.
func AdapterResponse(ptr, size uint32, fn func(*UpstreamResponse) ([]byte, error)) uint64 {
	return pack(AdapterResponseJSON(input(ptr, size), fn))
}

// Infer serves iom_infer.
func Infer(ptr, size uint32, fn func(*ModelCall) ([]byte, error)) uint64 {
	return pack(InferJSON(input(ptr, size), fn))
}

// Describe serves iom_describe.
func Describe(d Description) uint64 { return pack(DescribeJSON(d)) }
