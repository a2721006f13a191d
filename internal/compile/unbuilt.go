package compile

import (
	"reflect"
	"strings"

	"github.com/agentgw/agentgateway/internal/config"
)

// builtRoutePolicies are the route policies this gateway enforces. Any other
// key of agentgateway's language that a config sets is refused at load:
// silently skipping, say, jwtAuth would serve a route unprotected.
var builtRoutePolicies = set("requestHeaderModifier", "responseHeaderModifier", "requestRedirect",
	"urlRewrite", "requestMirror", "directResponse", "cors", "timeout", "retry", "backendTLS",
	"backendAuth", "a2a", "ai",
	"jwtAuth", "apiKey", "basicAuth", "authorization", "extAuthz", "localRateLimit",
	"mcpAuthorization", "mcpAuthentication")

var builtBackendPolicies = set("requestHeaderModifier", "responseHeaderModifier", "backendTLS",
	"backendAuth", "http", "a2a", "ai")

var builtBackendAuth = set("key", "passthrough")

var builtBackendTLS = set("cert", "key", "root", "hostname", "insecure", "insecureHost", "alpn", "subjectAltNames")

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// unbuilt reports the YAML keys set in the struct pointed to by v that are
// not in built.
func unbuilt(v any, built map[string]bool) []string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	var out []string
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || built[key] {
			continue
		}
		if !rv.Field(i).IsZero() {
			out = append(out, key)
		}
	}
	return out
}

func (c *compiler) refuseUnbuilt(path string, v any, built map[string]bool, what string) {
	for _, key := range unbuilt(v, built) {
		c.errs.add(path+"."+key, "%s %q is part of agentgateway's config language but not supported by this gateway yet; refusing the config rather than ignoring it", what, key)
	}
}

func (c *compiler) checkUnbuiltSettings(cfg *config.Config) {
	// The `config:` keys that matter to traffic are served; the rest
	// (xDS, CA, database, UI storage, …) are accepted, and mentioned.
	if s := cfg.Config; s != nil {
		for _, key := range unbuilt(s, set("adminAddr", "statsAddr", "readinessAddr", "logging", "tracing",
			"session", "connectionTerminationDeadline", "connectionMinTerminationDeadline", "mcp", "histograms", "backend")) {
			c.snap.Warnings = append(c.snap.Warnings, "config."+key+" is accepted but has no effect in this gateway yet")
		}
	}
}
