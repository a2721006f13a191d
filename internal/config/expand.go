package config

import (
	"maps"
	"net"
	"net/url"
	"reflect"
)

// Expand rewrites the simplified top-level forms into binds (it does not
// modify c; the result shares unchanged sub-objects with c):
//
//   - `llm:` becomes a bind on llm.port (default 4000) with a listener "llm"
//     (HTTPS when llm.tls is set) and a route "llm" whose backends are one
//     `ai` backend per model (name = model name, provider = {<kind>: {model:
//     params.model}}, hostOverride/pathPrefix/backendTLS from params.baseUrl,
//     policies.backendAuth.key = params.apiKey) and whose policies are
//     llm.policies.
//   - `mcp:` becomes a bind on mcp.port (default 3000) with a listener "mcp"
//     and a route "mcp" whose policies are mcp.policies and whose single
//     backend is `mcp: {targets, statefulMode, prefixMode, failureMode}`.
//
// An llm: model's matches, visibility and passthrough, and the virtual
// models, travel on its ai backend (AIBackend.LLM) for the model router.
// Parts of the simplified forms that a bind cannot express are recorded in
// Unbuilt under their path (e.g. "llm.models[0].authorization",
// "llm.gateways") so the compiler can refuse them as not supported yet.
// Expanded binds come after the file's binds (llm first, then mcp). Call
// Validate first: Expand assumes a valid config.
func Expand(c *Config) *Config {
	if c == nil {
		return nil
	}
	out := *c
	out.Binds = append([]Bind(nil), c.Binds...)
	out.Unbuilt = maps.Clone(c.Unbuilt)
	out.LLM, out.MCP = nil, nil
	unbuilt := func(key string, v any) {
		if out.Unbuilt == nil {
			out.Unbuilt = map[string]Raw{}
		}
		out.Unbuilt[key] = Raw{Value: dumpValue(reflect.ValueOf(v), "")}
	}
	if l := c.LLM; l != nil {
		if l.Gateways != nil {
			unbuilt("llm.gateways", []string(*l.Gateways))
		} else {
			out.Binds = append(out.Binds, expandLLM(l, unbuilt))
		}
	}
	if m := c.MCP; m != nil {
		if m.Gateways != nil {
			unbuilt("mcp.gateways", []string(*m.Gateways))
		} else {
			out.Binds = append(out.Binds, expandMCP(m))
		}
	}
	return &out
}

func ptr[T any](v T) *T { return &v }

func expandMCP(m *SimpleMCP) Bind {
	port := DefaultMCPPort
	if m.Port != nil {
		port = *m.Port
	}
	return Bind{
		Port: port,
		Listeners: []Listener{{
			Name: ptr("mcp"),
			Routes: []Route{{
				Name:     ptr("mcp"),
				Policies: m.Policies,
				Backends: []Backend{{MCP: &MCPBackend{
					Targets:                m.Targets,
					StatefulMode:           m.StatefulMode,
					PrefixMode:             m.PrefixMode,
					FailureMode:            m.FailureMode,
					DNSRebindingProtection: m.DNSRebindingProtection,
				}}},
			}},
		}},
	}
}

func expandLLM(l *LLMConfig, unbuilt func(string, any)) Bind {
	port := DefaultLLMPort
	if l.Port != nil {
		port = *l.Port
	}
	lis := Listener{Name: ptr("llm")}
	if l.TLS != nil {
		lis.Protocol = ptr("HTTPS")
		lis.TLS = l.TLS
	}
	route := Route{Name: ptr("llm"), Policies: llmRoutePolicies(l.Policies)}
	for i := range l.Models {
		m := &l.Models[i]
		mp := indexPath("llm.models", i)
		if m.Authorization != nil {
			unbuilt(mp+".authorization", m.Authorization)
		}
		b := modelBackend(l, m)
		if rt := modelRouting(mp, m); rt != nil || (i == 0 && len(l.VirtualModels) > 0) {
			if rt == nil {
				rt = &LLMRouting{Path: mp, Visibility: "public"}
			}
			if i == 0 {
				rt.VirtualModels = l.VirtualModels
			}
			b.LLM = rt
		}
		route.Backends = append(route.Backends, Backend{AI: b})
	}
	lis.Routes = []Route{route}
	return Bind{Port: port, Listeners: []Listener{lis}}
}

// modelRouting is the routing of an llm: model, nil when it has none (a
// public, translated model without header matches).
func modelRouting(path string, m *LLMModel) *LLMRouting {
	vis := "public"
	if m.Visibility != nil {
		vis = *m.Visibility
	}
	if vis == "public" && m.Passthrough == nil && len(m.Matches) == 0 {
		return nil
	}
	return &LLMRouting{Path: path, Visibility: vis, Passthrough: deref(m.Passthrough), Matches: m.Matches}
}

func llmRoutePolicies(p *LLMPolicies) *Policies {
	if p == nil {
		return nil
	}
	out := &Policies{
		JWTAuth:         p.JWTAuth,
		APIKey:          p.APIKey,
		BasicAuth:       p.BasicAuth,
		Authorization:   p.Authorization,
		ExtAuthz:        p.ExtAuthz,
		CORS:            p.CORS,
		OIDC:            p.OIDC,
		ExtProc:         p.ExtProc,
		Transformations: p.Transformations,
		RemoteRateLimit: p.RemoteRateLimit,
	}
	if p.LocalRateLimit != nil {
		out.LocalRateLimit = &LocalRateLimit{Limits: p.LocalRateLimit}
	}
	if p.Guardrails != nil {
		out.AI = &AIPolicy{PromptGuard: p.Guardrails}
	}
	return out
}

// resolvedModel is a model with its provider reference resolved.
type resolvedModel struct {
	kind   string          // provider name (openAI, vertex, groq, …); "" for custom
	custom *CustomProvider // custom provider
	params LLMParams
}

func resolveModel(l *LLMConfig, m *LLMModel) resolvedModel {
	r := resolvedModel{kind: m.Provider}
	var base *LLMParams
	if ref := m.ProviderRef; ref != nil {
		r.kind, r.custom = "", ref.Custom
		if ref.Reference != nil {
			for i := range l.Providers {
				p := &l.Providers[i]
				if p.Name == *ref.Reference {
					r.kind, base = p.Provider, p.Params
					if p.ProviderRef != nil {
						r.custom = p.ProviderRef.Custom
					}
					break
				}
			}
		}
	}
	if base != nil {
		r.params = *base
	}
	if m.Params != nil {
		mergeParams(&r.params, m.Params)
	}
	return r
}

// mergeParams sets every field of over that is set onto dst.
func mergeParams(dst, over *LLMParams) {
	set := func(d **string, s *string) {
		if s != nil {
			*d = s
		}
	}
	set(&dst.Model, over.Model)
	if over.APIKey != nil {
		dst.APIKey = over.APIKey
	}
	set(&dst.BaseURL, over.BaseURL)
	set(&dst.AWSRegion, over.AWSRegion)
	set(&dst.VertexRegion, over.VertexRegion)
	set(&dst.VertexProject, over.VertexProject)
	set(&dst.AzureResourceName, over.AzureResourceName)
	set(&dst.AzureResourceType, over.AzureResourceType)
	set(&dst.AzureAPIVersion, over.AzureAPIVersion)
	set(&dst.AzureProjectName, over.AzureProjectName)
	set(&dst.HostOverride, over.HostOverride)
	set(&dst.PathOverride, over.PathOverride)
	set(&dst.PathPrefix, over.PathPrefix)
	dst.Tokenize = dst.Tokenize || over.Tokenize
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func modelBackend(l *LLMConfig, m *LLMModel) *AIBackend {
	r := resolveModel(l, m)
	p := &r.params
	prov := &AIProvider{}
	switch r.kind {
	case "openAI", "openai":
		prov.OpenAI = &ProviderModel{Model: p.Model}
	case "anthropic":
		prov.Anthropic = &ProviderModel{Model: p.Model}
	case "gemini":
		prov.Gemini = &ProviderModel{Model: p.Model}
	case "copilot":
		prov.Copilot = &ProviderModel{Model: p.Model}
	case "vertex":
		prov.Vertex = &VertexProvider{Model: p.Model, Region: p.VertexRegion, ProjectID: deref(p.VertexProject)}
	case "bedrock":
		prov.Bedrock = &BedrockProvider{Model: p.Model, Region: deref(p.AWSRegion)}
	case "azure", "azureOpenAI":
		rt := deref(p.AzureResourceType)
		if rt == "" {
			rt = "openAI"
		}
		prov.Azure = &AzureProvider{Model: p.Model, ResourceName: deref(p.AzureResourceName), ResourceType: rt,
			APIVersion: p.AzureAPIVersion, ProjectName: p.AzureProjectName}
	case "":
		if r.custom != nil {
			c := *r.custom
			if p.Model != nil {
				c.Model = p.Model
			}
			prov.Custom = &c
		}
	default:
		// A preset (groq, ollama, …): an OpenAI-compatible service whose base
		// URL the compiler knows; providerOverride carries the preset name.
		prov.Custom = &CustomProvider{Model: p.Model, ProviderOverride: ptr(r.kind)}
	}
	b := &AIBackend{
		Name:         ptr(m.Name),
		Provider:     prov,
		HostOverride: p.HostOverride,
		PathOverride: p.PathOverride,
		PathPrefix:   p.PathPrefix,
		Tokenize:     p.Tokenize,
		ModelRouted:  true,
	}
	pol := &BackendPolicies{}
	if p.BaseURL != nil {
		if u, err := url.Parse(*p.BaseURL); err == nil && u.Host != "" {
			port := u.Port()
			if port == "" {
				port = "80"
				if u.Scheme == "https" {
					port = "443"
				}
			}
			b.HostOverride = ptr(net.JoinHostPort(u.Hostname(), port))
			if u.Path != "" && u.Path != "/" {
				b.PathPrefix = ptr(u.Path)
			}
			if u.Scheme == "https" {
				pol.BackendTLS = &BackendTLS{}
			}
		}
	}
	if p.APIKey != nil {
		pol.BackendAuth = &BackendAuth{Key: &BackendKey{Value: *p.APIKey}}
	}
	if m.Auth != nil {
		pol.BackendAuth = m.Auth
	}
	if m.BackendTLS != nil {
		pol.BackendTLS = m.BackendTLS
	} else if m.TLS != nil {
		pol.BackendTLS = m.TLS
	}
	pol.RequestHeaderModifier = m.RequestHeaders
	pol.ResponseHeaderModifier = m.ResponseHeaders
	pol.Health = m.Health
	pol.BackendTunnel = m.BackendTunnel
	ai := &AIPolicy{
		Defaults:             m.Defaults,
		Overrides:            m.Overrides,
		Transformations:      m.Transformation,
		FinalTransformations: m.FinalTransformation,
		PromptGuard:          m.Guardrails,
		PromptCaching:        m.PromptCaching,
	}
	if ai.Defaults != nil || ai.Overrides != nil || ai.Transformations != nil ||
		ai.FinalTransformations != nil || ai.PromptGuard != nil || ai.PromptCaching != nil {
		pol.AI = ai
	}
	if !isZeroPolicies(pol) {
		b.Policies = pol
	}
	return b
}

func isZeroPolicies(p *BackendPolicies) bool {
	return p.BackendTLS == nil && p.BackendAuth == nil && p.RequestHeaderModifier == nil &&
		p.ResponseHeaderModifier == nil && p.Health == nil && p.BackendTunnel == nil && p.AI == nil
}
