package backend

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newSvc(t testing.TB, spec ServiceSpec) http.Handler {
	t.Helper()
	s, err := NewService(spec)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return s
}

// bodyLog is an upstream that records the bodies it received and answers
// with codes[i] for the i-th request (the last code repeats).
type bodyLog struct {
	mu     sync.Mutex
	bodies []string
	retry  []string
	srv    *httptest.Server
}

func newBodyLog(t *testing.T, codes ...int) *bodyLog {
	b := &bodyLog{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		n := len(b.bodies)
		b.bodies = append(b.bodies, string(body))
		b.retry = append(b.retry, r.Header.Get("X-Retry-Attempt"))
		b.mu.Unlock()
		code := codes[min(n, len(codes)-1)]
		w.Header().Set("X-Attempt", fmt.Sprint(n+1))
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", n+1)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bodyLog) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func retrySvc(t *testing.T, spec RetrySpec, targets ...http.Handler) *front {
	var ts []Target
	for _, h := range targets {
		ts = append(ts, Target{Handler: h, Weight: 1})
	}
	return newFront(t, newSvc(t, ServiceSpec{Targets: ts, Retry: &spec}))
}

func TestRetryThenSuccess(t *testing.T) {
	up := newBodyLog(t, 503, 200)
	f := retrySvc(t, RetrySpec{Codes: []int{503}}, newUp(t, UpstreamSpec{Address: addr(up.srv)}))
	resp, body := post(t, f.URL, "hello body")
	if resp.StatusCode != 200 || body != "answer 2" || resp.Header.Get("X-Attempt") != "2" {
		t.Fatalf("got %d %q attempt header %q", resp.StatusCode, body, resp.Header.Values("X-Attempt"))
	}
	if got := up.seen(); len(got) != 2 || got[0] != "hello body" || got[1] != "hello body" {
		t.Fatalf("upstream bodies %q", got)
	}
	if up.retry[0] != "" || up.retry[1] != "1" {
		t.Errorf("X-Retry-Attempt %q", up.retry)
	}
	if info := f.info(t); info.Retries != 1 || info.Err != "" {
		t.Errorf("info retries=%d err=%q", info.Retries, info.Err)
	}
}

func TestRetryExhaustion(t *testing.T) {
	up := newBodyLog(t, 503)
	f := retrySvc(t, RetrySpec{Attempts: 2, Codes: []int{503}}, newUp(t, UpstreamSpec{Address: addr(up.srv)}))
	resp, body := post(t, f.URL, "x")
	if resp.StatusCode != 503 || body != "answer 3" {
		t.Fatalf("got %d %q, want the last upstream answer", resp.StatusCode, body)
	}
	if n := len(up.seen()); n != 3 {
		t.Fatalf("upstream saw %d requests, want 3 (attempts = retries)", n)
	}
	if info := f.info(t); info.Retries != 2 {
		t.Errorf("info.Retries = %d", info.Retries)
	}
}

func TestNoRetryOnSuccess(t *testing.T) {
	up := newBodyLog(t, 200)
	f := retrySvc(t, RetrySpec{Attempts: 3, Codes: []int{503}}, newUp(t, UpstreamSpec{Address: addr(up.srv)}))
	if resp, _ := post(t, f.URL, "x"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if n := len(up.seen()); n != 1 {
		t.Fatalf("upstream saw %d requests", n)
	}
}

func TestRetryConnectErrorOtherTarget(t *testing.T) {
	up := newBodyLog(t, 200)
	dead := newUp(t, UpstreamSpec{Name: "dead", Address: refusedAddr(t)})
	live := newUp(t, UpstreamSpec{Name: "live", Address: addr(up.srv)})
	f := retrySvc(t, RetrySpec{Codes: []int{503}}, dead, live)
	for i := 0; i < 20; i++ {
		resp, body := post(t, f.URL, "payload")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if info := f.info(t); info.Backend != "live" || info.Err != "" {
			t.Fatalf("info backend=%q err=%q", info.Backend, info.Err)
		}
	}
	for _, b := range up.seen() {
		if b != "payload" {
			t.Fatalf("body %q", b)
		}
	}
}

func TestRetryBodyTooLargeSentOnce(t *testing.T) {
	up := newBodyLog(t, 503, 200)
	f := newFront(t, newSvc(t, ServiceSpec{
		Targets:      []Target{{Handler: newUp(t, UpstreamSpec{Address: addr(up.srv)})}},
		Retry:        &RetrySpec{Codes: []int{503}},
		MaxRetryBody: 10,
	}))
	big := strings.Repeat("b", 100)
	if resp, _ := post(t, f.URL, big); resp.StatusCode != 503 {
		t.Fatalf("status %d, want the single attempt's 503", resp.StatusCode)
	}
	if got := up.seen(); len(got) != 1 || got[0] != big {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	// Chunked (unknown length) bodies are stitched back together.
	pr, pw := io.Pipe()
	go func() { io.WriteString(pw, big); pw.Close() }()
	resp, err := http.Post(f.URL, "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := up.seen(); len(got) != 2 || got[1] != big {
		t.Fatalf("chunked body: %q", got)
	}
}

// hang is an upstream that never answers until the test ends.
func hang(t *testing.T) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

func TestBackendRequestTimeout(t *testing.T) {
	h := newUp(t, UpstreamSpec{Name: "hung", Address: addr(hang(t))})
	f := newFront(t, newSvc(t, ServiceSpec{Targets: []Target{{Handler: h}}, BackendRequestTimeout: 50 * time.Millisecond}))
	resp, body := get(t, nil, f.URL)
	if resp.StatusCode != 504 || body != "upstream request timeout\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// With a retry and a second target, the timed-out attempt fails over.
	up := newBodyLog(t, 200)
	live := newUp(t, UpstreamSpec{Name: "live", Address: addr(up.srv)})
	f2 := newFront(t, newSvc(t, ServiceSpec{
		Targets:               []Target{{Handler: h, Weight: 1}, {Handler: live, Weight: 1}},
		Retry:                 &RetrySpec{Codes: []int{503}},
		BackendRequestTimeout: 300 * time.Millisecond, // the live target must beat it under -race
	}))
	for i := 0; i < 5; i++ {
		if resp, body := get(t, nil, f2.URL); resp.StatusCode != 200 {
			t.Fatalf("failover: %d %q", resp.StatusCode, body)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	h := newUp(t, UpstreamSpec{Address: addr(hang(t))})
	f := newFront(t, newSvc(t, ServiceSpec{
		Targets:        []Target{{Handler: h}},
		Retry:          &RetrySpec{Attempts: 5, Codes: []int{504}, Backoff: time.Millisecond},
		RequestTimeout: 50 * time.Millisecond,
	}))
	resp, body := post(t, f.URL, "x")
	if resp.StatusCode != 504 || body != "upstream request timeout\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

// The per-attempt timeout bounds the wait for headers, not a stream.
func TestAttemptTimeoutSparesStreams(t *testing.T) {
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "data: 2\n\n")
	}))
	defer up.Close()
	f := newFront(t, newSvc(t, ServiceSpec{
		Targets:               []Target{{Handler: newUp(t, UpstreamSpec{Address: addr(up)})}},
		BackendRequestTimeout: 20 * time.Millisecond,
	}))
	resp, err := http.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9)
	io.ReadFull(resp.Body, buf)
	time.Sleep(100 * time.Millisecond) // well past the attempt timeout
	close(next)
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(buf)+string(rest) != "data: 1\n\ndata: 2\n\n" {
		t.Fatalf("stream cut: %q%q %v", buf, rest, err)
	}
}

func TestMaxBodyBytes(t *testing.T) {
	var contacted atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contacted.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	defer up.Close()
	u := newUp(t, UpstreamSpec{Address: addr(up)})
	plain := newFront(t, newSvc(t, ServiceSpec{Targets: []Target{{Handler: u}}, MaxBodyBytes: 10}))
	retry := newFront(t, newSvc(t, ServiceSpec{Targets: []Target{{Handler: u}}, MaxBodyBytes: 10, Retry: &RetrySpec{Codes: []int{503}}}))
	for _, f := range []*front{plain, retry} {
		resp, body := post(t, f.URL, strings.Repeat("x", 11))
		if resp.StatusCode != 413 || body != "request body too large\n" {
			t.Fatalf("declared length: %d %q", resp.StatusCode, body)
		}
	}
	if contacted.Load() != 0 {
		t.Fatal("upstream contacted for an oversized body")
	}
	// Unknown length: the cap fires while streaming or buffering.
	for _, f := range []*front{plain, retry} {
		pr, pw := io.Pipe()
		go func() { io.WriteString(pw, strings.Repeat("x", 1000)); pw.Close() }()
		resp, err := http.Post(f.URL, "text/plain", pr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("chunked: %d", resp.StatusCode)
		}
	}
	if resp, _ := post(t, plain.URL, "small"); resp.StatusCode != 200 {
		t.Fatalf("small body: %d", resp.StatusCode)
	}
}

func TestWeightedChoice(t *testing.T) {
	var counts [3]atomic.Int64
	h := func(i int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { counts[i].Add(1) })
	}
	s := newSvc(t, ServiceSpec{Targets: []Target{{Handler: h(0), Weight: 1}, {Handler: h(1), Weight: 3}, {Handler: h(2), Weight: 0}}})
	const n = 8000
	for i := 0; i < n; i++ {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	a, b, c := counts[0].Load(), counts[1].Load(), counts[2].Load()
	if c != 0 {
		t.Fatalf("weight 0 chosen %d times", c)
	}
	if ratio := float64(b) / float64(a); ratio < 2.5 || ratio > 3.6 {
		t.Fatalf("ratio %.2f (a=%d b=%d), want about 3", ratio, a, b)
	}
	// All-zero weights: uniform.
	for i := range counts {
		counts[i].Store(0)
	}
	s = newSvc(t, ServiceSpec{Targets: []Target{{Handler: h(0)}, {Handler: h(1)}}})
	for i := 0; i < 2000; i++ {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	if counts[0].Load() < 800 || counts[1].Load() < 800 {
		t.Fatalf("uniform: %d / %d", counts[0].Load(), counts[1].Load())
	}
}

func TestServiceSpecValidation(t *testing.T) {
	ok := http.NotFoundHandler()
	for _, s := range []ServiceSpec{
		{},
		{Targets: []Target{{}}},
		{Targets: []Target{{Handler: ok, Weight: -1}}},
		{Targets: []Target{{Handler: ok}}, Retry: &RetrySpec{Codes: []int{99}}},
		{Targets: []Target{{Handler: ok}}, Retry: &RetrySpec{Attempts: 300}},
		{Targets: []Target{{Handler: ok}}, RequestTimeout: -1},
	} {
		if _, err := NewService(s); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
}

// A retried attempt's client going away ends the loop without a write.
func TestRetryClientGone(t *testing.T) {
	var n atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cancel()
		w.WriteHeader(503)
	})
	s := newSvc(t, ServiceSpec{Targets: []Target{{Handler: h}}, Retry: &RetrySpec{Attempts: 3, Codes: []int{503}}})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if n.Load() != 1 || rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("attempts %d, recorder %d %q", n.Load(), rec.Code, rec.Body)
	}
}
