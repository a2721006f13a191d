package backend

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestLeanIdleHoldsNoBuffers: connections resting in the pool hold no
// reader or writer, and a reused one takes a pair again and carries every
// body shape (known length, chunked, larger than the buffer, a request
// body) byte for byte.
func TestLeanIdleHoldsNoBuffers(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 3*leanBufSize/16+7) // > the 4 KiB buffers
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(3)
	up, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold":
			arrived.Done()
			<-release
			io.WriteString(w, "held")
		case "/chunked":
			w.(http.Flusher).Flush() // no Content-Length: chunked
			io.WriteString(w, big)
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
		default:
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			io.WriteString(w, big)
		}
	})
	st := leanRT(t)
	p := st.lean.pool(addr(up))
	idleHoldNothing := func(want int) {
		t.Helper()
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.idle) != want {
			t.Fatalf("%d idle connections, want %d", len(p.idle), want)
		}
		for i, c := range p.idle {
			if c.br != nil || c.bw != nil {
				t.Fatalf("idle connection %d holds buffers (reader %v, writer %v)", i, c.br != nil, c.bw != nil)
			}
		}
	}

	// Three at once: three connections, all idle afterwards.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, got, err := do(t, st, mustReq(t, "GET", up.URL+"/hold", nil)); err != nil || got != "held" {
				t.Errorf("%q %v", got, err)
			}
		})
	}
	arrived.Wait()
	close(release)
	wg.Wait()
	idleHoldNothing(3)

	// Reused connections, one shape after another.
	for i := range 30 {
		var req *http.Request
		want := big
		switch i % 3 {
		case 0:
			req = mustReq(t, "GET", up.URL+"/length", nil)
		case 1:
			req = mustReq(t, "GET", up.URL+"/chunked", nil)
		default:
			want = fmt.Sprintf("%d:%s", i, big)
			req = mustReq(t, "POST", up.URL+"/echo", strings.NewReader(want))
		}
		_, got, err := do(t, st, req)
		if err != nil || got != want {
			t.Fatalf("request %d (%s): %d bytes, %v; want %d bytes", i, req.URL.Path, len(got), err, len(want))
		}
		idleHoldNothing(3)
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections, want the 3 first ones reused", n)
	}
}
