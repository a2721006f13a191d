package route

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchSpecs builds n routes in four shapes (host-bound prefix, prefix with
// method/header/query conditions, exact path, plain prefix), plus a few regex
// routes and a catch-all.
func benchSpecs(n int) []Spec {
	specs := make([]Spec, 0, n+6)
	for i := 0; i < n; i++ {
		s := Spec{Name: fmt.Sprintf("r%d", i)}
		switch i % 4 {
		case 0:
			s.Hostnames = []string{fmt.Sprintf("svc%d.example.com", i)}
			s.Matches = []MatchSpec{prefix(fmt.Sprintf("/svc%d/api", i))}
		case 1:
			s.Matches = []MatchSpec{{
				Path:    PathSpec{Value: fmt.Sprintf("/svc%d/api", i)},
				Method:  "POST",
				Headers: []KV{{Name: "x-env", Value: "prod"}},
				Query:   []KV{{Name: "tenant", Value: "acme"}},
			}}
		case 2:
			s.Matches = []MatchSpec{exact(fmt.Sprintf("/exact/%d", i))}
		case 3:
			s.Matches = []MatchSpec{prefix(fmt.Sprintf("/svc%d", i))}
		}
		specs = append(specs, s)
	}
	for i := 0; i < 5; i++ {
		specs = append(specs, Spec{Name: fmt.Sprintf("re%d", i), Matches: []MatchSpec{regex(fmt.Sprintf("/re%d/[a-z]+", i))}})
	}
	specs = append(specs, Spec{Name: "fallback", Matches: []MatchSpec{prefix("/")}})
	return specs
}

// last returns the largest i < n with i%4 == k.
func last(n, k int) int { return (n-1-k)/4*4 + k }

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 5000} {
		tab, err := New(benchSpecs(n))
		if err != nil {
			b.Fatal(err)
		}
		host := httptest.NewRequest("GET", fmt.Sprintf("http://svc%d.example.com/svc%[1]d/api/items/42", last(n, 0)), nil)
		cond := httptest.NewRequest("POST", fmt.Sprintf("http://gw.test/svc%d/api/v2?debug=1&tenant=acme", last(n, 1)), nil)
		cond.Header.Set("X-Env", "prod")
		exactReq := httptest.NewRequest("GET", fmt.Sprintf("http://gw.test/exact/%d", last(n, 2)), nil)
		pfx := httptest.NewRequest("GET", fmt.Sprintf("http://gw.test/svc%d/a/b/c", last(n, 3)), nil)
		fallback := httptest.NewRequest("GET", "http://gw.test/nothing/here", nil)
		cases := []struct {
			name string
			r    *http.Request
		}{{"host", host}, {"conditions", cond}, {"exact", exactReq}, {"prefix", pfx}, {"fallback", fallback}}
		for _, c := range cases {
			if rt, _ := tab.Match(c.r); rt == nil {
				b.Fatalf("%s: no match", c.name)
			}
			b.Run(fmt.Sprintf("routes=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					tab.Match(c.r)
				}
			})
		}
	}
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, p := range []string{"/svc12/api/items/42", "/svc12//api/./items/../42"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizePath(p)
			}
		})
	}
}
