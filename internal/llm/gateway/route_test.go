package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// routeBackend is a one-target backend named name.
func routeBackend(name string) *Backend {
	t := &Target{Name: name, Provider: openai.New(openai.Spec{}), Transport: http.DefaultTransport, Address: "127.0.0.1:1", Scheme: "http"}
	return &Backend{Name: name, Weight: 1, Tiers: [][]*Target{{t}}}
}

func cond(t *testing.T, expr string) *Condition {
	t.Helper()
	c, err := CompileCondition(expr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustHandler(t *testing.T, spec Spec) *Handler {
	t.Helper()
	spec.ModelRouted = true
	h, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func req(hdr ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

// firstName routes model and names the first backend tried ("" when
// none; "error:<code>" on an error).
func firstName(h *Handler, r *http.Request, model, body string) string {
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	rp, e := h.route(r, model, b)
	if e != nil {
		return "error:" + e.Code
	}
	ts, _ := rp.targets()
	if len(ts) == 0 {
		return ""
	}
	return ts[0].Name
}

func TestRouteConcrete(t *testing.T) {
	gold, silver, any, internal := routeBackend("gold"), routeBackend("silver"), routeBackend("plain"), routeBackend("hidden")
	gold.Name, silver.Name = "smart", "smart"
	gold.Tiers[0][0].Name, silver.Tiers[0][0].Name = "gold", "silver"
	c1, _ := NewHeaderCond("x-tier", "gold", "")
	c2, _ := NewHeaderCond("X-Tier", "", "silver|bronze")
	gold.Matches = []HeaderMatch{{c1}}
	silver.Matches = []HeaderMatch{{c2}}
	internal.Internal = true
	wild := routeBackend("team/*")
	h := mustHandler(t, Spec{Backends: []*Backend{gold, silver, any, internal, wild}})
	tests := []struct {
		name  string
		r     *http.Request
		model string
		want  string
	}{
		{"header selects gold", req("x-tier", "gold"), "smart", "gold"},
		{"regex selects silver", req("x-tier", "bronze"), "smart", "silver"},
		{"regex is anchored", req("x-tier", "silverish"), "smart", ""},
		{"no header, no entry", req(), "smart", ""},
		{"plain model", req(), "plain", "plain"},
		{"internal model is not served directly", req(), "hidden", ""},
		{"wildcard", req(), "team/a", "team/*"},
		{"unknown", req(), "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := firstName(h, tt.r, tt.model, ""); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRouteVirtual(t *testing.T) {
	a, b, c := routeBackend("a"), routeBackend("b"), routeBackend("c")
	c.Internal = true
	spec := Spec{Backends: []*Backend{a, b, c}, VirtualModels: []*VirtualModel{
		{Name: "split", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "a", Weight: 3}, {Model: "b", Weight: 1}}},
		{Name: "zero", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "a", Weight: 0}, {Model: "b", Weight: 1}}},
		{Name: "ha", Kind: VirtualFailover, Targets: []VirtualTarget{{Model: "a", Priority: 2}, {Model: "c", Priority: 0}, {Model: "b", Priority: 1}}},
		{Name: "cond", Kind: VirtualConditional, Targets: []VirtualTarget{
			{Model: "a", When: cond(t, `has(llmRequest.metadata) && llmRequest.metadata.tier == "gold"`)},
			{Model: "c", When: cond(t, `request.headers["x-route"] == "internal"`)},
			{Model: "b", When: cond(t, `llmRequest.max_tokens > 4096`)},
		}},
		{Name: "cond-fallback", Kind: VirtualConditional, Targets: []VirtualTarget{
			{Model: "a", When: cond(t, `llmRequest.missing.deep == 1`)}, // an error counts as false
			{Model: "b"},
		}},
	}}
	h := mustHandler(t, spec)

	t.Run("failover order by priority, internal included", func(t *testing.T) {
		rp, e := h.route(req(), "ha", nil)
		if e != nil {
			t.Fatal(e)
		}
		ts, models := rp.targets()
		var got []string
		for _, t := range ts {
			got = append(got, t.Name)
		}
		if strings.Join(got, ",") != "c,b,a" || strings.Join(models, ",") != "c,b,a" {
			t.Errorf("order %v models %v", got, models)
		}
	})
	t.Run("failover skips an ejected target", func(t *testing.T) {
		c.Tiers[0][0].health.until = time.Now().Add(time.Hour)
		defer func() { c.Tiers[0][0].health.until = time.Time{} }()
		if got := firstName(h, req(), "ha", ""); got != "b" {
			t.Errorf("first %q", got)
		}
	})
	t.Run("weighted split follows the weights", func(t *testing.T) {
		n := map[string]int{}
		const draws = 4000
		for range draws {
			n[firstName(h, req(), "split", "")]++
		}
		// expected 3000 a: bounds far outside any plausible deviation
		if n["a"] < draws*6/10 || n["a"] > draws*9/10 || n["b"] == 0 {
			t.Errorf("draws %v", n)
		}
	})
	t.Run("weight 0 is tried last", func(t *testing.T) {
		for range 200 {
			if got := firstName(h, req(), "zero", ""); got != "b" {
				t.Fatalf("first %q", got)
			}
		}
	})
	tests := []struct {
		name, model, body string
		r                 *http.Request
		want              string
	}{
		{"metadata selects a", "cond", `{"model":"cond","metadata":{"tier":"gold"}}`, req(), "a"},
		{"header selects internal c", "cond", `{"model":"cond"}`, req("x-route", "internal"), "c"},
		{"max_tokens selects b", "cond", `{"model":"cond","max_tokens":8000}`, req(), "b"},
		{"nothing matches", "cond", `{"model":"cond","max_tokens":10}`, req(), "error:virtual_model_no_matching_target"},
		{"not JSON: llmRequest is empty", "cond", `not json`, req(), "error:virtual_model_no_matching_target"},
		{"fallback after an erroring condition", "cond-fallback", `{"model":"x"}`, req(), "b"},
		{"internal c is not served directly", "c", "", req(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := firstName(h, tt.r, tt.model, tt.body); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRouteVirtualTargetNotServed(t *testing.T) {
	a := routeBackend("a")
	m, _ := NewHeaderCond("x-ok", "1", "")
	a.Matches = []HeaderMatch{{m}}
	h := mustHandler(t, Spec{Backends: []*Backend{a}, VirtualModels: []*VirtualModel{
		{Name: "w", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "a", Weight: 1}}},
		{Name: "c", Kind: VirtualConditional, Targets: []VirtualTarget{{Model: "a"}}},
	}})
	for _, model := range []string{"w", "c"} {
		if got := firstName(h, req(), model, ""); got != "error:virtual_model_target_not_found" {
			t.Errorf("%s: got %q", model, got)
		}
		if got := firstName(h, req("x-ok", "1"), model, ""); got != "a" {
			t.Errorf("%s with header: got %q", model, got)
		}
	}
}

func TestNewRefusesBadVirtualModels(t *testing.T) {
	a := routeBackend("a")
	tests := []struct {
		name string
		vms  []*VirtualModel
		want string
	}{
		{"no targets", []*VirtualModel{{Name: "v", Kind: VirtualWeighted}}, "has no targets"},
		{"virtual to virtual", []*VirtualModel{
			{Name: "v", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "w"}}},
			{Name: "w", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "a"}}},
		}, "targets virtual model w"},
		{"self", []*VirtualModel{{Name: "v", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "v"}}}}, "targets virtual model v"},
		{"duplicate", []*VirtualModel{
			{Name: "v", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "a"}}},
			{Name: "v", Kind: VirtualWeighted, Targets: []VirtualTarget{{Model: "a"}}},
		}, "duplicate virtual model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Spec{Backends: []*Backend{a}, ModelRouted: true, VirtualModels: tt.vms})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCompileCondition(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`llmRequest.model == "x"`, ""},
		{`request.headers["x-a"] == "1" || jwt.sub == "me"`, ""},
		{``, "empty CEL expression"},
		{`llmRequest.model ==`, "invalid CEL expression"},
		{`"a string"`, "want bool"},
		{`nosuchvar.x`, "undeclared reference"},
	}
	for _, tt := range tests {
		_, err := CompileCondition(tt.expr)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%q: got %v, want %q", tt.expr, err, tt.want)
		}
	}
}
