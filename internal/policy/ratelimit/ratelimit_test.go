package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time             { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration)        { c.t.Add(int64(d)) }
func newClock() *clock                      { c := &clock{}; c.t.Store(time.Unix(1e9, 0).UnixNano()); return c }
func ok(http.ResponseWriter, *http.Request) {}

func hit(h http.Handler, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://gw/", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestTokenBucket(t *testing.T) {
	c := newClock()
	mw, err := New(Spec{Limits: []Limit{{MaxTokens: 3, TokensPerFill: 2, FillInterval: 10 * time.Second}}, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(ok))
	for i, want := range []string{"2", "1", "0"} {
		rec := hit(h)
		if rec.Code != 200 || rec.Header().Get("X-Ratelimit-Remaining") != want || rec.Header().Get("X-Ratelimit-Limit") != "3" {
			t.Fatalf("request %d: %d remaining %q", i, rec.Code, rec.Header().Get("X-Ratelimit-Remaining"))
		}
	}
	c.add(4 * time.Second)
	rec := hit(h)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "6" || rec.Header().Get("X-Ratelimit-Reset") != "6" || rec.Header().Get("X-Ratelimit-Remaining") != "0" {
		t.Fatalf("exhausted: %d %v", rec.Code, rec.Header())
	}
	c.add(6 * time.Second) // one fill: +2
	for i := range 2 {
		if rec := hit(h); rec.Code != 200 {
			t.Fatalf("after a fill, request %d: %d", i, rec.Code)
		}
	}
	if rec := hit(h); rec.Code != 429 {
		t.Fatalf("third after a fill: %d", rec.Code)
	}
	c.add(time.Hour) // capped at maxTokens
	for range 3 {
		if rec := hit(h); rec.Code != 200 {
			t.Fatal("after an hour")
		}
	}
	if rec := hit(h); rec.Code != 429 {
		t.Fatal("bucket exceeded maxTokens")
	}
}

func TestSeveralBucketsAllOrNothing(t *testing.T) {
	c := newClock()
	mw, _ := New(Spec{Limits: []Limit{
		{MaxTokens: 5, TokensPerFill: 5, FillInterval: time.Second},
		{MaxTokens: 2, TokensPerFill: 2, FillInterval: time.Minute},
	}, Now: c.now})
	h := mw(http.HandlerFunc(ok))
	hit(h)
	if rec := hit(h); rec.Header().Get("X-Ratelimit-Remaining") != "0" || rec.Header().Get("X-Ratelimit-Limit") != "2" {
		t.Fatalf("most constrained: %v", rec.Header())
	}
	for range 10 {
		if rec := hit(h); rec.Code != 429 {
			t.Fatal("minute bucket empty")
		}
	}
	c.add(time.Minute)
	// The per-second bucket was not charged by the rejections: 2 pass.
	for range 2 {
		if rec := hit(h); rec.Code != 200 {
			t.Fatal("after a minute")
		}
	}
}

func TestConcurrentRequestsNeverExceedTheBucket(t *testing.T) {
	c := newClock()
	mw, _ := New(Spec{Limits: []Limit{{MaxTokens: 100, TokensPerFill: 1, FillInterval: time.Hour}}, Now: c.now})
	h := mw(http.HandlerFunc(ok))
	var passed atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if hit(h).Code == 200 {
					passed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if passed.Load() != 100 {
		t.Fatalf("%d passed, want 100", passed.Load())
	}
}

func TestConditional(t *testing.T) {
	c := newClock()
	mw, err := New(Spec{Now: c.now, Conditional: []Entry{
		{Condition: `request.headers["x-tier"] == "free"`, Limits: []Limit{{MaxTokens: 1, TokensPerFill: 1, FillInterval: time.Hour}}},
		{Condition: `request.headers["x-tier"] == "gold"`, Limits: []Limit{{MaxTokens: 3, TokensPerFill: 1, FillInterval: time.Hour}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(ok))
	if hit(h, "X-Tier", "free").Code != 200 || hit(h, "X-Tier", "free").Code != 429 {
		t.Fatal("free tier")
	}
	if hit(h, "X-Tier", "gold").Code != 200 {
		t.Fatal("gold tier has its own bucket")
	}
	if hit(h, "X-Tier", "none").Code != 200 {
		t.Fatal("no entry matches: unlimited")
	}
	if rec := hit(h); rec.Code != 403 {
		t.Fatalf("condition error (no header): %d, want 403", rec.Code)
	}
}

func TestInvalidSpecs(t *testing.T) {
	for name, s := range map[string]Spec{
		"empty":          {},
		"zero max":       {Limits: []Limit{{MaxTokens: 0, TokensPerFill: 1, FillInterval: time.Second}}},
		"zero fill":      {Limits: []Limit{{MaxTokens: 1, TokensPerFill: 0, FillInterval: time.Second}}},
		"zero interval":  {Limits: []Limit{{MaxTokens: 1, TokensPerFill: 1}}},
		"bad condition":  {Conditional: []Entry{{Condition: "request.", Limits: []Limit{{1, 1, time.Second}}}}},
		"early fallback": {Conditional: []Entry{{Limits: []Limit{{1, 1, time.Second}}}, {Condition: "true", Limits: []Limit{{1, 1, time.Second}}}}},
	} {
		if _, err := New(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
