package backend

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestLeanMalformedStatusFailsAtOnce (found in review): an upstream
// answers with a status line net/http refuses as soon as it reads it
// ("malformed HTTP status code") and then sends nothing more, keeping the
// connection open. http.Transport fails at once, and so must the lean
// client: headLen stops at a status line httphead.Response would not
// take, instead of waiting for the rest of a head that never comes
// (forever without ResponseHeaderTimeout, the default).
func TestLeanMalformedStatusFailsAtOnce(t *testing.T) {
	for _, status := range []string{"HTTP/1.1 abc\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 20\r\n"} {
		t.Run(status[:len(status)-2], func(t *testing.T) {
			hold := make(chan struct{})
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				if _, err := readReq(br); err != nil {
					return
				}
				_, _ = io.WriteString(c, status)
				<-hold
			})
			defer close(hold)
			try := func(rt http.RoundTripper) (time.Duration, error) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				req := mustReq(t, "GET", srv.url(), nil).WithContext(ctx)
				t0 := time.Now()
				res, err := rt.RoundTrip(req)
				if err == nil {
					res.Body.Close()
				}
				return time.Since(t0), err
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			d, err := try(tr)
			if err == nil || d > 500*time.Millisecond {
				t.Fatalf("http.Transport: %v after %v, want an error at once", err, d)
			}
			d, lerr := try(leanRT(t))
			if lerr == nil || d > 500*time.Millisecond {
				t.Fatalf("lean client: %v after %v; http.Transport: %v at once", lerr, d, err)
			}
		})
	}
}
