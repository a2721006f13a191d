// Package vertex speaks Google Vertex AI's publisher-model APIs as an
// upstream provider: Gemini models through generateContent and
// streamGenerateContent
// (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent;
// the Gemini body, stream and google.rpc errors of provider/gemini), and
// Anthropic models through rawPredict and streamRawPredict
// (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude:
// the Messages body without model, with anthropic_version
// "vertex-2023-10-16", the model in the path). Auth is an OAuth access
// token sent as a Bearer token: the configured key, else one from
// Spec.Token (Google credentials, see internal/cloudauth).
package vertex

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
)

// Spec configures a Vertex AI upstream.
type Spec struct {
	Model   string // "" = the client's (then a Gemini model)
	Project string
	Region  string // "" = global
	Host    string // "" = the region's endpoint
	Base    string // "" = "/v1"
	// Token yields the access token when no key is configured (cached
	// by its source).
	Token func(ctx context.Context) (string, error)
}

// New returns the provider for s: Anthropic's publisher when the
// configured model is a Claude model, else Google's (Gemini).
func New(s Spec) llm.Provider {
	if s.Region == "" {
		s.Region = "global"
	}
	if s.Host == "" {
		s.Host = "aiplatform.googleapis.com:443"
		if s.Region != "global" {
			s.Host = s.Region + "-aiplatform.googleapis.com:443"
		}
	}
	if s.Base == "" {
		s.Base = "/v1"
	}
	if IsAnthropic(s.Model) {
		return &Anthropic{base{s}}
	}
	return &Gemini{base{s}}
}

// IsAnthropic reports whether model is served by Anthropic's publisher.
func IsAnthropic(model string) bool {
	m := strings.ToLower(model)
	return strings.HasPrefix(m, "claude") || strings.HasPrefix(m, "anthropic/")
}

type base struct{ s Spec }

func (b *base) System() string      { return "gcp.vertex_ai" }
func (b *base) DefaultHost() string { return b.s.Host }
func (b *base) Model() string       { return b.s.Model }

// Path implements llm.Provider: Vertex AI has no model-free chat paths.
func (b *base) Path(llm.Op) (string, bool) { return "", false }

func (b *base) modelPath(publisher, model, method string) string {
	model = strings.TrimPrefix(model, "anthropic/")
	return b.s.Base + "/projects/" + llm.EscapePathSegment(b.s.Project) + "/locations/" + llm.EscapePathSegment(b.s.Region) +
		"/publishers/" + publisher + "/models/" + llm.EscapePathSegment(model) + ":" + method
}

// Authorize implements llm.Provider: the key, else Spec.Token's token,
// as a Bearer token.
func (b *base) Authorize(r *http.Request, _ []byte, key string) error {
	if key == "" && b.s.Token != nil {
		t, err := b.s.Token(r.Context())
		if err != nil {
			return err
		}
		key = t
	}
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return nil
}

// Gemini is a Gemini model on Vertex AI.
type Gemini struct{ base }

// Dialect implements llm.Provider.
func (p *Gemini) Dialect() llm.Dialect { return llm.DialectGemini }

// BuildChat implements llm.Provider.
func (p *Gemini) BuildChat(req *llm.Request) (*llm.Call, error) {
	body, err := gemini.BuildBody(req)
	if err != nil {
		return nil, err
	}
	path := p.modelPath("google", req.Model, "generateContent")
	if req.Stream {
		path = p.modelPath("google", req.Model, "streamGenerateContent") + "?alt=sse"
	}
	return gemini.NewCall(path, body, req.Stream), nil
}

// ParseChat implements llm.Provider.
func (p *Gemini) ParseChat(body []byte) (*llm.Response, error) { return gemini.ParseResponse(body) }

// DecodeStream implements llm.Provider.
func (p *Gemini) DecodeStream(r io.Reader) llm.EventReader { return gemini.NewDecoder(r) }

// ParseError implements llm.Provider.
func (p *Gemini) ParseError(status int, h http.Header, body []byte) *llm.Error {
	return gemini.ParseError(status, h, body)
}

// Anthropic is a Claude model on Vertex AI.
type Anthropic struct{ base }

// Dialect implements llm.Provider.
func (p *Anthropic) Dialect() llm.Dialect { return llm.DialectAnthropic }

// BuildChat implements llm.Provider.
func (p *Anthropic) BuildChat(req *llm.Request) (*llm.Call, error) {
	body, err := anthropic.BuildBody(req, false)
	if err != nil {
		return nil, err
	}
	method := "rawPredict"
	h := http.Header{"Content-Type": {"application/json"}}
	if req.Stream {
		method = "streamRawPredict"
		h.Set("Accept", "text/event-stream")
	}
	model := req.Model
	return &llm.Call{Method: http.MethodPost, Path: p.modelPath("anthropic", model, method), Header: h, Body: body,
		Stream: req.Stream, FixedPath: true,
		ParseChat: func(b []byte) (*llm.Response, error) {
			r, err := anthropic.ParseResponse(b)
			if err == nil && r.Model == "" {
				r.Model = model
			}
			return r, err
		}}, nil
}

// ParseChat implements llm.Provider.
func (p *Anthropic) ParseChat(body []byte) (*llm.Response, error) {
	return anthropic.ParseResponse(body)
}

// DecodeStream implements llm.Provider.
func (p *Anthropic) DecodeStream(r io.Reader) llm.EventReader { return anthropic.NewDecoder(r) }

// ParseError implements llm.Provider: Anthropic's error shape from the
// model, google.rpc.Status from Vertex AI itself (quota, auth).
func (p *Anthropic) ParseError(status int, h http.Header, body []byte) *llm.Error {
	if bytes.Contains(body, []byte(`"type"`)) && bytes.Contains(body, []byte(`"error"`)) && !bytes.Contains(body, []byte(`"status"`)) {
		return anthropic.ParseError(status, h, body)
	}
	return gemini.ParseError(status, h, body)
}
