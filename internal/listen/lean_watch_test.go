package listen

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// TestWatchQueue: requests that outlive the delay are marked due in the
// order they started, whatever order others leave in; requests that leave
// in time never are; the timer rests once the queue is empty.
func TestWatchQueue(t *testing.T) {
	ls := newLeanServer(&http.Server{}, nil, nil)
	ls.watchDelay.Store(int64(30 * time.Millisecond))
	conns := make([]*leanConn, 6)
	for i := range conns {
		conns[i] = &leanConn{ls: ls}
	}
	due := func(c *leanConn) bool {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.timerFired
	}
	// 0..5 start; 1 and 4 leave at once (fast requests), 3 later but
	// before the delay.
	for _, c := range conns {
		c.startWatch(nil, false)
	}
	conns[1].endHandler()
	conns[4].endHandler()
	time.Sleep(5 * time.Millisecond)
	conns[3].endHandler()
	waitFor(t, "the slow requests to be due", func() bool {
		return due(conns[0]) && due(conns[2]) && due(conns[5])
	})
	for _, i := range []int{1, 3, 4} {
		if due(conns[i]) {
			t.Errorf("request %d left before the delay but was marked due", i)
		}
	}
	// A request that starts after the others' timer has been set is due
	// after its own delay, not theirs.
	late := &leanConn{ls: ls}
	start := time.Now()
	late.startWatch(nil, false)
	waitFor(t, "the late request to be due", func() bool { return due(late) })
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("the late request was due after %v, before its delay", d)
	}
	for _, c := range append(conns, late) {
		c.endHandler()
	}
	ls.wq.mu.Lock()
	empty := ls.wq.head == nil && ls.wq.tail == nil
	ls.wq.mu.Unlock()
	if !empty {
		t.Fatal("queue not empty after every request left")
	}
	waitFor(t, "the timer to rest", func() bool {
		ls.wq.mu.Lock()
		defer ls.wq.mu.Unlock()
		return !ls.wq.armed
	})
}

// TestLeanAdoptHeader: a handler can hand the lean response a whole header
// map while none is set (the forwarder gives it the upstream answer's);
// once a header is set, or the header written, the map is refused and
// nothing changes.
func TestLeanAdoptHeader(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := w.(interface{ AdoptHeader(http.Header) bool })
		switch r.URL.Path {
		case "/adopt":
			if !a.AdoptHeader(http.Header{"X-Up": {"1"}, "Content-Type": {"text/x-up"}}) {
				panic("refused on an empty header")
			}
			w.Header().Set("X-After", "2") // edits reach the adopted map
		case "/set":
			w.Header().Set("X-Set", "1")
			if a.AdoptHeader(http.Header{"X-Up": {"1"}}) {
				panic("adopted over a header already set")
			}
		case "/written":
			w.WriteHeader(http.StatusAccepted)
			if a.AdoptHeader(http.Header{"X-Up": {"1"}}) {
				panic("adopted after WriteHeader")
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
	lean := newTestServer(t, h, true, nil)
	c, br := dial(t, lean.addr)
	for _, tc := range []struct {
		path string
		want http.Header
		none []string
	}{
		{"/adopt", http.Header{"X-Up": {"1"}, "X-After": {"2"}, "Content-Type": {"text/x-up"}}, nil},
		{"/set", http.Header{"X-Set": {"1"}}, []string{"X-Up"}},
		{"/written", nil, []string{"X-Up"}},
	} {
		if _, err := io.WriteString(c, get(tc.path)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, br)
		if body != "ok" {
			t.Fatalf("%s: body %q", tc.path, body)
		}
		for k, v := range tc.want {
			if got := resp.Header.Values(k); len(got) != 1 || got[0] != v[0] {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
		for _, k := range tc.none {
			if resp.Header.Get(k) != "" {
				t.Errorf("%s: %s present", tc.path, k)
			}
		}
	}
}
