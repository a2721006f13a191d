package compile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agentgw/agentgateway/internal/a2a"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/apikey"
	"github.com/agentgw/agentgateway/internal/policy/authn"
	"github.com/agentgw/agentgateway/internal/policy/authz"
	"github.com/agentgw/agentgateway/internal/policy/basicauth"
	"github.com/agentgw/agentgateway/internal/policy/extauthz"
	"github.com/agentgw/agentgateway/internal/policy/jwtauth"
	"github.com/agentgw/agentgateway/internal/policy/ratelimit"
)

// security builds a route's authentication, authorization and rate-limit
// middlewares in the order they run: jwtAuth, apiKey, basicAuth,
// authorization (CEL rules), extAuthz, localRateLimit, then
// backendAuth.passthrough restoring the validated credential. add records
// each (or its error, under path.policies.<key>).
func (c *compiler) security(path, bind, listener, name string, r *config.Route, p *config.Policies, add func(key string, mw pipeline.Middleware, err error)) {
	pp := path + ".policies"
	c.mcpRouteChecks(path, r, p)
	if p.JWTAuth != nil {
		mw, err := jwtMiddleware(p.JWTAuth)
		add("jwtAuth", mw, err)
	}
	if p.APIKey != nil {
		mw, err := apiKeyMiddleware(p.APIKey)
		add("apiKey", mw, err)
	}
	if p.BasicAuth != nil {
		mw, err := basicAuthMiddleware(p.BasicAuth)
		add("basicAuth", mw, err)
	}
	if p.Authorization != nil {
		if pol := c.authzPolicy(pp+".authorization", p.Authorization); pol != nil {
			add("authorization", pol.Middleware(), nil)
		}
	}
	if p.ExtAuthz != nil {
		mw, err := c.extAuthzMiddleware(p.ExtAuthz, c.deps.Metrics.ExtAuthz().Recorder(bind, listener, name))
		add("extAuthz", mw, err)
	}
	if p.LocalRateLimit != nil {
		mw, err := rateLimitMiddleware(p.LocalRateLimit)
		add("localRateLimit", mw, err)
	}
	if mw := c.passthrough(path, r, p); mw != nil {
		add("backendAuth.passthrough", mw, nil)
	}
}

// authzPolicy compiles `authorization` / `mcpAuthorization` rules; a rule
// that does not compile is reported at its own path and line.
func (c *compiler) authzPolicy(path string, a *config.Authorization) *authz.Policy {
	spec := authzSpec(a)
	pol, err := authz.Compile(spec)
	if err != nil {
		for _, e := range unjoin(err) {
			var re *authz.RuleError
			if errors.As(e, &re) {
				c.errs.add(fmt.Sprintf("%s.rules[%d]", path, re.Index), "%v", re.Err)
			} else {
				c.errs.add(path, "%v", e)
			}
		}
		return nil
	}
	return pol
}

func authzSpec(a *config.Authorization) authz.Spec {
	var spec authz.Spec
	for _, r := range a.Rules {
		kind := authz.Allow
		switch {
		case r.Deny != nil:
			kind = authz.Deny
		case r.Require != nil:
			kind = authz.Require
		}
		spec.Rules = append(spec.Rules, authz.Rule{Kind: kind, Expr: r.Expression()})
	}
	return spec
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// passthrough is backendAuth.passthrough: the authentication policies
// remove the credential they validated, and this puts it back for the
// route's backends. A backend's own passthrough applies to the route.
func (c *compiler) passthrough(path string, r *config.Route, p *config.Policies) pipeline.Middleware {
	on := p.BackendAuth != nil && p.BackendAuth.Passthrough != nil
	for i := range r.Backends {
		if bp := r.Backends[i].Policies; bp != nil && bp.BackendAuth != nil && bp.BackendAuth.Passthrough != nil {
			on = true
			if m, ok := bp.BackendAuth.Passthrough.Value.(map[string]any); ok && m["location"] != nil {
				c.errs.add(fmt.Sprintf("%s.backends[%d].policies.backendAuth.passthrough.location", path, i),
					"passthrough.location is not supported yet: the credential is forwarded where the client sent it")
			}
		}
	}
	if p.BackendAuth != nil && p.BackendAuth.Passthrough != nil {
		if m, ok := p.BackendAuth.Passthrough.Value.(map[string]any); ok && m["location"] != nil {
			c.errs.add(path+".policies.backendAuth.passthrough.location",
				"passthrough.location is not supported yet: the credential is forwarded where the client sent it")
		}
	}
	if !on || p.JWTAuth == nil && p.APIKey == nil && p.BasicAuth == nil {
		return nil // nothing removed the client's credential: it is forwarded as sent
	}
	return authn.Passthrough(nil)
}

func authMode(s *string) (authn.Mode, error) {
	if s == nil {
		return authn.Optional, nil
	}
	return authn.ParseMode(*s)
}

// authLocation converts `location` / `authorizationLocation` (nil: the
// policy's default).
func authLocation(l *config.AuthLocation) (*authn.Location, error) {
	switch {
	case l == nil:
		return nil, nil
	case l.Header != nil:
		return &authn.Location{Kind: authn.Header, Name: l.Header.Name, Prefix: deref(l.Header.Prefix)}, nil
	case l.QueryParameter != nil:
		return &authn.Location{Kind: authn.Query, Name: l.QueryParameter.Name}, nil
	case l.Cookie != nil:
		return &authn.Location{Kind: authn.Cookie, Name: l.Cookie.Name}, nil
	}
	return nil, fmt.Errorf("location.expression (CEL) is not supported yet; use header, queryParameter or cookie")
}

func jwksOf(j *config.FileInlineOrRemote) jwtauth.JWKS {
	if j == nil {
		return jwtauth.JWKS{}
	}
	return jwtauth.JWKS{Inline: deref(j.Inline), File: deref(j.File), URL: deref(j.URL)}
}

func requiredClaims(o *config.JWTValidationOptions) []string {
	if o == nil {
		return nil
	}
	return o.RequiredClaims
}

func jwtMiddleware(j *config.JWTAuth) (pipeline.Middleware, error) {
	spec, err := jwtSpec(j)
	if err != nil {
		return nil, err
	}
	return jwtauth.New(spec)
}

func jwtSpec(j *config.JWTAuth) (jwtauth.Spec, error) {
	var spec jwtauth.Spec
	var err error
	if spec.Mode, err = authMode(j.Mode); err != nil {
		return spec, err
	}
	if spec.Location, err = authLocation(j.Location); err != nil {
		return spec, err
	}
	if j.Providers == nil {
		spec.Providers = []jwtauth.Provider{{Issuer: deref(j.Issuer), Audiences: j.Audiences, JWKS: jwksOf(j.JWKS), RequiredClaims: requiredClaims(j.JWTValidationOptions)}}
	}
	for _, p := range j.Providers {
		spec.Providers = append(spec.Providers, jwtauth.Provider{Issuer: p.Issuer, Audiences: p.Audiences, JWKS: jwksOf(&p.JWKS), RequiredClaims: requiredClaims(p.JWTValidationOptions)})
	}
	return spec, nil
}

func apiKeyMiddleware(a *config.APIKeyAuth) (pipeline.Middleware, error) {
	var spec apikey.Spec
	var err error
	if spec.Mode, err = authMode(a.Mode); err != nil {
		return nil, err
	}
	if spec.Location, err = authLocation(a.Location); err != nil {
		return nil, err
	}
	for i, k := range a.Keys {
		if len(k.AllowedModels) > 0 {
			return nil, fmt.Errorf("keys[%d].allowedModels is not supported yet", i)
		}
		key := apikey.Key{Key: deref(k.Key), Hash: deref(k.KeyHash)}
		if k.Metadata != nil {
			m, ok := celValue(k.Metadata.Value).(map[string]any)
			if !ok {
				return nil, fmt.Errorf("keys[%d].metadata must be a mapping", i)
			}
			key.Metadata = m
		}
		spec.Keys = append(spec.Keys, key)
	}
	return apikey.New(spec)
}

func basicAuthMiddleware(b *config.BasicAuth) (pipeline.Middleware, error) {
	var spec basicauth.Spec
	var err error
	if spec.Mode, err = authMode(b.Mode); err != nil {
		return nil, err
	}
	if spec.Location, err = authLocation(b.AuthorizationLocation); err != nil {
		return nil, err
	}
	if spec.Htpasswd, err = readFileOrInline(b.Htpasswd); err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	spec.Realm = deref(b.Realm)
	return basicauth.New(spec)
}

// readFileOrInline returns the inline value or the file's content as is.
func readFileOrInline(f config.FileOrInline) (string, error) {
	if f.File != nil {
		b, err := readLimited(*f.File, 1<<20)
		return string(b), err
	}
	return deref(f.Inline), nil
}

// celValue converts a decoded YAML value for CEL: ints become int64.
func celValue(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = celValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = celValue(e)
		}
		return out
	}
	return v
}

// readLimited reads a file the config names, refusing one larger than max.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

func rateLimitMiddleware(l *config.LocalRateLimit) (pipeline.Middleware, error) {
	conv := func(specs []config.RateLimitSpec) ([]ratelimit.Limit, error) {
		var out []ratelimit.Limit
		for i, s := range specs {
			if t := deref(s.Type); t != "" && t != "requests" {
				return nil, fmt.Errorf("[%d].type %q is not supported yet (only requests; LLM token limits need the LLM layer)", i, t)
			}
			out = append(out, ratelimit.Limit{MaxTokens: int64(s.MaxTokens), TokensPerFill: int64(s.TokensPerFill), FillInterval: s.FillInterval.Duration})
		}
		return out, nil
	}
	var spec ratelimit.Spec
	var err error
	if spec.Limits, err = conv(l.Limits); err != nil {
		return nil, err
	}
	for i, c := range l.Conditional {
		ls, err := conv([]config.RateLimitSpec{c.RateLimitSpec})
		if err != nil {
			return nil, fmt.Errorf("conditional[%d]%w", i, err)
		}
		spec.Conditional = append(spec.Conditional, ratelimit.Entry{Condition: deref(c.Condition), Limits: ls})
	}
	return ratelimit.New(spec)
}

// extAuthzMiddleware builds extAuthz; the connection is closed with the
// snapshot.
func (c *compiler) extAuthzMiddleware(e *config.ExtAuthz, onResult func(string)) (pipeline.Middleware, error) {
	if len(e.Conditional) > 0 {
		return nil, fmt.Errorf("conditional extAuthz is not supported yet")
	}
	s := &e.ExtAuthzSpec
	switch {
	case s.Host == nil:
		return nil, fmt.Errorf("only `host:` authorization services are supported yet (not service or backend)")
	case s.Policies != nil:
		return nil, fmt.Errorf("extAuthz.policies is not supported yet")
	case s.Cache != nil:
		return nil, fmt.Errorf("extAuthz.cache is not supported yet")
	}
	spec := extauthz.Spec{Target: *s.Host, IncludeRequestHeaders: s.IncludeRequestHeaders}
	if f := s.FailureMode; f != nil {
		switch f.Mode {
		case "allow":
			spec.FailOpen = true
		case "denyWithStatus":
			spec.FailureStatus = f.DenyWithStatus
		}
	}
	if b := s.IncludeRequestBody; b != nil {
		spec.Body = &extauthz.Body{}
		if b.MaxRequestBytes != nil {
			spec.Body.MaxBytes = *b.MaxRequestBytes
		}
		spec.Body.AllowPartial = b.AllowPartialMessage != nil && *b.AllowPartialMessage
		spec.Body.PackAsBytes = b.PackAsBytes != nil && *b.PackAsBytes
	}
	if pr := s.Protocol; pr != nil && pr.HTTP != nil {
		h := pr.HTTP
		switch {
		case h.Redirect != nil:
			return nil, fmt.Errorf("protocol.http.redirect is not supported yet")
		case h.Body != nil:
			return nil, fmt.Errorf("protocol.http.body is not supported yet (use includeRequestBody)")
		case len(h.Metadata) > 0:
			return nil, fmt.Errorf("protocol.http.metadata (extauthz.* in CEL) is not supported yet")
		}
		spec.Protocol = extauthz.HTTP
		spec.Path = deref(h.Path)
		spec.AddRequestHeaders = h.AddRequestHeaders
		spec.IncludeResponseHeaders = h.IncludeResponseHeaders
	} else if pr != nil && pr.GRPC != nil {
		if len(pr.GRPC.Metadata) > 0 {
			return nil, fmt.Errorf("protocol.grpc.metadata (extauthz.* in CEL) is not supported yet")
		}
		spec.Context = pr.GRPC.Context
	}
	spec.OnResult = onResult
	pol, err := extauthz.New(spec)
	if err != nil {
		return nil, err
	}
	c.snap.closers = append(c.snap.closers, pol.Close)
	return pol.Middleware(), nil
}

// a2aPolicy is the `a2a: {}` policy of the route or of any of its backends.
func (c *compiler) a2aPolicy(bind, listener, name string, r *config.Route, p *config.Policies) *a2a.Policy {
	on := p.A2A != nil
	for i := range r.Backends {
		if bp := r.Backends[i].Policies; bp != nil && bp.A2A != nil {
			on = true
		}
	}
	if !on {
		return nil
	}
	return a2a.New(a2a.Spec{OnMethod: c.deps.Metrics.A2A().Recorder(bind, listener, name)})
}

// The MCP policies: compile/mcp.go wires them into the MCP handler.

// mcpAuthorization compiles `mcpAuthorization` rules (nil when absent or
// when a rule does not compile: the error is recorded at the rule's path).
func (c *compiler) mcpAuthorization(path string, p *config.Policies) *authz.Policy {
	if p.MCPAuthorization == nil {
		return nil
	}
	return c.authzPolicy(path, p.MCPAuthorization)
}

// mcpAuthentication builds `mcpAuthentication` as an OAuth 2.1 protected
// resource: tokens must come from issuer and name one of audiences.
func mcpAuthentication(m *config.MCPAuthentication) (*jwtauth.ResourceServer, error) {
	if m == nil {
		return nil, nil
	}
	if m.Provider != nil || m.ClientID != nil || m.ClientSecret != nil {
		return nil, fmt.Errorf("mcpAuthentication.provider/clientId/clientSecret (authorization-server proxying) are not supported yet")
	}
	spec := jwtauth.ResourceSpec{Metadata: m.ResourceMetadata}
	var err error
	spec.Auth.Mode = authn.Strict
	if m.Mode != nil {
		if spec.Auth.Mode, err = authn.ParseMode(*m.Mode); err != nil {
			return nil, err
		}
	}
	if spec.Auth.Location, err = authLocation(m.AuthorizationLocation); err != nil {
		return nil, err
	}
	spec.Auth.Providers = []jwtauth.Provider{{Issuer: m.Issuer, Audiences: m.Audiences, JWKS: jwksOf(m.JWKS), RequiredClaims: requiredClaims(m.JWTValidationOptions)}}
	if m.JWKS == nil {
		return nil, fmt.Errorf("mcpAuthentication.jwks is required (discovering it from the issuer is not supported yet)")
	}
	return jwtauth.NewResourceServer(spec)
}
