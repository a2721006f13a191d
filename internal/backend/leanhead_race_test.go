package backend

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// TestLeanReadDirectCloseRace: Close while a fast-path body Read is
// blocked on the socket ends the Read, closes the connection, pools nothing.
func TestLeanReadDirectCloseRace(t *testing.T) {
	hold := make(chan struct{})
	srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		if _, err := readReq(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
		<-hold
	})
	defer close(hold)
	st := leanRT(t)
	for range 20 {
		res, err := st.RoundTrip(mustReq(t, "GET", srv.url(), nil))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(res.Body)
			done <- err
		}()
		time.Sleep(5 * time.Millisecond)
		res.Body.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("ReadAll of a closed, short body: no error")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Read not ended by Close")
		}
	}
	if n := st.lean.pool(srv.ln.Addr().String()).len(); n != 0 {
		t.Fatalf("%d connections pooled", n)
	}
}
