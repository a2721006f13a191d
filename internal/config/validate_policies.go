package config

import (
	"net/url"
	"strings"
)

// BuiltinLLMProviders are the provider names of `llm.models[].provider`
// with their own wire format; PresetLLMProviders are OpenAI-compatible
// services whose base URL agentgateway knows.
var (
	BuiltinLLMProviders = []string{"openAI", "openai", "anthropic", "gemini", "vertex", "bedrock",
		"azure", "azureOpenAI", "copilot"}
	PresetLLMProviders = []string{"cohere", "ollama", "baseten", "cerebras", "deepinfra", "deepseek",
		"groq", "huggingface", "mistral", "openrouter", "togetherai", "xai", "fireworks"}
)

func (v *validator) policies(path string, p *Policies) {
	if p == nil {
		return
	}
	v.headerModifier(path+".requestHeaderModifier", p.RequestHeaderModifier)
	v.headerModifier(path+".responseHeaderModifier", p.ResponseHeaderModifier)
	v.redirect(path+".requestRedirect", p.RequestRedirect)
	if r := p.URLRewrite; r != nil {
		v.hostRewrite(path+".urlRewrite.authority", r.Authority)
		v.pathRewrite(path+".urlRewrite.path", r.Path)
	}
	if m := p.RequestMirror; m != nil {
		if m.Backend.Host != nil {
			v.hostOrURL(path+".requestMirror.backend.host", *m.Backend.Host)
		}
		if m.Percentage < 0 || m.Percentage > 1 {
			v.errorf(path+".requestMirror.percentage", "percentage %v must be between 0 and 1 (a fraction of requests)", m.Percentage)
		}
	}
	if d := p.DirectResponse; d != nil {
		dp := path + ".directResponse"
		if len(d.Conditional) > 0 {
			if d.Status != 0 || d.Body != nil || d.BodyExpression != nil || d.Headers != nil {
				v.errorf(dp, "conditional cannot be combined with status, body, bodyExpression or headers")
			}
			for i, e := range d.Conditional {
				v.directResponse(indexPath(dp+".conditional", i), e.Status, e.Headers)
			}
		} else {
			if _, ok := v.c.pos[dp+".status"]; !ok && d.Status == 0 {
				v.errorf(dp, "missing required key \"status\"")
			} else {
				v.directResponse(dp, d.Status, d.Headers)
			}
		}
	}
	v.cors(path+".cors", p.CORS)
	if r := p.Retry; r != nil {
		if r.Attempts != nil && (*r.Attempts < 1 || *r.Attempts > 255) {
			v.errorf(path+".retry.attempts", "attempts %d must be between 1 and 255", *r.Attempts)
		}
		for i, code := range r.Codes {
			if code < 100 || code > 599 {
				v.errorf(indexPath(path+".retry.codes", i), "status code %d is out of range 100-599", code)
			}
		}
	}
	v.jwt(path+".jwtAuth", p.JWTAuth)
	v.apiKey(path+".apiKey", p.APIKey)
	v.basicAuth(path+".basicAuth", p.BasicAuth)
	v.authorization(path+".authorization", p.Authorization)
	v.authorization(path+".mcpAuthorization", p.MCPAuthorization)
	if a := p.MCPAuthentication; a != nil {
		v.enum(path+".mcpAuthentication.mode", a.Mode, "strict", "optional", "permissive")
		if a.Issuer == "" {
			v.errorf(path+".mcpAuthentication.issuer", "must not be empty")
		}
	}
	v.extAuthz(path+".extAuthz", p.ExtAuthz)
	if l := p.LocalRateLimit; l != nil {
		for i := range l.Limits {
			v.rateLimit(indexPath(path+".localRateLimit", i), &l.Limits[i])
		}
		for i := range l.Conditional {
			v.rateLimit(indexPath(path+".localRateLimit.conditional", i), &l.Conditional[i].RateLimitSpec)
		}
	}
}

func (v *validator) directResponse(path string, status int, headers map[string]string) {
	if status < 100 || status > 599 {
		v.errorf(path+".status", "status %d is out of range 100-599", status)
	}
	for name := range headers {
		if !isToken(name) {
			v.errorf(childPath(path+".headers", name), "invalid header name %q", name)
		}
	}
}

func (v *validator) headerModifier(path string, h *HeaderModifier) {
	if h == nil {
		return
	}
	for _, m := range []struct {
		key string
		m   map[string]string
	}{{"add", h.Add}, {"set", h.Set}} {
		for name := range m.m {
			if !isToken(name) {
				v.errorf(childPath(path+"."+m.key, name), "invalid header name %q", name)
			}
		}
	}
	for i, name := range h.Remove {
		if !isToken(name) {
			v.errorf(indexPath(path+".remove", i), "invalid header name %q", name)
		}
	}
}

func (v *validator) redirect(path string, r *RequestRedirect) {
	if r == nil {
		return
	}
	v.enum(path+".scheme", r.Scheme, "http", "https")
	if r.Status != nil {
		switch *r.Status {
		case 301, 302, 303, 307, 308:
		default:
			v.errorf(path+".status", "redirect status %d must be one of 301, 302, 303, 307, 308", *r.Status)
		}
	}
	v.hostRewrite(path+".authority", r.Authority)
	v.pathRewrite(path+".path", r.Path)
}

func (v *validator) hostRewrite(path string, h *HostRewrite) {
	if h == nil {
		return
	}
	if h.Port != nil && (*h.Port < 1 || *h.Port > 65535) {
		v.errorf(path+".port", "port %d is out of range 1-65535", *h.Port)
	}
	if h.Full != nil && *h.Full == "" {
		v.errorf(path+".full", "must not be empty")
	}
	if h.Host != nil && *h.Host == "" {
		v.errorf(path+".host", "must not be empty")
	}
}

func (v *validator) pathRewrite(path string, p *PathRewrite) {
	if p == nil {
		return
	}
	if p.Full != nil && !strings.HasPrefix(*p.Full, "/") {
		v.errorf(path+".full", "path %q must start with \"/\"", *p.Full)
	}
	if p.Prefix != nil && !strings.HasPrefix(*p.Prefix, "/") {
		v.errorf(path+".prefix", "path prefix %q must start with \"/\"", *p.Prefix)
	}
}

func (v *validator) cors(path string, c *CORS) {
	if c == nil {
		return
	}
	for i, h := range c.AllowHeaders {
		if h != "*" && !isToken(h) {
			v.errorf(indexPath(path+".allowHeaders", i), "invalid header name %q", h)
		}
	}
	for i, h := range c.ExposeHeaders {
		if h != "*" && !isToken(h) {
			v.errorf(indexPath(path+".exposeHeaders", i), "invalid header name %q", h)
		}
	}
	for i, m := range c.AllowMethods {
		if m != "*" && !isToken(m) {
			v.errorf(indexPath(path+".allowMethods", i), "invalid method %q", m)
		}
	}
}

func (v *validator) jwt(path string, j *JWTAuth) {
	if j == nil {
		return
	}
	v.enum(path+".mode", j.Mode, "strict", "optional", "permissive")
	single := j.Issuer != nil || j.JWKS != nil || j.Audiences != nil || j.JWTValidationOptions != nil
	switch {
	case j.Providers != nil && single:
		v.errorf(path, "use either providers or issuer/audiences/jwks, not both")
	case j.Providers == nil:
		if j.Issuer == nil {
			v.errorf(path, "missing required key \"issuer\" (or use providers)")
		}
		if j.JWKS == nil {
			v.errorf(path, "missing required key \"jwks\"")
		}
	}
}

func (v *validator) apiKey(path string, a *APIKeyAuth) {
	if a == nil {
		return
	}
	v.enum(path+".mode", a.Mode, "strict", "optional", "permissive")
	for i, k := range a.Keys {
		if k.Key != nil && *k.Key == "" {
			v.errorf(indexPath(path+".keys", i)+".key", "must not be empty")
		}
		if k.KeyHash != nil && !strings.HasPrefix(*k.KeyHash, "sha256:") {
			v.errorf(indexPath(path+".keys", i)+".keyHash", "keyHash must look like \"sha256:<hex>\"")
		}
	}
}

func (v *validator) basicAuth(path string, b *BasicAuth) {
	if b == nil {
		return
	}
	v.enum(path+".mode", b.Mode, "strict", "optional")
}

func (v *validator) authorization(path string, a *Authorization) {
	if a == nil {
		return
	}
	for i, r := range a.Rules {
		if strings.TrimSpace(r.Expression()) == "" {
			v.errorf(indexPath(path+".rules", i), "rule must not be empty")
		}
	}
}

func (v *validator) extAuthz(path string, e *ExtAuthz) {
	if e == nil {
		return
	}
	s := &e.ExtAuthzSpec
	if len(e.Conditional) > 0 {
		if s.Host != nil || s.Service != nil || s.Backend != nil || s.Protocol != nil || s.Policies != nil {
			v.errorf(path, "conditional cannot be combined with host, service, backend, protocol or policies")
		}
		for i := range e.Conditional {
			v.extAuthzSpec(indexPath(path+".conditional", i), &e.Conditional[i].ExtAuthzSpec)
		}
		return
	}
	v.extAuthzSpec(path, s)
}

func (v *validator) extAuthzSpec(path string, s *ExtAuthzSpec) {
	n := 0
	for _, set := range []bool{s.Host != nil, s.Service != nil, s.Backend != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(path, "exactly one of host, service, backend is required")
	}
	if s.Host != nil {
		v.hostOrURL(path+".host", *s.Host)
	}
	if s.Service != nil {
		v.service(path+".service", s.Service)
	}
	if f := s.FailureMode; f != nil && f.Mode == "denyWithStatus" && (f.DenyWithStatus < 100 || f.DenyWithStatus > 599) {
		v.errorf(path+".failureMode.denyWithStatus", "status %d is out of range 100-599", f.DenyWithStatus)
	}
	if s.Policies != nil {
		v.backendPolicies(path+".policies", s.Policies.AsBackendPolicies())
	}
}

func (v *validator) rateLimit(path string, r *RateLimitSpec) {
	v.enum(path+".type", r.Type, "requests", "tokens")
	if r.MaxTokens < 0 {
		v.errorf(path+".maxTokens", "must not be negative")
	}
	if r.TokensPerFill < 0 {
		v.errorf(path+".tokensPerFill", "must not be negative")
	}
	if r.FillInterval.Duration <= 0 {
		v.errorf(path+".fillInterval", "must be greater than zero")
	}
}

func (v *validator) backendPolicies(path string, p *BackendPolicies) {
	if p == nil {
		return
	}
	v.headerModifier(path+".requestHeaderModifier", p.RequestHeaderModifier)
	v.headerModifier(path+".responseHeaderModifier", p.ResponseHeaderModifier)
	v.redirect(path+".requestRedirect", p.RequestRedirect)
	if h := p.HTTP; h != nil {
		v.enum(path+".http.version", h.Version, "HTTP/1.1", "HTTP/2")
	}
	if p.ExtAuthz != nil {
		v.extAuthzSpec(path+".extAuthz", p.ExtAuthz)
	}
	v.authorization(path+".authorization", p.Authorization)
	v.authorization(path+".mcpAuthorization", p.MCPAuthorization)
}

func (v *validator) llm(l *LLMConfig) {
	if l.TLS != nil {
		v.serverTLS("llm.tls", l.TLS)
	}
	providers := map[string]bool{}
	for i := range l.Providers {
		p := &l.Providers[i]
		pp := indexPath("llm.providers", i)
		if providers[p.Name] {
			v.errorf(pp+".name", "duplicate provider name %q", p.Name)
		}
		providers[p.Name] = true
		if p.ProviderRef != nil && p.ProviderRef.Reference != nil {
			v.errorf(pp+".provider", "a provider cannot reference another provider")
		}
		v.llmProviderName(pp+".provider", p.Provider, p.ProviderRef)
		v.llmParams(pp+".params", p.Params)
	}
	names := map[string]string{}
	for i := range l.Models {
		m := &l.Models[i]
		mp := indexPath("llm.models", i)
		if strings.TrimSpace(m.Name) == "" {
			v.errorf(mp+".name", "model name must not be empty")
		} else if prev, dup := names[m.Name]; dup && len(m.Matches) == 0 {
			v.errorf(mp+".name", "duplicate model name %q (also %s)", m.Name, prev)
		} else if !dup {
			names[m.Name] = mp
		}
		v.llmProviderName(mp+".provider", m.Provider, m.ProviderRef)
		if r := m.ProviderRef; r != nil && r.Reference != nil && !providers[*r.Reference] {
			v.errorf(mp+".provider.reference", "no llm.providers entry named %q", *r.Reference)
		}
		v.enum(mp+".visibility", m.Visibility, "public", "internal")
		for j, mt := range m.Matches {
			for k, h := range mt.Headers {
				hp := indexPath(indexPath(mp+".matches", j)+".headers", k)
				if name := strings.TrimPrefix(h.Name, ":"); !isToken(name) {
					v.errorf(hp+".name", "invalid header name %q", h.Name)
				}
				if h.Value.Regex != nil {
					v.regex(hp+".value.regex", *h.Value.Regex)
				}
			}
		}
		v.enum(mp+".passthrough", m.Passthrough, "detect", "opaque")
		if m.BackendTLS != nil && m.TLS != nil {
			v.errorf(mp, "set only one of backendTLS and tls")
		}
		v.headerModifier(mp+".requestHeaders", m.RequestHeaders)
		v.headerModifier(mp+".responseHeaders", m.ResponseHeaders)
		v.authorization(mp+".authorization", m.Authorization)
		v.llmParams(mp+".params", m.Params)
	}
	for i := range l.VirtualModels {
		vm := &l.VirtualModels[i]
		vp := indexPath("llm.virtualModels", i)
		if strings.TrimSpace(vm.Name) == "" {
			v.errorf(vp+".name", "virtual model name must not be empty")
		} else if prev, dup := names[vm.Name]; dup {
			v.errorf(vp+".name", "duplicate model name %q (also %s)", vm.Name, prev)
		} else {
			names[vm.Name] = vp
		}
	}
	for i := range l.VirtualModels {
		v.virtualModel(l, indexPath("llm.virtualModels", i), &l.VirtualModels[i])
	}
	if p := l.Policies; p != nil {
		v.jwt("llm.policies.jwtAuth", p.JWTAuth)
		v.apiKey("llm.policies.apiKey", p.APIKey)
		v.basicAuth("llm.policies.basicAuth", p.BasicAuth)
		v.authorization("llm.policies.authorization", p.Authorization)
		v.extAuthz("llm.policies.extAuthz", p.ExtAuthz)
		v.cors("llm.policies.cors", p.CORS)
		for i := range p.LocalRateLimit {
			v.rateLimit(indexPath("llm.policies.localRateLimit", i), &p.LocalRateLimit[i])
		}
	}
}

// virtualModel checks a virtual model's targets: each names a model of
// llm.models (exactly or through a wildcard entry), never another virtual
// model; weights and priorities are not negative; a conditional target
// without `when` is the last one. The `when` expressions are compiled
// (and checked) by the compiler.
func (v *validator) virtualModel(l *LLMConfig, vp string, vm *LLMVirtualModel) {
	rp := vp + ".routing"
	target := func(tp, model string) {
		switch {
		case strings.TrimSpace(model) == "":
			v.errorf(tp+".model", "target model must not be empty")
		case isVirtualModel(l, model):
			v.errorf(tp+".model", "%q is a virtual model: a virtual model can only target llm.models entries", model)
		case !servesModel(l, model):
			v.errorf(tp+".model", "no llm.models entry serves model %q%s", model, suggest(model, modelNames(l)))
		}
	}
	empty := func(kind string, n int) bool {
		if n == 0 {
			v.errorf(rp+"."+kind+".targets", "a %s virtual model needs at least one target", kind)
		}
		return n == 0
	}
	r := &vm.Routing
	switch {
	case r.Weighted != nil:
		if empty("weighted", len(r.Weighted.Targets)) {
			return
		}
		total := 0
		for j, t := range r.Weighted.Targets {
			tp := indexPath(rp+".weighted.targets", j)
			target(tp, t.Model)
			w := 1
			if t.Weight != nil {
				w = *t.Weight
			}
			if w < 0 {
				v.errorf(tp+".weight", "weight must not be negative")
			}
			total += max(w, 0)
		}
		if total == 0 {
			v.errorf(rp+".weighted.targets", "at least one target needs a weight above zero")
		}
	case r.Failover != nil:
		if empty("failover", len(r.Failover.Targets)) {
			return
		}
		for j, t := range r.Failover.Targets {
			tp := indexPath(rp+".failover.targets", j)
			target(tp, t.Model)
			if t.Priority < 0 {
				v.errorf(tp+".priority", "priority must not be negative")
			}
		}
	case r.Conditional != nil:
		ts := r.Conditional.Targets
		if empty("conditional", len(ts)) {
			return
		}
		for j, t := range ts {
			tp := indexPath(rp+".conditional.targets", j)
			target(tp, t.Model)
			if t.When == nil && j != len(ts)-1 {
				v.errorf(tp, "only the last target may omit `when` (it is the fallback)")
			}
		}
	}
}

func isVirtualModel(l *LLMConfig, name string) bool {
	for i := range l.VirtualModels {
		if l.VirtualModels[i].Name == name {
			return true
		}
	}
	return false
}

// servesModel reports whether a model entry's name matches model as the
// gateway matches a request: exactly, "*", or a "prefix/*" wildcard.
func servesModel(l *LLMConfig, model string) bool {
	for i := range l.Models {
		n := l.Models[i].Name
		if n == model || n == "*" || (strings.HasSuffix(n, "/*") && strings.HasPrefix(model, n[:len(n)-1])) {
			return true
		}
	}
	return false
}

func modelNames(l *LLMConfig) []string {
	out := make([]string, 0, len(l.Models))
	for i := range l.Models {
		out = append(out, l.Models[i].Name)
	}
	return out
}

func (v *validator) llmProviderName(path, name string, ref *LLMProviderRef) {
	if ref != nil {
		return
	}
	if !contains(BuiltinLLMProviders, name) && !contains(PresetLLMProviders, name) {
		all := append(append([]string(nil), BuiltinLLMProviders...), PresetLLMProviders...)
		v.errorf(path, "unknown provider %q: must be one of %s, or {reference: name} or {custom: {...}}%s",
			name, strings.Join(all, ", "), suggest(name, all))
	}
}

func (v *validator) llmParams(path string, p *LLMParams) {
	if p == nil {
		return
	}
	if p.BaseURL != nil {
		u, err := url.Parse(*p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(path+".baseUrl", "invalid base URL %q: expected http(s)://host[:port][/path]", *p.BaseURL)
		}
	}
	if p.HostOverride != nil {
		v.hostOrURL(path+".hostOverride", *p.HostOverride)
	}
	v.enum(path+".azureResourceType", p.AzureResourceType, "openAI", "foundry", "aiServices")
}

func (v *validator) simpleMCP(m *SimpleMCP) {
	v.mcpBackend("mcp", m.Targets, m.StatefulMode, m.PrefixMode, m.FailureMode)
	v.policies("mcp.policies", m.Policies)
}
