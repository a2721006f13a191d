package config

import (
	"errors"
	"strings"
	"testing"
)

func loadErrors(t *testing.T, src string, env func(string) (string, bool)) []string {
	t.Helper()
	_, err := Load([]byte(src), env)
	if err == nil {
		return nil
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load returned %T, want *Errors: %v", err, err)
	}
	if err.Error() == "" {
		t.Fatal("empty error text")
	}
	var out []string
	for _, fe := range *errs {
		out = append(out, fe.Error())
	}
	if got := strings.Join(out, "\n"); got != err.Error() {
		t.Fatalf("Error() = %q, want one error a line: %q", err.Error(), got)
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  func(string) (string, bool)
		want []string
	}{
		{
			name: "unknown key with suggestion",
			src: `binds:
- port: 3000
  listeners:
  - routes:
    - matches:
      - path:
          pathPrefx: /api
      backends:
      - host: localhost:8080
`,
			want: []string{`line 7 col 11: binds[0].listeners[0].routes[0].matches[0].path: unknown key "pathPrefx" (did you mean "pathPrefix"?)`},
		},
		{
			name: "unknown key case-insensitive suggestion",
			src:  "binds:\n- Port: 3000\n  listeners: []\n",
			want: []string{`line 2 col 3: binds[0]: unknown key "Port" (did you mean "port"?)`},
		},
		{
			name: "unknown key without suggestion",
			src:  "binds:\n- port: 3000\n  listeners: []\n  zzzzzz: 1\n",
			want: []string{`line 4 col 3: binds[0]: unknown key "zzzzzz"`},
		},
		{
			name: "unknown top-level key",
			src:  "gatways: {}\n",
			want: []string{`line 1 col 1: unknown key "gatways" (did you mean "gateways"?)`},
		},
		{
			name: "wrong scalar type",
			src:  "binds:\n- port: abc\n  listeners: []\n",
			want: []string{`line 2 col 9: binds[0].port: expected an integer, got string "abc"`},
		},
		{
			name: "quoted number is not an integer",
			src:  "binds:\n- port: \"3000\"\n  listeners: []\n",
			want: []string{`line 2 col 9: binds[0].port: expected an integer, got string "3000"`},
		},
		{
			name: "list where a mapping is expected",
			src:  "config:\n  logging: [a]\n",
			want: []string{`line 2 col 12: config.logging: expected a mapping, got a list`},
		},
		{
			name: "bool expected",
			src:  "mcp:\n  targets: []\n  dnsRebindingProtection: yes\n",
			want: []string{`line 3 col 27: mcp.dnsRebindingProtection: expected true or false, got string "yes"`},
		},
		{
			name: "missing required key",
			src:  "binds:\n- port: 3000\n",
			want: []string{`line 2 col 3: binds[0]: missing required key "listeners"`},
		},
		{
			name: "oneOf with none set",
			src: `binds:
- port: 3000
  listeners:
  - routes:
    - matches:
      - path: {}
`,
			want: []string{`line 6 col 15: binds[0].listeners[0].routes[0].matches[0].path: exactly one of exact, pathPrefix, regex is required`},
		},
		{
			name: "oneOf with two set",
			src: `binds:
- port: 3000
  listeners:
  - routes:
    - matches:
      - path: {exact: /a, regex: "^/b$"}
`,
			want: []string{`line 6 col 15: binds[0].listeners[0].routes[0].matches[0].path: only one of exact, pathPrefix, regex may be set, got exact and regex`},
		},
		{
			name: "backend kind missing (weight and policies do not count)",
			src: `binds:
- port: 3000
  listeners:
  - routes:
    - backends:
      - weight: 1
`,
			want: []string{`line 6 col 9: binds[0].listeners[0].routes[0].backends[0]: exactly one of host, backend, mcp, ai, openAI, anthropic, gemini, vertex, bedrock, azureOpenAI, service, internal, dynamic, aws, routeGroup is required`},
		},
		{
			name: "duplicate key",
			src:  "binds:\n- port: 3000\n  port: 3001\n  listeners: []\n",
			want: []string{`line 3 col 3: binds[0]: duplicate key "port" (first defined at line 2)`},
		},
		{
			name: "bad regex",
			src: `binds:
- port: 3000
  listeners:
  - routes:
    - matches:
      - path:
          regex: "(["
`,
			want: []string{"line 7 col 18: binds[0].listeners[0].routes[0].matches[0].path.regex: invalid regex \"([\": missing closing ]: `[`"},
		},
		{
			name: "unset environment variable",
			src: `# yaml-language-server: $schema=https://agentgateway.dev/schema/config
llm:
  models:
  - name: gpt-3.5-turbo
    provider: openAI
    params:
      model: gpt-3.5-turbo


      apiKey: "$OPENAI_API_KEY"
`,
			want: []string{`line 10 col 15: environment variable OPENAI_API_KEY is not set`},
		},
		{
			name: "yaml syntax error",
			src:  "binds:\n- port: 3000\n  listeners: [\n",
			want: []string{`line 3: invalid YAML: did not find expected node content`},
		},
		{
			name: "bare number duration",
			src: `binds:
- port: 3000
  listeners:
  - routes:
    - policies:
        timeout:
          requestTimeout: 10
      backends:
      - host: localhost:8080
`,
			want: []string{`line 7 col 27: binds[0].listeners[0].routes[0].policies.timeout.requestTimeout: expected a duration string such as "10s" or "1m30s", got integer 10`},
		},
		{
			name: "top level not a mapping",
			src:  "- a\n",
			want: []string{`line 1 col 1: expected a mapping at the top level (binds, llm, mcp, config, …), got a list`},
		},
		{
			name: "two documents",
			src:  "binds: []\n---\nbinds: []\n",
			want: []string{`line 2 col 1: a config file holds one YAML document; found a second one`},
		},
		{
			name: "alias cycle",
			src:  "config:\n  dns: &a\n    x: *a\n",
			want: []string{`line 3 col 8: config.dns.x.x: alias *a refers to itself`},
		},
		{
			name: "multiple errors reported together",
			src: `config:
  logging:
    format: yaml
binds:
- port: 70000
  listeners:
  - protocol: HTTPZ
    routes:
    - matches:
      - path: {pathPrefix: api}
      policies:
        directResponse: {status: 99}
        requestRedirect: {status: 200}
        retry: {codes: [600], attempts: 0}
      backends:
      - host: "nope"
        weight: -1
- port: 70000
  listeners: []
  extra: true
`,
			want: []string{
				`line 3 col 13: config.logging.format: invalid value "yaml": must be one of text, json`,
				`line 5 col 9: binds[0].port: port 70000 is out of range 1-65535`,
				`line 7 col 15: binds[0].listeners[0].protocol: invalid value "HTTPZ": must be one of HTTP, HTTPS, TLS, TCP, HBONE (did you mean "HTTP"?)`,
				`line 10 col 28: binds[0].listeners[0].routes[0].matches[0].path.pathPrefix: path prefix "api" must start with "/"`,
				`line 12 col 34: binds[0].listeners[0].routes[0].policies.directResponse.status: status 99 is out of range 100-599`,
				`line 13 col 35: binds[0].listeners[0].routes[0].policies.requestRedirect.status: redirect status 200 must be one of 301, 302, 303, 307, 308`,
				`line 14 col 25: binds[0].listeners[0].routes[0].policies.retry.codes[0]: status code 600 is out of range 100-599`,
				`line 14 col 41: binds[0].listeners[0].routes[0].policies.retry.attempts: attempts 0 must be between 1 and 255`,
				`line 16 col 15: binds[0].listeners[0].routes[0].backends[0].host: invalid host "nope": expected host:port or an http(s) URL`,
				`line 17 col 17: binds[0].listeners[0].routes[0].backends[0].weight: weight -1 must not be negative`,
				`line 18 col 9: binds[1].port: port 70000 is out of range 1-65535`,
				`line 20 col 3: binds[1]: unknown key "extra"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrors(t, tt.src, tt.env)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
