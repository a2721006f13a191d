package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm/gateway"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// lateReader is a transport that answers at once and reads the request
// body only later, as net/http's may (Go issue 46866: a RoundTripper may
// read and close the body after RoundTrip returns).
type lateReader struct{ bodies []io.ReadCloser }

const lateAnswer = `{"id":"c","object":"chat.completion","created":1,"model":"m",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`

func (l *lateReader) RoundTrip(r *http.Request) (*http.Response, error) {
	l.bodies = append(l.bodies, r.Body)
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(lateAnswer)),
		ContentLength: int64(len(lateAnswer)), Request: r}, nil
}

// TestPooledClientBodyOutlivesTheHandler: the client's chat body is read
// into a pooled buffer that is given back when the handler returns. A
// passthrough sends that buffer itself upstream, so a transport that
// reads it after the handler returned must still see the client's bytes,
// not a later request's (the body reader holds a reference until closed).
// The edited case (the target's model replaces the client's) sends a
// buffer of its own and is checked the same way.
func TestPooledClientBodyOutlivesTheHandler(t *testing.T) {
	for _, tc := range []struct {
		name, model string // model: the target's model override ("" keeps the client's)
	}{{"passthrough", ""}, {"model rewritten", "upstream-model"}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &lateReader{}
			tg := &gateway.Target{Name: "o", Provider: openai.New(openai.Spec{Model: tc.model}), Scheme: "http",
				Address: "127.0.0.1:9", Transport: tr, Key: "k"}
			h, err := gateway.New(gateway.Spec{Backends: []*gateway.Backend{{Tiers: [][]*gateway.Target{{tg}}}}})
			if err != nil {
				t.Fatal(err)
			}
			const n = 64
			sent := make([]string, n)
			for i := range n {
				// Same length every time: a recycled buffer would fit each.
				sent[i] = fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"request %04d"}]}`, i)
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(sent[i]))
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
				}
			}
			if len(tr.bodies) != n {
				t.Fatalf("%d upstream requests, want %d", len(tr.bodies), n)
			}
			for i, rc := range tr.bodies {
				b, err := io.ReadAll(rc)
				_ = rc.Close()
				want := fmt.Sprintf("request %04d", i)
				if err != nil || !strings.Contains(string(b), want) {
					t.Fatalf("upstream body %d read after its handler returned: %q, want it to hold %q", i, b, want)
				}
				if tc.model == "" && string(b) != sent[i] {
					t.Fatalf("passthrough body %d: %q, want %q", i, b, sent[i])
				}
			}
		})
	}
}
