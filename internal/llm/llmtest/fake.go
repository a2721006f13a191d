// Package llmtest holds local fake LLM providers for tests. Each fake
// follows its provider's published wire format (the document is named on
// each handler) closely enough for the official SDKs and the gateway's
// translators: auth headers, bodies, SSE event names and order, error
// shapes. Knobs make a fake fail (status errors, in-band stream errors,
// streams cut before their terminal event) so failover can be exercised.
package llmtest

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Recorded is one request a fake received.
type Recorded struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// Fake is a fake provider server.
type Fake struct {
	*httptest.Server
	// Key is the credential the fake requires ("" = any).
	Key string
	// Model is reported as the answering model ("" = the request's).
	Model string

	mu    sync.Mutex
	reqs  []Recorded
	knobs Knobs
}

// Knobs change a fake's behaviour while it runs (set them with Set).
type Knobs struct {
	// Fail, when set and returning true, has answered the request itself
	// (n counts requests from 1).
	Fail func(w http.ResponseWriter, r *http.Request, n int) bool
	// CutAfter > 0 breaks a stream after that many text deltas, without its
	// terminal event.
	CutAfter int
	// ToolCall makes the model call the first offered tool.
	ToolCall bool
}

// Set replaces the knobs; safe while requests are being served.
func (f *Fake) Set(k Knobs) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.knobs = k
}

func newFake(t testing.TB, h func(f *Fake) http.HandlerFunc) *Fake {
	f := &Fake{}
	f.Server = httptest.NewUnstartedServer(h(f))
	tlsMu.Lock()
	useTLS := tlsFakes[t]
	tlsMu.Unlock()
	if useTLS {
		f.StartTLS()
	} else {
		f.Start()
	}
	t.Cleanup(f.Close)
	return f
}

// tlsFakes marks tests whose next fakes serve TLS (see WithTLS).
var (
	tlsMu    sync.Mutex
	tlsFakes = map[testing.TB]bool{}
)

// WithTLS runs start (which creates fakes) so that its fakes serve HTTPS
// with httptest's certificate (valid for 127.0.0.1; see CertPEM).
func WithTLS(t testing.TB, start func() *Fake) *Fake {
	tlsMu.Lock()
	tlsFakes[t] = true
	tlsMu.Unlock()
	defer func() {
		tlsMu.Lock()
		delete(tlsFakes, t)
		tlsMu.Unlock()
	}()
	return start()
}

// CertPEM is the PEM of the fake's TLS certificate (to trust it).
func (f *Fake) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
}

// Host is the fake's host:port.
func (f *Fake) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(f.URL, "http://"), "https://")
}

// Requests returns what the fake received so far.
func (f *Fake) Requests() []Recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Recorded(nil), f.reqs...)
}

// Count is the number of requests received.
func (f *Fake) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// record stores the request and runs Fail; true means it was answered.
func (f *Fake) record(w http.ResponseWriter, r *http.Request) (map[string]any, Knobs, bool) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, Recorded{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	n := len(f.reqs)
	k := f.knobs
	f.mu.Unlock()
	if k.Fail != nil && k.Fail(w, r, n) {
		return nil, k, true
	}
	return body, k, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func sse(w http.ResponseWriter, name string, v any) {
	b, _ := json.Marshal(v)
	if name != "" {
		_, _ = io.WriteString(w, "event: "+name+"\n")
	}
	_, _ = io.WriteString(w, "data: "+string(b)+"\n\n")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// Reply is the text a fake answers: it echoes the last user text.
func Reply(lastUser string) string { return "Hello from the fake! You said: " + lastUser }

// words splits a reply into stream deltas.
func words(s string) []string {
	var out []string
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			w = " " + w
		}
		out = append(out, w)
	}
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// lastUserText finds the text of the last user message of an OpenAI or
// Anthropic body (content as a string or as text parts/blocks).
func lastUserText(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		m, _ := msgs[i].(map[string]any)
		if str(m, "role") != "user" {
			continue
		}
		switch c := m["content"].(type) {
		case string:
			return c
		case []any:
			for _, p := range c {
				pm, _ := p.(map[string]any)
				if t := str(pm, "text"); t != "" && (str(pm, "type") == "text") {
					return t
				}
			}
		}
	}
	return ""
}

// CutConn drops the connection abruptly (a broken upstream).
func CutConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
		}
	}
}

// Status returns a Fail func answering the next times requests (0 =
// all) with status and body, plus headers given as name, value pairs.
func Status(times, status int, body string, hdr ...string) func(http.ResponseWriter, *http.Request, int) bool {
	var mu sync.Mutex
	seen := 0
	return func(w http.ResponseWriter, _ *http.Request, _ int) bool {
		mu.Lock()
		seen++
		n := seen
		mu.Unlock()
		if times > 0 && n > times {
			return false
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		return true
	}
}
