package config

import (
	"strings"
	"testing"
)

func mustLoad(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Load([]byte(src), testEnv)
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	return c
}

func TestEmptyAndNull(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "~\n", "---\n"} {
		c := mustLoad(t, src)
		if c.Binds != nil || c.LLM != nil {
			t.Errorf("%q: not empty", src)
		}
	}
	c := mustLoad(t, "config: null\nllm: ~\nbinds:\n- port: 1\n  listeners:\n  - name: null\n    routes: []\n")
	if c.Config != nil || c.LLM != nil || c.Binds[0].Listeners[0].Name != nil {
		t.Error("null should be nil")
	}
}

func TestAnchorsAliasesAndMerge(t *testing.T) {
	c := mustLoad(t, `
binds:
- port: 3000
  listeners:
  - routes:
    - policies:
        cors: &cors
          allowOrigins: ["*"]
        requestHeaderModifier: &mod
          set: {a: "1"}
      backends:
      - host: localhost:1
    - policies:
        cors: *cors
        requestHeaderModifier:
          <<: *mod
          remove: [b]
      backends:
      - host: localhost:2
`)
	routes := c.Binds[0].Listeners[0].Routes
	if routes[1].Policies.CORS.AllowOrigins[0] != "*" {
		t.Error("alias")
	}
	m := routes[1].Policies.RequestHeaderModifier
	if m.Set["a"] != "1" || m.Remove[0] != "b" {
		t.Errorf("merge: %+v", m)
	}
}

func TestTypedPolicies(t *testing.T) {
	c := mustLoad(t, `
binds:
- port: 3000
  listeners:
  - policies:
      basicAuth: {htpasswd: {file: ./htpasswd}, realm: r, mode: strict}
    routes:
    - policies:
        urlRewrite: {authority: auto, path: {prefix: /v2}}
        requestRedirect: {authority: {port: 8443}, status: 301}
        directResponse: {status: 200, body: [104, 105]}
        jwtAuth:
          mode: strict
          issuer: https://issuer
          audiences: [a]
          jwks: {url: https://issuer/jwks}
          location: {header: {name: x-token, prefix: "Bearer "}}
          jwtValidationOptions: {requiredClaims: [exp, sub]}
        apiKey:
          keys:
          - key: k1
            metadata: {tier: gold}
            allowedModels: [gpt-4o]
          - keyHash: "sha256:abcd"
        authorization:
          rules:
          - 'request.path == "/"'
          - deny: 'false'
          - require: 'true'
        mcpAuthorization: {rules: ['mcp.tool.name == "echo"']}
        mcpAuthentication:
          issuer: https://issuer
          audiences: [x]
          provider: {keycloak: {}}
          resourceMetadata: {resource: http://localhost:3000/mcp, scopesSupported: [a]}
          jwks: "inline-jwks"
        extAuthz:
          host: localhost:9000
          protocol: {http: {path: '"/check"', addRequestHeaders: {x: 'y'}}}
          failureMode: {denyWithStatus: 503}
          includeRequestHeaders: [authorization]
        localRateLimit:
        - {maxTokens: 10, tokensPerFill: 1, fillInterval: 1s, type: requests}
        extProc: {host: localhost:9001}
        transformations: {request: {set: {a: b}}}
        csrf: {additionalOrigins: [x]}
        delay: {duration: 1s}
        backendAuth: copilot
      backends:
      - host: localhost:1
        policies:
          backendAuth: {key: {value: {file: /k}, location: {queryParameter: {name: key}}}}
          http: {version: HTTP/2, requestTimeout: 1m30s}
      - service: {name: default/svc.cluster.local, port: 80}
      - ai:
          groups:
          - providers:
            - name: a
              provider: {bedrock: {region: us-east-1, model: m}}
            - name: b
              provider: {vertex: {projectId: p}}
      - mcp:
          prefixMode: never
          targets:
          - name: api
            openapi: {schema: {file: petstore.json}, host: localhost:8080}
          - name: remote
            sse: {host: localhost, port: 8000, path: /sse}
            policies: {backendAuth: {passthrough: {}}}
`)
	r := c.Binds[0].Listeners[0].Routes[0]
	p := r.Policies
	if !p.URLRewrite.Authority.Auto || *p.URLRewrite.Path.Prefix != "/v2" {
		t.Error("urlRewrite")
	}
	if *p.RequestRedirect.Authority.Port != 8443 {
		t.Error("redirect port")
	}
	if string(*p.DirectResponse.Body) != "hi" {
		t.Error("body")
	}
	if *p.JWTAuth.JWKS.URL != "https://issuer/jwks" || p.JWTAuth.Location.Header.Name != "x-token" {
		t.Error("jwt")
	}
	if *p.APIKey.Keys[0].Key != "k1" || *p.APIKey.Keys[1].KeyHash != "sha256:abcd" {
		t.Error("apiKey")
	}
	rules := p.Authorization.Rules
	if rules[0].Allow == nil || *rules[1].Deny != "false" || *rules[2].Require != "true" {
		t.Error("rules")
	}
	if p.MCPAuthentication.Provider.Keycloak == nil || *p.MCPAuthentication.JWKS.Inline != "inline-jwks" {
		t.Error("mcpAuthentication")
	}
	if p.ExtAuthz.FailureMode.DenyWithStatus != 503 || *p.ExtAuthz.Protocol.HTTP.Path != `"/check"` {
		t.Error("extAuthz")
	}
	if p.LocalRateLimit.Limits[0].FillInterval.Seconds() != 1 {
		t.Error("localRateLimit")
	}
	if !p.BackendAuth.Copilot || p.ExtProc == nil || p.Delay == nil {
		t.Error("copilot/raw")
	}
	bk := r.Backends[0].Policies.BackendAuth.Key
	if *bk.Value.File != "/k" || bk.Loc.QueryParameter.Name != "key" || bk.Location == nil {
		t.Error("backend key")
	}
	if r.Backends[2].AI.Groups[0].Providers[0].Provider.Bedrock.Region != "us-east-1" {
		t.Error("groups")
	}
	if *r.Backends[3].MCP.Targets[1].SSE.Port != 8000 {
		t.Error("sse")
	}
	if c.Binds[0].Listeners[0].Policies.BasicAuth.Htpasswd.File == nil {
		t.Error("basicAuth")
	}
}

func TestConditionalForms(t *testing.T) {
	c := mustLoad(t, `
binds:
- port: 3000
  listeners:
  - routes:
    - policies:
        directResponse:
          conditional:
          - {condition: 'random() < 0.1', status: 503}
          - {status: 200}
        localRateLimit:
          conditional:
          - {condition: 'true', maxTokens: 1, fillInterval: 1s}
        extAuthz:
          conditional:
          - {condition: 'true', host: localhost:1}
      backends: [{host: localhost:2}]
`)
	p := c.Binds[0].Listeners[0].Routes[0].Policies
	if len(p.DirectResponse.Conditional) != 2 || len(p.LocalRateLimit.Conditional) != 1 || *p.ExtAuthz.Conditional[0].Host != "localhost:1" {
		t.Error("conditional forms")
	}
}

func TestLLMForm(t *testing.T) {
	c := mustLoad(t, `
llm:
  port: 4001
  providers:
  - name: shared
    provider: anthropic
    params: {apiKey: {file: /key}}
  models:
  - name: smart
    provider: {reference: shared}
    params: {model: claude}
  - name: fast
    provider: groq
  - name: mine
    provider: {custom: {formats: [{type: completions, path: /v1/chat}]}}
  virtualModels:
  - name: auto
    routing: {weighted: {targets: [{model: smart, weight: 1}]}}
  policies:
    localRateLimit: [{maxTokens: 1, fillInterval: 1s}]
`)
	m := c.LLM.Models
	if *m[0].ProviderRef.Reference != "shared" || m[1].Provider != "groq" || m[2].ProviderRef.Custom == nil {
		t.Errorf("models: %+v", m)
	}
}

func TestUnbuiltTopLevel(t *testing.T) {
	c := mustLoad(t, `
gateways:
  default: {port: 3000}
routes:
- backends: [{host: localhost:1}]
ui: {}
`)
	for _, k := range []string{"gateways", "routes", "ui"} {
		if _, ok := c.Unbuilt[k]; !ok {
			t.Errorf("Unbuilt[%q] missing", k)
		}
	}
	if m, _ := c.Unbuilt["gateways"].Value.(map[string]any); m["default"] == nil {
		t.Error("gateways raw value")
	}
}

func TestValidationRules(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"llm port collides with bind", "binds:\n- port: 4000\n  listeners: []\nllm:\n  models: [{name: a, provider: openAI}]\n",
			"line 5 col 3: llm.port: the default port 4000 of `llm` collides with binds[0] (set a different llm.port)"},
		{"mcp port collides with llm", "llm:\n  port: 3000\n  models: [{name: a, provider: openAI}]\nmcp:\n  targets: []\n",
			"line 5 col 3: mcp.port: the default port 3000 of `mcp` collides with llm.port (set a different mcp.port)"},
		{"duplicate bind port", "binds:\n- port: 1\n  listeners: []\n- port: 1\n  listeners: []\n",
			"line 4 col 9: binds[1].port: port 1 is already used by binds[0]"},
		{"https without tls", "binds:\n- port: 1\n  listeners:\n  - protocol: HTTPS\n",
			"line 4 col 5: binds[0].listeners[0]: protocol HTTPS needs a tls block with cert and key"},
		{"header name", "binds:\n- port: 1\n  listeners:\n  - routes:\n    - matches: [{headers: [{name: 'a b', value: {exact: x}}]}]\n",
			`line 5 col 35: binds[0].listeners[0].routes[0].matches[0].headers[0].name: invalid header name "a b"`},
		{"mcp names", "mcp:\n  targets:\n  - {name: a_b, stdio: {cmd: x}}\n  - {name: a_b, stdio: {cmd: x}}\n",
			"line 3 col 12: mcp.targets[0].name: target name \"a_b\" must not contain \"_\" (the tool-name delimiter) when there is more than one target\n" +
				"line 4 col 12: mcp.targets[1].name: target name \"a_b\" must not contain \"_\" (the tool-name delimiter) when there is more than one target\n" +
				"line 4 col 12: mcp.targets[1].name: duplicate target name \"a_b\" (also mcp.targets[0])"},
		{"mcp modes", "mcp:\n  statefulMode: stateles\n  targets: [{name: a, mcp: {host: 'http://x:1/mcp'}}]\n",
			`line 2 col 17: mcp.statefulMode: invalid value "stateles": must be one of stateful, stateless (did you mean "stateless"?)`},
		{"llm provider", "llm:\n  models:\n  - {name: a, provider: openAi}\n  - {name: a, provider: openAI}\n",
			"line 3 col 25: llm.models[0].provider: unknown provider \"openAi\": must be one of openAI, openai, anthropic, gemini, vertex, bedrock, azure, azureOpenAI, copilot, cohere, ollama, baseten, cerebras, deepinfra, deepseek, groq, huggingface, mistral, openrouter, togetherai, xai, fireworks, or {reference: name} or {custom: {...}} (did you mean \"openAI\"?)\n" +
				"line 4 col 12: llm.models[1].name: duplicate model name \"a\" (also llm.models[0])"},
		{"log level", "config:\n  logging: {level: 'info,rmcp=debug,x=loud'}\n",
			`line 2 col 20: config.logging.level: invalid log level "x=loud": must be one of trace, debug, info, warn, error, off (optionally followed by module=level entries, e.g. "info,rmcp=debug")`},
		{"negative duration", "config:\n  connectionTerminationDeadline: -1s\n",
			`line 2 col 34: config.connectionTerminationDeadline: duration "-1s" must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(loadErrors(t, tt.src, testEnv), "\n")
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	c := mustLoad(t, "config:\n  logging: {level: 'info,rmcp=debug'}\n")
	if c.Config.Logging.LevelName() != "info" {
		t.Error("LevelName")
	}
}

func TestCopilotIsNotAMappingKey(t *testing.T) {
	got := strings.Join(loadErrors(t, "binds:\n- port: 1\n  listeners:\n  - routes:\n    - policies: {backendAuth: {copilot: true}}\n", testEnv), "\n")
	if !strings.Contains(got, `unknown key "copilot"`) {
		t.Errorf("got %s", got)
	}
}
