package llm

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
)

// EmbedRequest is an OpenAI embeddings request
// (https://platform.openai.com/docs/api-reference/embeddings/create) in
// canonical form, for providers that do not speak OpenAI's dialect.
type EmbedRequest struct {
	Model string // the model sent upstream
	// Input holds the texts to embed, in order (one for a string input).
	Input []string
	// Tokens: the input was token arrays, which only OpenAI-dialect
	// providers take (Input is empty then).
	Tokens bool
	// Dimensions is the requested vector size (0: the model's default).
	Dimensions int
	// Base64: encoding_format "base64" (little-endian float32 vectors).
	Base64 bool
}

// Embeddings is one upstream answer: the vectors of the inputs its call
// carried, in order.
type Embeddings struct {
	Vectors [][]float64
	// InputTokens is the prompt's token count; -1 when the provider does
	// not report one.
	InputTokens int
	Model       string // "" when the provider does not name it
}

// EmbedCall is one upstream call of an embeddings request. A request may
// need several (a provider with a per-call input limit, or one input per
// call): the gateway sends them concurrently and joins their vectors in
// call order.
type EmbedCall struct {
	Call *Call
	// Inputs is how many of the request's inputs this call carries.
	Inputs int
	// Parse reads a successful answer (headers and body).
	Parse func(h http.Header, body []byte) (*Embeddings, error)
}

// Embedder is a provider that serves OpenAI embeddings requests by
// translating them to its own embeddings API. BuildEmbed returns a 400
// worthy error for a request the provider cannot take.
type Embedder interface {
	BuildEmbed(req *EmbedRequest) ([]EmbedCall, error)
}

// MaxEmbedInputs is OpenAI's limit on the inputs of one request.
const MaxEmbedInputs = 2048

// ParseEmbedRequest reads an OpenAI embeddings body: input (a string, an
// array of strings, or token arrays), model, dimensions, encoding_format;
// user and unknown fields are ignored.
func ParseEmbedRequest(body []byte) (*EmbedRequest, error) {
	var w struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		Dimensions     *int            `json:"dimensions"`
		EncodingFormat *string         `json:"encoding_format"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, errors.New("invalid request body: " + err.Error())
	}
	req := &EmbedRequest{Model: w.Model}
	if w.Dimensions != nil {
		if *w.Dimensions < 1 {
			return nil, errors.New("dimensions must be a positive integer")
		}
		req.Dimensions = *w.Dimensions
	}
	if w.EncodingFormat != nil {
		switch *w.EncodingFormat {
		case "float":
		case "base64":
			req.Base64 = true
		default:
			return nil, errors.New(`encoding_format must be "float" or "base64"`)
		}
	}
	in := bytes.TrimSpace(w.Input)
	switch {
	case len(in) == 0 || string(in) == "null":
		return nil, errors.New("input is required")
	case in[0] == '"':
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, errors.New("input: " + err.Error())
		}
		req.Input = []string{s}
	case in[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(in, &items); err != nil {
			return nil, errors.New("input: " + err.Error())
		}
		if len(items) == 0 {
			return nil, errors.New("input must not be an empty array")
		}
		if len(items) > MaxEmbedInputs {
			return nil, errors.New("input must have at most " + strconv.Itoa(MaxEmbedInputs) + " items")
		}
		for _, it := range items {
			it = bytes.TrimSpace(it)
			if len(it) > 0 && it[0] != '"' {
				req.Tokens, req.Input = true, nil // token ids or token arrays
				break
			}
			var s string
			if err := json.Unmarshal(it, &s); err != nil {
				return nil, errors.New("input: " + err.Error())
			}
			req.Input = append(req.Input, s)
		}
	default:
		return nil, errors.New("input must be a string, an array of strings or token arrays")
	}
	return req, nil
}

// ErrEmbedTokens is the answer of a translating provider to token-array
// input.
func ErrEmbedTokens(system string) error {
	return errors.New("input as token arrays cannot be sent to " + system + ": send the text instead")
}

// EmbedBody renders the OpenAI embeddings response: vectors as float
// arrays, or as base64 of little-endian float32 values (what OpenAI sends
// for encoding_format "base64"); inputTokens < 0 is reported as 0.
func EmbedBody(model string, vectors [][]float64, inputTokens int, b64 bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"object":"list","data":[`)
	var num []byte
	var raw []byte
	for i, v := range vectors {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"object":"embedding","index":`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`,"embedding":`)
		if b64 {
			raw = raw[:0]
			for _, x := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(x)))
			}
			b.WriteByte('"')
			b.WriteString(base64.StdEncoding.EncodeToString(raw))
			b.WriteString(`"}`)
			continue
		}
		b.WriteByte('[')
		for j, x := range v {
			if j > 0 {
				b.WriteByte(',')
			}
			num = appendFloat(num[:0], x)
			b.Write(num)
		}
		b.WriteString("]}")
	}
	b.WriteString(`],"model":`)
	m, _ := json.Marshal(model)
	b.Write(m)
	n := strconv.Itoa(max(inputTokens, 0))
	b.WriteString(`,"usage":{"prompt_tokens":` + n + `,"total_tokens":` + n + `}}`)
	return b.Bytes()
}

// appendFloat writes x as a JSON number (encoding/json's format; a
// non-finite value, which JSON cannot carry, as 0).
func appendFloat(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, '0')
	}
	abs := math.Abs(x)
	f := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		f = 'e'
	}
	return strconv.AppendFloat(b, x, f, -1, 64)
}

// JoinEmbeddings joins the answers of a request's calls, in call order:
// their vectors, the summed token count (-1 when any answer lacks one)
// and the first model named.
func JoinEmbeddings(results []*Embeddings) (vectors [][]float64, inputTokens int, model string) {
	for _, res := range results {
		vectors = append(vectors, res.Vectors...)
		if res.InputTokens < 0 || inputTokens < 0 {
			inputTokens = -1
		} else {
			inputTokens += res.InputTokens
		}
		if model == "" {
			model = res.Model
		}
	}
	return vectors, inputTokens, model
}
