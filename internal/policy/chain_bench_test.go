package policy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/cors"
	"github.com/agentgw/agentgateway/internal/policy/headers"
	"github.com/agentgw/agentgateway/internal/policy/rewrite"
	"github.com/agentgw/agentgateway/internal/route"
)

// discard is a ResponseWriter that reuses one header map.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func chain(b *testing.B) http.Handler {
	b.Helper()
	hmw, err := headers.New(headers.Spec{
		Request: headers.Modifier{
			Set:    []headers.Header{{Name: "x-gateway", Value: "agentgateway"}},
			Remove: []string{"x-debug"},
		},
		Response: headers.Modifier{
			Set:    []headers.Header{{Name: "server", Value: "agentgateway"}},
			Remove: []string{"x-internal"},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	cmw, err := cors.New(cors.Spec{
		AllowOrigins:  []string{"https://app.example.com", "https://*.dev.example.com"},
		AllowHeaders:  []string{"content-type", "mcp-session-id"},
		ExposeHeaders: []string{"mcp-session-id"},
	})
	if err != nil {
		b.Fatal(err)
	}
	rmw, err := rewrite.New(rewrite.Spec{Path: rewrite.Path{Kind: rewrite.PathPrefix, Value: "/v2"}})
	if err != nil {
		b.Fatal(err)
	}
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	return pipeline.Chain(noop, cmw, hmw, rmw)
}

func request(origin bool) *http.Request {
	r := httptest.NewRequest("GET", "http://gw.test/api/users?limit=10", nil)
	if origin {
		r.Header.Set("Origin", "https://app.example.com")
	}
	return r.WithContext(pipeline.WithInfo(r.Context(), &pipeline.Info{MatchedPrefix: "/api"}))
}

func serve(b *testing.B, h http.Handler, r *http.Request) {
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkChain runs cors + headers (request and response) + urlRewrite
// (prefix) around a no-op handler.
func BenchmarkChain(b *testing.B) {
	h := chain(b)
	b.Run("cors-actual", func(b *testing.B) { serve(b, h, request(true)) })
	b.Run("no-origin", func(b *testing.B) { serve(b, h, request(false)) })
	pre := request(true)
	pre.Method = http.MethodOptions
	pre.Header.Set("Access-Control-Request-Method", "POST")
	b.Run("preflight", func(b *testing.B) { serve(b, h, pre) })
}

// BenchmarkRouteAndChain adds the router (1,000 routes) in front.
func BenchmarkRouteAndChain(b *testing.B) {
	specs := make([]route.Spec, 0, 1000)
	for i := range 999 {
		specs = append(specs, route.Spec{Name: "r", Matches: []route.MatchSpec{{Path: route.PathSpec{Value: "/svc" + string(rune('a'+i%26)) + "/" + string(rune('a'+i/26))}}}})
	}
	specs = append(specs, route.Spec{Name: "api", Matches: []route.MatchSpec{{Path: route.PathSpec{Value: "/api"}}}, Handler: chain(b)})
	tab, err := route.New(specs)
	if err != nil {
		b.Fatal(err)
	}
	serve(b, tab, request(true))
}
