// Package azure speaks Azure OpenAI
// (https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference):
// the chat-completions dialect of provider/openai, addressed by deployment
// (/openai/deployments/{deployment}/chat/completions?api-version=…) or,
// with apiVersion "v1", through the v1 API (/openai/v1/chat/completions,
// the deployment as the body's model), authenticated with the api-key
// header or, without a key, a Microsoft Entra token (Spec.Token) as a
// Bearer token.
package azure

import (
	"context"
	"net/http"
	"net/url"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// DefaultAPIVersion is the api-version sent when none is configured (the
// latest GA dated version of the data-plane API).
const DefaultAPIVersion = "2024-10-21"

// Spec configures an Azure OpenAI upstream.
type Spec struct {
	Deployment string // "" = the client's model names the deployment
	Resource   string // <resource>.openai.azure.com
	APIVersion string // "" = DefaultAPIVersion; "v1" = the v1 API
	Host       string // "" = <resource>.openai.azure.com:443
	Base       string // "" = "/openai"
	// Token yields an Entra access token (scope
	// https://cognitiveservices.azure.com/.default) used when no key is
	// configured.
	Token func(ctx context.Context) (string, error)
}

// Provider is an Azure OpenAI upstream.
type Provider struct {
	*openai.Provider
	s Spec
}

// New returns a provider.
func New(s Spec) *Provider {
	if s.APIVersion == "" {
		s.APIVersion = DefaultAPIVersion
	}
	if s.Host == "" {
		s.Host = s.Resource + ".openai.azure.com:443"
	}
	if s.Base == "" {
		s.Base = "/openai"
	}
	return &Provider{s: s, Provider: openai.New(openai.Spec{Model: s.Deployment, System: "azure.ai.openai", Host: s.Host,
		Base: s.Base + "/v1", AuthHeader: "Api-Key", AuthPrefix: ""})}
}

// Authorize implements llm.Provider: the key as api-key, else Spec.Token's
// token as Authorization: Bearer.
func (p *Provider) Authorize(r *http.Request, body []byte, key string) error {
	if key != "" || p.s.Token == nil {
		return p.Provider.Authorize(r, body, key)
	}
	t, err := p.s.Token(r.Context())
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+t)
	return nil
}

// V1 reports whether the provider uses the v1 API.
func (p *Provider) V1() bool { return p.s.APIVersion == "v1" }

func (p *Provider) opPath(deployment, op string) string {
	if p.V1() {
		return p.s.Base + "/v1/" + op
	}
	return p.s.Base + "/deployments/" + llm.EscapePathSegment(deployment) + "/" + op + "?api-version=" + url.QueryEscape(p.s.APIVersion)
}

// Path implements llm.Provider: embeddings go to the configured
// deployment (the v1 API takes it from the body).
func (p *Provider) Path(op llm.Op) (string, bool) {
	switch op {
	case llm.OpEmbeddings:
		if p.V1() || p.s.Deployment != "" {
			return p.opPath(p.s.Deployment, "embeddings"), true
		}
	case llm.OpModels:
		if p.V1() {
			return p.s.Base + "/v1/models", true
		}
	case llm.OpCompletions:
		if p.V1() || p.s.Deployment != "" {
			return p.opPath(p.s.Deployment, "chat/completions"), true
		}
	}
	return "", false
}

// BuildChat implements llm.Provider.
func (p *Provider) BuildChat(req *llm.Request) (*llm.Call, error) {
	call, err := p.Provider.BuildChat(req)
	if err != nil {
		return nil, err
	}
	call.Path, call.FixedPath = p.opPath(req.Model, "chat/completions"), true
	return call, nil
}
