package config

import (
	"strings"
	"testing"
)

const routingModels = `llm:
  models:
  - name: fast
    provider: openAI
  - name: slow
    provider: openAI
    visibility: internal
  - name: team/*
    provider: openAI
    passthrough: detect
  - name: tiered
    provider: openAI
    matches: [{headers: [{name: x-tier, value: {exact: gold}}]}]
  - name: tiered
    provider: anthropic
    matches: [{headers: [{name: x-tier, value: {regex: "silver|bronze"}}]}]
  virtualModels:
`

func TestLLMRoutingLoads(t *testing.T) {
	c := mustLoad(t, routingModels+`  - name: split
    routing: {weighted: {targets: [{model: fast, weight: 3}, {model: slow}]}}
  - name: ha
    routing: {failover: {targets: [{model: fast, priority: 1}, {model: team/x, priority: 0}]}}
  - name: pick
    routing:
      conditional:
        targets:
        - {when: 'llmRequest.max_tokens > 4096', model: slow}
        - {model: fast}
`)
	vm := c.LLM.VirtualModels
	if len(vm) != 3 || *vm[0].Routing.Weighted.Targets[0].Weight != 3 || vm[0].Routing.Weighted.Targets[1].Weight != nil ||
		vm[1].Routing.Failover.Targets[1].Priority != 0 || *vm[2].Routing.Conditional.Targets[0].When == "" {
		t.Fatalf("virtual models: %+v", vm)
	}
	full := Expand(c)
	if len(full.Unbuilt) != 0 {
		t.Errorf("unbuilt: %v", full.Unbuilt)
	}
	bs := full.Binds[0].Listeners[0].Routes[0].Backends
	if len(bs) != 5 {
		t.Fatalf("%d backends", len(bs))
	}
	first := bs[0].AI.LLM
	if first == nil || len(first.VirtualModels) != 3 || first.Path != "llm.models[0]" || first.Visibility != "public" {
		t.Errorf("first model routing: %+v", first)
	}
	if r := bs[1].AI.LLM; r == nil || r.Visibility != "internal" || r.VirtualModels != nil {
		t.Errorf("internal model: %+v", r)
	}
	if r := bs[2].AI.LLM; r == nil || r.Passthrough != "detect" {
		t.Errorf("passthrough model: %+v", r)
	}
	if r := bs[4].AI.LLM; r == nil || *r.Matches[0].Headers[0].Value.Regex != "silver|bronze" || r.Path != "llm.models[4]" {
		t.Errorf("matches: %+v", r)
	}
}

func TestLLMPlainModelHasNoRouting(t *testing.T) {
	c := mustLoad(t, "llm:\n  models: [{name: a, provider: openAI, visibility: public}]\n")
	if r := Expand(c).Binds[0].Listeners[0].Routes[0].Backends[0].AI.LLM; r != nil {
		t.Errorf("routing %+v", r)
	}
}

func TestLLMRoutingErrors(t *testing.T) {
	tests := []struct{ name, vms, want string }{
		{"unknown target", "  - name: v\n    routing: {weighted: {targets: [{model: fats}]}}\n",
			`line 19 col 44: llm.virtualModels[0].routing.weighted.targets[0].model: no llm.models entry serves model "fats"`},
		{"empty targets", "  - name: v\n    routing: {failover: {targets: []}}\n",
			"line 19 col 35: llm.virtualModels[0].routing.failover.targets: a failover virtual model needs at least one target"},
		{"virtual to virtual", "  - name: v\n    routing: {weighted: {targets: [{model: w}]}}\n  - name: w\n    routing: {weighted: {targets: [{model: fast}]}}\n",
			`line 19 col 44: llm.virtualModels[0].routing.weighted.targets[0].model: "w" is a virtual model: a virtual model can only target llm.models entries`},
		{"self", "  - name: v\n    routing: {weighted: {targets: [{model: v}]}}\n",
			`line 19 col 44: llm.virtualModels[0].routing.weighted.targets[0].model: "v" is a virtual model`},
		{"two routings", "  - name: v\n    routing: {weighted: {targets: [{model: fast}]}, failover: {targets: [{model: fast, priority: 0}]}}\n",
			"llm.virtualModels[0].routing: only one of weighted, failover, conditional may be set"},
		{"no routing kind", "  - name: v\n    routing: {}\n",
			"llm.virtualModels[0].routing: exactly one of weighted, failover, conditional is required"},
		{"negative weight", "  - name: v\n    routing: {weighted: {targets: [{model: fast, weight: -1}]}}\n",
			"line 19 col 58: llm.virtualModels[0].routing.weighted.targets[0].weight: weight must not be negative"},
		{"all weights zero", "  - name: v\n    routing: {weighted: {targets: [{model: fast, weight: 0}]}}\n",
			"llm.virtualModels[0].routing.weighted.targets: at least one target needs a weight above zero"},
		{"priority missing", "  - name: v\n    routing: {failover: {targets: [{model: fast}]}}\n",
			`llm.virtualModels[0].routing.failover.targets[0]: missing required key "priority"`},
		{"fallback not last", "  - name: v\n    routing: {conditional: {targets: [{model: fast}, {when: 'true', model: slow}]}}\n",
			"line 19 col 39: llm.virtualModels[0].routing.conditional.targets[0]: only the last target may omit `when` (it is the fallback)"},
		{"name collides with a model", "  - name: fast\n    routing: {weighted: {targets: [{model: slow}]}}\n",
			`line 18 col 11: llm.virtualModels[0].name: duplicate model name "fast" (also llm.models[0])`},
		{"unknown routing key", "  - name: v\n    routing: {weighted: {targets: [{model: fast, wieght: 1}]}}\n",
			`unknown key "wieght" (did you mean "weight"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(loadErrors(t, routingModels+tt.vms, testEnv), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("got\n%s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLLMModelRoutingErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"bad header name", "llm:\n  models:\n  - name: a\n    provider: openAI\n    matches: [{headers: [{name: 'a b', value: {exact: x}}]}]\n",
			`line 5 col 33: llm.models[0].matches[0].headers[0].name: invalid header name "a b"`},
		{"bad regex", "llm:\n  models:\n  - name: a\n    provider: openAI\n    matches: [{headers: [{name: x, value: {regex: '('}}]}]\n",
			"llm.models[0].matches[0].headers[0].value.regex: invalid regex"},
		{"bad visibility", "llm:\n  models:\n  - name: a\n    provider: openAI\n    visibility: hidden\n",
			"line 5 col 17: llm.models[0].visibility"},
		{"bad passthrough", "llm:\n  models:\n  - name: a\n    provider: openAI\n    passthrough: raw\n",
			"line 5 col 18: llm.models[0].passthrough"},
		{"duplicate name without matches", "llm:\n  models:\n  - name: a\n    provider: openAI\n  - name: a\n    provider: openAI\n",
			`line 5 col 11: llm.models[1].name: duplicate model name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(loadErrors(t, tt.src, testEnv), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("got\n%s\nwant %s", got, tt.want)
			}
		})
	}
}
