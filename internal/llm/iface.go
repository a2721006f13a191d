package llm

import (
	"encoding/json"
	"io"
	"net/http"
)

// Op is what a request asks of the gateway (agentgateway's route types).
type Op string

// Ops.
const (
	OpCompletions Op = "completions"         // POST /v1/chat/completions
	OpMessages    Op = "messages"            // POST /v1/messages
	OpResponses   Op = "responses"           // POST /v1/responses
	OpEmbeddings  Op = "embeddings"          // POST /v1/embeddings
	OpModels      Op = "models"              // GET /v1/models
	OpCountTokens Op = "anthropicTokenCount" //nolint:gosec // a route type name, not a credential
	OpPassthrough Op = "passthrough"         // anything else: forwarded as is
	OpDetect      Op = "detect"              // forwarded as is, usage extracted
	// OpGenerateContent is Gemini's native
	// /v1beta/models/{m}:generateContent and :streamGenerateContent.
	OpGenerateContent Op = "generateContent"
)

// Call is an upstream HTTP request built by a provider. The gateway adds
// the scheme and host, then lets the provider authorize it.
type Call struct {
	Method string
	Path   string // path and query
	Header http.Header
	Body   []byte
	// Stream: the upstream answers with a stream (SSE or event-stream).
	Stream bool
	// FixedPath: the path carries the model or deployment, so it is never
	// replaced by the client's own path (hostOverride without pathPrefix).
	FixedPath bool
	// ParseChat and DecodeStream, when set, replace the provider's for this
	// call: state kept from the request (Bedrock's tool-name mapping, the
	// model a path-addressed provider answers with) or another wire format
	// (Responses API passthrough).
	ParseChat    func(body []byte) (*Response, error)
	DecodeStream func(r io.Reader) EventReader
	// Pooled, when set, holds Body's bytes (a buffer of its own, or the
	// client's body that Body is or slices): the gateway releases it once
	// the attempt is over and the transport has closed the body.
	Pooled *BodyBuf
}

// Provider is one configured upstream LLM API (one provider entry with its
// model, region, deployment, …). Implementations are immutable and safe
// for concurrent use.
type Provider interface {
	// System is the gen_ai.system metric label and llm.provider log field.
	System() string
	// Dialect is the provider's native chat dialect.
	Dialect() Dialect
	// DefaultHost is the provider's public endpoint, used when no
	// hostOverride is configured: host:port, always TLS.
	DefaultHost() string
	// Model is the configured upstream model ("" = the client's).
	Model() string
	// BuildChat translates a canonical request (Model already resolved)
	// into the upstream call.
	BuildChat(req *Request) (*Call, error)
	// ParseChat translates a successful non-streaming answer.
	ParseChat(body []byte) (*Response, error)
	// DecodeStream reads the upstream stream event by event.
	DecodeStream(r io.Reader) EventReader
	// ParseError translates an upstream error response.
	ParseError(status int, h http.Header, body []byte) *Error
	// Authorize sets the credentials on an outgoing request (key headers,
	// SigV4 signature). key is the configured backend key ("" = none).
	Authorize(r *http.Request, body []byte, key string) error
	// Path is the upstream path for a non-chat op (embeddings, count
	// tokens, models); ok=false when the provider has none.
	Path(op Op) (path string, ok bool)
}

// EventReader yields canonical events from an upstream stream. Next
// returns io.EOF after the last event; any other error means the stream
// broke. One upstream event may yield several canonical events.
type EventReader interface {
	Next() ([]Event, error)
}

// Format is a client dialect: how the gateway reads a client's request
// and writes the answer back.
type Format interface {
	Dialect() Dialect
	// ParseRequest parses a client body into canonical form (keeping Raw).
	ParseRequest(body []byte) (*Request, error)
	// WriteResponse renders a non-streaming answer; a Response in the same
	// dialect is written from its Raw body.
	WriteResponse(resp *Response) []byte
	// NewEncoder starts a streaming answer for req.
	NewEncoder(req *Request) Encoder
	// ErrorBody renders an error: the status to send and the JSON body.
	ErrorBody(e *Error) (int, []byte)
}

// Encoder turns canonical events into the client's SSE bytes.
type Encoder interface {
	// Encode returns the bytes to send for ev (nil: nothing), valid until
	// the next Encode.
	Encode(ev *Event) []byte
	// Finish ends the stream: the terminal bytes of a complete stream
	// (err == nil), or an error event for a broken one.
	Finish(err *Error) []byte
}

// RawObject decodes a JSON object keeping its members raw.
func RawObject(b []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotObject
	}
	return m, nil
}

type strErr string

func (e strErr) Error() string { return string(e) }

const errNotObject = strErr("request body must be a JSON object")
