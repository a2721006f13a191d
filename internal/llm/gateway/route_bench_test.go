package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm/gateway"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// BenchmarkLLMHandlerPlain measures one same-dialect chat request through
// the handler of a plain llm: route (model routing by name only) against a
// local upstream, so that model routing (virtual models, header matches,
// visibility) shows if it adds allocations to the plain case.
//
//	go test -run '^$' -bench LLMHandlerPlain -benchmem ./internal/llm/gateway
func BenchmarkLLMHandlerPlain(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchResponse)
	}))
	defer up.Close()
	t := &gateway.Target{Name: "up", Provider: openai.New(openai.Spec{}), Transport: http.DefaultTransport,
		Address: strings.TrimPrefix(up.URL, "http://"), Scheme: "http"}
	h, err := gateway.New(gateway.Spec{ModelRouted: true, Backends: []*gateway.Backend{
		{Name: "gpt-4o-mini", Weight: 1, Tiers: [][]*gateway.Target{{t}}},
		{Name: "other", Weight: 1, Tiers: [][]*gateway.Target{{t}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(benchRequest))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkLLMHandlerStream is BenchmarkLLMHandlerPlain for a streamed
// chat completion (role chunk, 8 content chunks, finish, usage, [DONE]).
//
//	go test -run '^$' -bench LLMHandlerStream -benchmem ./internal/llm/gateway
func BenchmarkLLMHandlerStream(b *testing.B) {
	events := benchStream()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, events)
	}))
	defer up.Close()
	t := &gateway.Target{Name: "up", Provider: openai.New(openai.Spec{}), Transport: http.DefaultTransport,
		Address: strings.TrimPrefix(up.URL, "http://"), Scheme: "http"}
	h, err := gateway.New(gateway.Spec{ModelRouted: true, Backends: []*gateway.Backend{
		{Name: "gpt-4o-mini", Weight: 1, Tiers: [][]*gateway.Target{{t}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	body := withStream(benchRequest)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.HasSuffix(rec.Body.Bytes(), []byte("data: [DONE]\n\n")) {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
