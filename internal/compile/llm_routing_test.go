package compile

import (
	"io"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/config"
)

// TestLLMRoutingCompiles checks that the llm: form's virtual models,
// header matches, visibility and passthrough compile (no longer refused),
// and that a bad `when` expression or header regex is reported with its
// llm: path and line.
func TestLLMRoutingCompiles(t *testing.T) {
	const models = `llm:
  models:
  - name: a
    provider: openAI
    params: {apiKey: k, baseUrl: "http://127.0.0.1:1/v1"}
  - name: b
    provider: openAI
    visibility: internal
    passthrough: detect
    params: {apiKey: k, baseUrl: "http://127.0.0.1:1/v1"}
  - name: c
    provider: openAI
    matches: [{headers: [{name: x-tier, value: {exact: gold}}]}]
    params: {apiKey: k, baseUrl: "http://127.0.0.1:1/v1"}
  virtualModels:
  - name: v
    routing:
      conditional:
        targets:
`
	if snap := mustCompile(t, models+"        - {when: 'llmRequest.max_tokens > 10', model: b}\n        - {model: a}\n"); snap.Binds[config.DefaultLLMPort] == nil {
		t.Fatal("no llm bind")
	}
	tests := []struct{ name, targets, want string }{
		{"bad CEL", "        - {when: 'llmRequest.max_tokens >', model: b}\n",
			"line 20 col 18: llm.virtualModels[0].routing.conditional.targets[0].when: invalid CEL expression"},
		{"dyn CEL compiles", "        - {when: 'llmRequest.model', model: b}\n        - {model: a}\n", ""},
		{"string CEL", "        - {when: '\"premium\"', model: b}\n",
			"line 20 col 18: llm.virtualModels[0].routing.conditional.targets[0].when: invalid CEL expression: it produces string, want bool"},
		{"unknown variable", "        - {when: 'body.x == 1', model: b}\n",
			"line 20 col 18: llm.virtualModels[0].routing.conditional.targets[0].when: invalid CEL expression: ERROR: <input>:1:1: undeclared reference to 'body'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load([]byte(models+tt.targets), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			_, err = Compile(cfg, testDeps(t, io.Discard))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("compile: %v", err) // dyn-typed: checked at run time
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
