package backend

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An upstream's trailer must reach the client whether or not retries are
// configured: with retries, the first attempt is not final, and the
// forwarder's dst is the attempt's held header, not the client's.
func TestForwardTrailerWithRetries(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	}))
	t.Cleanup(up.Close)
	for _, retries := range []bool{false, true} {
		u := newUp(t, UpstreamSpec{Address: addr(up)})
		var f *front
		if retries {
			f = retrySvc(t, RetrySpec{Codes: []int{503}}, u)
		} else {
			f = newFront(t, u)
		}
		resp, err := http.Get(f.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Trailer.Get("X-Sum"); got != "42" {
			t.Errorf("retries=%v: trailer X-Sum = %q, want 42 (Trailer header %q)", retries, got, resp.Header.Values("Trailer"))
		}
	}
}
