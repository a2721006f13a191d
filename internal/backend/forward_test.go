package backend

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Behaviours of the forwarder (forward.go) that ReverseProxy had and that
// the other tests do not pin down.

// TestForwardEarlyHints: a 103 reaches the client, by both ways the
// forwarder gets it: from the lean client directly, and from
// http.Transport through an httptrace in the outbound context.
func TestForwardEarlyHints(t *testing.T) {
	for _, lean := range []bool{true, false} {
		t.Run(map[bool]string{true: "lean client", false: "http.Transport"}[lean], func(t *testing.T) {
			testForwardEarlyHints(t, lean)
		})
	}
}

func testForwardEarlyHints(t *testing.T, lean bool) {
	up, _ := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "ok")
	})
	u := newUp(t, UpstreamSpec{Address: addr(up)})
	if !lean {
		u.tr = u.tr.(*sharedTransport).h
	}
	f := newFront(t, u)
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			hints = append(hints, h.Get("Link"))
		}
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", f.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if len(hints) != 1 || hints[0] != "</style.css>; rel=preload" {
		t.Errorf("103 not relayed: %q", hints)
	}
	if resp.Header.Get("Link") != "" {
		t.Errorf("the 103's header leaked into the final response: %v", resp.Header)
	}
}

func TestForwardRequestShape(t *testing.T) {
	up, seen := newRecorder(t, nil)
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up), AuthHeader: "Authorization: Bearer upstream"}))
	req, _ := http.NewRequest("POST", f.URL+"/p?a=1;b=2", strings.NewReader("body"))
	req.Header.Set("Te", "trailers, deflate")
	req.Header.Set("Authorization", "Bearer client")
	req.Header.Set("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.Header["User-Agent"] = nil // Go's client then sends none
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := <-seen
	if r.URL.RawQuery != "a=1" && r.URL.RawQuery != "" {
		// ReverseProxy re-encodes a query with ';' through url.ParseQuery,
		// which drops the unparsable pair.
		t.Errorf("query %q not cleaned", r.URL.RawQuery)
	}
	if got := r.Header.Values("Te"); len(got) != 1 || got[0] != "trailers" {
		t.Errorf("Te = %q, want only trailers", got)
	}
	if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer upstream" {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Header.Values("X-Multi"); len(got) != 2 {
		t.Errorf("X-Multi = %q", got)
	}
	if ua, ok := r.Header["User-Agent"]; ok && len(ua) > 0 && ua[0] != "" {
		t.Errorf("default User-Agent added: %q", ua)
	}
}

func TestForwardHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"a=1&b=2": "a=1&b=2", "a=%20": "a=%20", "": "", "a=1;b=2": "", "a=%zz&b=1": "b=1", "a=%2": "",
	} {
		if got := cleanQueryParams(in); got != want {
			t.Errorf("cleanQueryParams(%q) = %q, want %q", in, got, want)
		}
	}
	for ct, want := range map[string]bool{
		"text/event-stream": true, "Text/Event-Stream; charset=utf-8": true, " text/event-stream ;x": true,
		"text/plain": false, "": false, "text/event-streamx": false,
	} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if got := isEventStream(h); got != want {
			t.Errorf("isEventStream(%q) = %v", ct, got)
		}
	}
	for _, c := range []struct {
		conn, up string
		want     bool
	}{{"Upgrade", "websocket", true}, {"keep-alive, upgrade", "h2c", true}, {"Upgrade", "", false}, {"close", "websocket", false}} {
		h := http.Header{"Connection": {c.conn}}
		if c.up != "" {
			h.Set("Upgrade", c.up)
		}
		if got := isUpgrade(h); got != c.want {
			t.Errorf("isUpgrade(%q, %q) = %v", c.conn, c.up, got)
		}
	}
}

// TestForwardRecordReuse: forward records go back to their pool after a
// bodiless request the lean client carried, and nothing of one request
// shows in another: many concurrent GETs and POSTs (whose records are
// never reused), each checked against its own path, header and body.
// Under -race a record still in use when reused would also be reported.
func TestForwardRecordReuse(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Id", r.Header.Get("X-Id"))
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	}))
	t.Cleanup(up.Close)
	u := newUp(t, UpstreamSpec{Address: addr(up)})
	f := newFront(t, u)
	sendTagged(t, http.DefaultClient, 100, func(id string, i int) (*http.Request, string) {
		if i%3 == 0 {
			req, _ := http.NewRequest("POST", f.URL+"/post/"+id, strings.NewReader("body-"+id))
			return req, "POST /post/" + id + " body-" + id
		}
		req, _ := http.NewRequest("GET", f.URL+"/get/"+id, nil)
		return req, "GET /get/" + id + " "
	})
}

// TestForwardRecordReuseStress: recycled forward records under 103 Early
// Hints, upstreams closing keep-alive connections and swallowed 503s that
// are retried; every answer must carry its own request's path and id.
func TestForwardRecordReuseStress(t *testing.T) {
	var n atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if i%3 == 0 {
			w.Header().Set("Link", "</x>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
		}
		if i%5 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("X-Echo-Id", r.Header.Get("X-Id"))
		w.Header().Set("X-Path", r.URL.Path)
		if i%7 == 0 && r.Header.Get("X-Retry-Attempt") == "" {
			w.WriteHeader(503)
		}
		fmt.Fprint(w, r.URL.Path)
	}))
	t.Cleanup(up.Close)
	u := newUp(t, UpstreamSpec{Address: addr(up)})
	f := retrySvc(t, RetrySpec{Codes: []int{503}}, u)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr}
	sendTagged(t, cl, 200, func(id string, _ int) (*http.Request, string) {
		req, _ := http.NewRequest("GET", f.URL+"/p/"+id, nil)
		return req, "/p/" + id
	})
}

// sendTagged sends n requests from each of 8 goroutines, each tagged with
// its own X-Id, and checks every answer: the body mk said to expect and
// the X-Id echoed back (X-Echo-Id).
func sendTagged(t *testing.T, cl *http.Client, n int, mk func(id string, i int) (*http.Request, string)) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				id := fmt.Sprintf("%d-%d", g, i)
				req, want := mk(id, i)
				req.Header.Set("X-Id", id)
				resp, err := cl.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != want || resp.Header.Get("X-Echo-Id") != id {
					t.Errorf("request %s: %d %q (X-Echo-Id %q), want %q", id, resp.StatusCode, b, resp.Header.Get("X-Echo-Id"), want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
