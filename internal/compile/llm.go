package compile

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/backend"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/gateway"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// builtAIPolicies are the keys of the `ai:` policy the LLM gateway serves.
var builtAIPolicies = set("routes", "modelAliases")

// builtLLMBackendAuth are the backendAuth kinds an LLM backend accepts.
var builtLLMBackendAuth = set("key", "passthrough", "aws", "gcp", "azure")

// llmService builds an LLM route: every backend is an LLM provider (an
// `ai` backend, possibly with groups, or a short openAI/anthropic/… form),
// served by internal/llm/gateway.
func (rc *routeCtx) llmService(p *config.Policies, bs []config.Backend) http.Handler {
	rc.dumpBackends(bs)
	for _, d := range rc.dump.Backends {
		d.Served = true
	}
	spec := gateway.Spec{Metrics: rc.c.deps.Metrics.LLM(), Log: rc.c.deps.Log}
	var attemptTimeout time.Duration
	if t := p.Timeout; t != nil {
		if t.RequestTimeout != nil {
			spec.RequestTimeout = t.RequestTimeout.Duration
		}
		if t.BackendRequestTimeout != nil {
			attemptTimeout = t.BackendRequestTimeout.Duration
		}
		rc.dump.Policies = append(rc.dump.Policies, "timeout")
	}
	if p.Retry != nil {
		rc.c.snap.Warnings = append(rc.c.snap.Warnings, fmt.Sprintf("%s.policies.retry: LLM routes fail over between providers on their own (see docs/llm.md); the retry policy is not used", rc.path))
	}
	rc.aiPolicy(rc.path+".policies.ai", p.AI, &spec)
	for i := range bs {
		path := fmt.Sprintf("%s.backends[%d]", rc.path, i)
		b, ok := rc.llmBackend(path, p, &bs[i], &spec, attemptTimeout)
		if ok {
			spec.Backends = append(spec.Backends, b)
		}
	}
	if len(spec.Backends) != len(bs) {
		return http.NotFoundHandler() // errors were recorded
	}
	h, err := gateway.New(spec)
	if err != nil {
		rc.c.errs.add(rc.path+".backends", "%v", err)
		return http.NotFoundHandler()
	}
	return h
}

// aiPolicy applies an `ai:` policy's routes and model aliases.
func (rc *routeCtx) aiPolicy(path string, ai *config.AIPolicy, spec *gateway.Spec) {
	if ai == nil {
		return
	}
	rc.c.refuseUnbuilt(path, ai, builtAIPolicies, "ai policy key")
	for suffix, kind := range ai.Routes {
		op, ok := routeOps[kind]
		if !ok {
			rc.c.errs.add(path+".routes", "route type %q is not served by this gateway (supported: completions, messages, responses, embeddings, models, anthropicTokenCount, generateContent, passthrough, detect)", kind)
			continue
		}
		if spec.Routes == nil {
			spec.Routes = map[string]llm.Op{}
		}
		if _, dup := spec.Routes[suffix]; !dup {
			spec.Routes[suffix] = op
		}
	}
	for alias, model := range ai.ModelAliases {
		if spec.Aliases == nil {
			spec.Aliases = map[string]string{}
		}
		if _, dup := spec.Aliases[alias]; !dup {
			spec.Aliases[alias] = model
		}
	}
}

var routeOps = map[string]llm.Op{
	"completions": llm.OpCompletions, "messages": llm.OpMessages, "responses": llm.OpResponses,
	"embeddings": llm.OpEmbeddings, "models": llm.OpModels, "anthropicTokenCount": llm.OpCountTokens,
	"passthrough": llm.OpPassthrough, "detect": llm.OpDetect, "generateContent": llm.OpGenerateContent,
}

// providerEntry is one provider of a backend, with its overrides.
type providerEntry struct {
	path         string
	name         string
	prov         *config.AIProvider
	short        *config.ShortLLM
	shortKind    string
	hostOverride *string
	pathOverride *string
	pathPrefix   *string
	policies     []*config.BackendPolicies // outermost first
}

func (rc *routeCtx) llmBackend(path string, rp *config.Policies, b *config.Backend, spec *gateway.Spec, timeout time.Duration) (*gateway.Backend, bool) {
	out := &gateway.Backend{Weight: 1}
	if b.Weight != nil {
		out.Weight = *b.Weight
	}
	kind, name, _ := backendKind(b)
	var groups [][]providerEntry
	switch kind {
	case "ai":
		ai := b.AI
		if ai.ModelRouted {
			spec.ModelRouted = true
			out.Name = name
		}
		if ai.LLM != nil && !rc.modelRouting(ai.LLM, out, spec) {
			return nil, false
		}
		pols := []*config.BackendPolicies{b.Policies, ai.Policies}
		if ai.Policies != nil {
			rc.aiPolicy(path+".ai.policies.ai", ai.Policies.AI, spec)
		}
		if len(ai.Groups) > 0 {
			if ai.Provider != nil {
				rc.c.errs.add(path+".ai", "set either provider or groups, not both")
				return nil, false
			}
			for gi, g := range ai.Groups {
				var tier []providerEntry
				for pi := range g.Providers {
					np := &g.Providers[pi]
					tier = append(tier, providerEntry{
						path: fmt.Sprintf("%s.ai.groups[%d].providers[%d]", path, gi, pi), name: np.Name, prov: &np.Provider,
						hostOverride: np.HostOverride, pathOverride: np.PathOverride, pathPrefix: np.PathPrefix,
						policies: append(append([]*config.BackendPolicies(nil), pols...), np.Policies),
					})
				}
				groups = append(groups, tier)
			}
		} else if ai.Provider != nil {
			groups = [][]providerEntry{{{path: path + ".ai", name: name, prov: ai.Provider,
				hostOverride: ai.HostOverride, pathOverride: ai.PathOverride, pathPrefix: ai.PathPrefix, policies: pols}}}
		} else {
			rc.c.errs.add(path+".ai", "an ai backend needs a provider or groups")
			return nil, false
		}
	default:
		short := map[string]*config.ShortLLM{"openAI": b.OpenAI, "anthropic": b.Anthropic, "gemini": b.Gemini,
			"vertex": b.Vertex, "bedrock": b.Bedrock, "azureOpenAI": b.Azure}[kind]
		groups = [][]providerEntry{{{path: path + "." + kind, name: name, short: short, shortKind: kind,
			policies: []*config.BackendPolicies{b.Policies}}}}
	}
	ok := true
	for _, g := range groups {
		var tier []*gateway.Target
		for i := range g {
			t, good := rc.llmTarget(rp, &g[i], timeout)
			ok = ok && good
			if good {
				tier = append(tier, t)
			}
		}
		if len(tier) > 0 {
			out.Tiers = append(out.Tiers, tier)
		}
	}
	return out, ok
}

// llmTarget builds one provider endpoint.
func (rc *routeCtx) llmTarget(rp *config.Policies, e *providerEntry, timeout time.Duration) (*gateway.Target, bool) {
	c := rc.c
	// Route-level backendTLS/backendAuth apply to every backend; the
	// backend's own (outer, then ai.policies, then a group provider's) override them.
	tlsCfg, auth := rp.BackendTLS, rp.BackendAuth
	var hdr []*config.HeaderModifier
	var httpCfg *config.BackendHTTP
	for i, bp := range e.policies {
		if bp == nil {
			continue
		}
		c.refuseUnbuilt(fmt.Sprintf("%s.policies[%d]", e.path, i), bp, builtBackendPolicies, "backend policy")
		if bp.BackendTLS != nil {
			tlsCfg = bp.BackendTLS
		}
		if bp.BackendAuth != nil {
			auth = bp.BackendAuth
		}
		if bp.RequestHeaderModifier != nil {
			hdr = append(hdr, bp.RequestHeaderModifier)
		}
		if bp.HTTP != nil {
			httpCfg = bp.HTTP
		}
	}
	prov, kind, err := rc.llmProvider(e, auth)
	if err != nil {
		c.errs.add(e.path, "%v", err)
		return nil, false
	}
	t := &gateway.Target{Name: e.name, Provider: prov, Timeout: timeout, Scheme: "https", Address: prov.DefaultHost()}
	if strings.HasPrefix(t.Address, "localhost:") {
		t.Scheme = "http" // a local preset (ollama)
	}
	if e.hostOverride == nil {
		if err := endpointFromEnv(kind, t); err != nil {
			c.errs.add(e.path, "%v", err)
			return nil, false
		}
	}
	if e.hostOverride != nil {
		h := *e.hostOverride
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			c.errs.add(e.path+".hostOverride", "hostOverride %q: want host:port", h)
			return nil, false
		}
		t.Address, t.Scheme = h, "http"
		t.KeepPath = e.pathPrefix == nil && e.pathOverride == nil
	}
	if e.pathOverride != nil {
		t.PathOverride = *e.pathOverride
	}
	var tlsSpec *backend.TLSSpec
	if tlsCfg != nil {
		c.refuseUnbuilt(e.path+".backendTLS", tlsCfg, builtBackendTLS, "backendTLS key")
		t.Scheme = "https"
		tlsSpec = &backend.TLSSpec{
			RootFile: deref(tlsCfg.Root), CertFile: deref(tlsCfg.Cert), KeyFile: deref(tlsCfg.Key),
			ServerName: deref(tlsCfg.Hostname), Insecure: tlsCfg.Insecure, InsecureHost: tlsCfg.InsecureHost,
			SubjectAltNames: tlsCfg.SubjectAltNames, ALPN: tlsCfg.ALPN,
		}
	} else if t.Scheme == "https" {
		tlsSpec = &backend.TLSSpec{}
	}
	var h1, h2 bool
	if httpCfg != nil {
		if v := httpCfg.Version; v != nil {
			switch strings.ToUpper(*v) {
			case "HTTP/2", "HTTP2", "H2":
				h2 = true
			case "HTTP/1.1", "HTTP1", "HTTP/1":
				h1 = true
			default:
				c.errs.add(e.path+".policies.http.version", "http.version %q: want HTTP/1.1 or HTTP/2", *v)
				return nil, false
			}
		}
		if httpCfg.RequestTimeout != nil {
			t.Timeout = httpCfg.RequestTimeout.Duration
		}
	}
	rt, key, err := c.deps.Transports.RoundTripper(tlsSpec, h1, h2)
	if err != nil {
		c.errs.add(e.path, "%v", err)
		return nil, false
	}
	c.snap.keys = append(c.snap.keys, key)
	t.Transport = rt
	if e.short != nil && e.short.APIKey != nil && auth == nil {
		auth = &config.BackendAuth{Key: &config.BackendKey{Value: *e.short.APIKey}}
	}
	if auth != nil {
		c.refuseUnbuilt(e.path+".backendAuth", auth, builtLLMBackendAuth, "backendAuth kind")
		switch {
		case auth.Passthrough != nil:
			t.PassthroughAuth = true
		case auth.Key != nil:
			if auth.Key.Loc != nil {
				c.errs.add(e.path+".backendAuth.key.location", "backendAuth.key.location is not supported on LLM backends (each provider sends its key its own way)")
				return nil, false
			}
			k, err := readSecret(auth.Key.Value)
			if err != nil {
				c.errs.add(e.path+".backendAuth.key", "%v", err)
				return nil, false
			}
			t.Key = k
		}
	}
	if err := cloudAuthFits(kind, auth); err != nil {
		c.errs.add(e.path, "%v", err)
		return nil, false
	}
	if len(hdr) > 0 {
		t.Header = headerEdit(hdr)
	}
	if h, port, err := net.SplitHostPort(t.Address); err == nil &&
		(port == "443" && t.Scheme == "https" || port == "80" && t.Scheme == "http") {
		t.HostHeader = h // no default port in Host (as a browser or SDK would send it)
	}
	return t, true
}

// endpointFromEnv applies AGENTGATEWAY_<KIND>_BASE_URL (e.g.
// AGENTGATEWAY_OPENAI_BASE_URL=http://127.0.0.1:8000): it replaces a
// provider's public default endpoint, for mirrors, air-gapped setups and
// tests; hostOverride and baseUrl in the config win over it.
func endpointFromEnv(kind string, t *gateway.Target) error {
	name := "AGENTGATEWAY_" + strings.ToUpper(kind) + "_BASE_URL"
	v := os.Getenv(name)
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("$%s=%q: want http(s)://host[:port] without a path", name, v)
	}
	t.Scheme, t.Address = u.Scheme, hostPort(u)
	return nil
}

// headerEdit applies request header modifiers (outermost first) to an
// outgoing LLM request. Host cannot be set this way.
func headerEdit(mods []*config.HeaderModifier) func(http.Header) {
	return func(h http.Header) {
		for _, m := range mods {
			for _, k := range sortedKeys(m.Set) {
				if !strings.EqualFold(k, "host") {
					h.Set(k, m.Set[k])
				}
			}
			for _, k := range sortedKeys(m.Add) {
				if !strings.EqualFold(k, "host") {
					h.Add(k, m.Add[k])
				}
			}
			for _, k := range m.Remove {
				h.Del(k)
			}
		}
	}
}

// presetHosts are the OpenAI-compatible services agentgateway knows by
// name (custom providers with providerOverride): endpoint and API base.
var presetHosts = map[string][2]string{
	"groq": {"api.groq.com:443", "/openai/v1"}, "ollama": {"localhost:11434", "/v1"},
	"mistral": {"api.mistral.ai:443", "/v1"}, "deepseek": {"api.deepseek.com:443", "/v1"},
	"openrouter": {"openrouter.ai:443", "/api/v1"}, "togetherai": {"api.together.xyz:443", "/v1"},
	"xai": {"api.x.ai:443", "/v1"}, "fireworks": {"api.fireworks.ai:443", "/inference/v1"},
	"cerebras": {"api.cerebras.ai:443", "/v1"}, "deepinfra": {"api.deepinfra.com:443", "/v1/openai"},
	"huggingface": {"router.huggingface.co:443", "/v1"}, "baseten": {"inference.baseten.co:443", "/v1"},
	"cohere": {"api.cohere.ai:443", "/compatibility/v1"},
}

// llmProvider builds the provider of an entry and names its kind (openai,
// anthropic, …, or a preset name).
func (rc *routeCtx) llmProvider(e *providerEntry, auth *config.BackendAuth) (llm.Provider, string, error) {
	p, err := rc.buildProvider(e, auth)
	if err != nil {
		return nil, "", err
	}
	kind := p.System()
	if k, ok := envKinds[kind]; ok {
		kind = k
	}
	return p, kind, nil
}

// envKinds maps a provider's gen_ai.system name to its
// AGENTGATEWAY_<KIND>_BASE_URL kind (presets use their own name).
var envKinds = map[string]string{"openai": "openai", "anthropic": "anthropic", "gcp.gemini": "gemini",
	"gcp.vertex_ai": "vertex", "aws.bedrock": "bedrock", "azure.ai.openai": "azure"}

func (rc *routeCtx) buildProvider(e *providerEntry, auth *config.BackendAuth) (llm.Provider, error) {
	base := ""
	if e.pathPrefix != nil {
		base = strings.TrimSuffix(*e.pathPrefix, "/")
	}
	if s := e.short; s != nil {
		model := deref(s.Model)
		switch e.shortKind {
		case "openAI":
			return openai.New(openai.Spec{Model: model, Base: base, Responses: true}), nil
		case "anthropic":
			return anthropic.New(anthropic.Spec{Model: model, Base: base}), nil
		case "gemini":
			return gemini.New(gemini.Spec{Model: model, Base: base}), nil
		}
		full := map[string]string{"vertex": "vertex", "bedrock": "bedrock", "azureOpenAI": "azure"}[e.shortKind]
		return nil, fmt.Errorf("the short %s form cannot carry a region, project or resource: use an ai backend with provider: {%s: {…}}, or an llm: model with params", e.shortKind, full)
	}
	p := e.prov
	switch {
	case p.OpenAI != nil:
		if p.OpenAI.Moderation != nil {
			return nil, fmt.Errorf("openAI.moderation is not supported by this gateway yet")
		}
		return openai.New(openai.Spec{Model: deref(p.OpenAI.Model), Base: base, Responses: true}), nil
	case p.Anthropic != nil:
		return anthropic.New(anthropic.Spec{Model: deref(p.Anthropic.Model), Base: base}), nil
	case p.Gemini != nil:
		return gemini.New(gemini.Spec{Model: deref(p.Gemini.Model), Base: base}), nil
	case p.Vertex != nil:
		return vertexProvider(p.Vertex, auth, base)
	case p.Bedrock != nil:
		return bedrockProvider(p.Bedrock, auth)
	case p.Azure != nil:
		return azureProvider(p.Azure, base, auth)
	case p.Custom != nil && p.Custom.ProviderOverride != nil && len(p.Custom.Formats) == 0:
		name := *p.Custom.ProviderOverride
		hb, ok := presetHosts[name]
		if !ok {
			return nil, fmt.Errorf("provider %q is not known to this gateway (presets: groq, ollama, mistral, deepseek, openrouter, togetherai, xai, fireworks, cerebras, deepinfra, huggingface, baseten, cohere)", name)
		}
		if base == "" {
			base = hb[1]
		}
		return openai.New(openai.Spec{Model: deref(p.Custom.Model), System: name, Host: hb[0], Base: base}), nil
	}
	return nil, fmt.Errorf("this provider kind is not served by this gateway yet (served: openAI, anthropic and the OpenAI-compatible presets)")
}

// modelRouting applies an llm: model's routing (visibility, passthrough,
// header matches) to its backend and builds the route's virtual models
// (carried by the first model). Errors name the llm: form's fields.
func (rc *routeCtx) modelRouting(lr *config.LLMRouting, out *gateway.Backend, spec *gateway.Spec) bool {
	ok := true
	out.Internal = lr.Visibility == "internal"
	switch lr.Passthrough {
	case "detect":
		out.Passthrough = llm.OpDetect
	case "opaque":
		out.Passthrough = llm.OpPassthrough
	}
	for i, m := range lr.Matches {
		var hm gateway.HeaderMatch
		for j, k := range m.Headers {
			c, err := gateway.NewHeaderCond(k.Name, deref(k.Value.Exact), deref(k.Value.Regex))
			if err != nil {
				rc.c.errs.add(fmt.Sprintf("%s.matches[%d].headers[%d]", lr.Path, i, j), "%v", err)
				ok = false
				continue
			}
			hm = append(hm, c)
		}
		out.Matches = append(out.Matches, hm)
	}
	for i := range lr.VirtualModels {
		vm := &lr.VirtualModels[i]
		vp := fmt.Sprintf("llm.virtualModels[%d].routing", i)
		v := &gateway.VirtualModel{Name: vm.Name}
		switch r := vm.Routing; {
		case r.Weighted != nil:
			v.Kind = gateway.VirtualWeighted
			for _, t := range r.Weighted.Targets {
				w := 1
				if t.Weight != nil {
					w = *t.Weight
				}
				v.Targets = append(v.Targets, gateway.VirtualTarget{Model: t.Model, Weight: w})
			}
		case r.Failover != nil:
			v.Kind = gateway.VirtualFailover
			for _, t := range r.Failover.Targets {
				v.Targets = append(v.Targets, gateway.VirtualTarget{Model: t.Model, Priority: t.Priority})
			}
		case r.Conditional != nil:
			v.Kind = gateway.VirtualConditional
			for j, t := range r.Conditional.Targets {
				vt := gateway.VirtualTarget{Model: t.Model}
				if t.When != nil {
					c, err := gateway.CompileCondition(*t.When)
					if err != nil {
						rc.c.errs.add(fmt.Sprintf("%s.conditional.targets[%d].when", vp, j), "%v", err)
						ok = false
						continue
					}
					vt.When = c
				}
				v.Targets = append(v.Targets, vt)
			}
		}
		spec.VirtualModels = append(spec.VirtualModels, v)
	}
	return ok
}
