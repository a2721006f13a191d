package sockio

import (
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"
)

// bufLedger hands out buffers and counts those taken and not given back.
type bufLedger struct {
	mu          sync.Mutex
	out, gets   int
	given, back map[*byte]bool
}

func newLedger() *bufLedger { return &bufLedger{given: map[*byte]bool{}, back: map[*byte]bool{}} }

func (l *bufLedger) get() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out++
	l.gets++
	b := make([]byte, 64)
	l.given[&b[0]] = true
	return b
}

func (l *bufLedger) put(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.given[&b[0]] || l.back[&b[0]] {
		panic("put of a buffer not handed out, or twice")
	}
	l.back[&b[0]] = true
	l.out--
}

func (l *bufLedger) outstanding() (out, gets int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out, l.gets
}

// TestReadPooled: the buffer is held only while there is data to read: a
// read waiting on an idle socket holds none, data arrives in a buffer
// from get, and EOF, a deadline or Close leave every buffer given back.
func TestReadPooled(t *testing.T) {
	for _, direct := range []bool{true, false} {
		name := "direct"
		if !direct {
			name = "net.Conn"
		}
		t.Run(name, func(t *testing.T) {
			nc, peer := pair(t)
			c := &Conn{}
			c.Init(nc)
			if !direct {
				c = &Conn{nc: nc} // no raw connection: the connection's own Read
			} else if !c.Direct() {
				t.Skip("no direct socket I/O on this platform")
			}
			l := newLedger()

			// Data already there: one buffer, the bytes in it.
			if _, err := peer.Write([]byte("first")); err != nil {
				t.Fatal(err)
			}
			p, n, err := c.ReadPooled(l.get, l.put)
			if err != nil || string(p[:n]) != "first" {
				t.Fatalf("ReadPooled = %q, %v", p[:n], err)
			}
			l.put(p)

			// Idle: the waiting read holds no buffer (direct), then data.
			type res struct {
				p   []byte
				n   int
				err error
			}
			done := make(chan res, 1)
			go func() {
				p, n, err := c.ReadPooled(l.get, l.put)
				done <- res{p, n, err}
			}()
			if direct {
				deadline := time.Now().Add(5 * time.Second)
				for out, gets := l.outstanding(); out != 0 || gets < 2; out, gets = l.outstanding() {
					if time.Now().After(deadline) {
						t.Fatalf("a read waiting on an idle socket holds %d buffers", out)
					}
					time.Sleep(time.Millisecond)
				}
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := peer.Write([]byte("second")); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil || string(r.p[:r.n]) != "second" {
				t.Fatalf("after the wait: %q, %v", r.p[:r.n], r.err)
			}
			if out, _ := l.outstanding(); out != 1 {
				t.Fatalf("%d buffers out, want the one returned", out)
			}
			l.put(r.p)

			// A deadline: a timeout error, nothing held.
			_ = nc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			if p, _, err := c.ReadPooled(l.get, l.put); p != nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("past the deadline: buffer %v, %v", p != nil, err)
			}
			_ = nc.SetReadDeadline(time.Time{})

			// EOF: nil buffer, io.EOF, nothing held.
			_ = peer.Close()
			if p, _, err := c.ReadPooled(l.get, l.put); p != nil || err != io.EOF {
				t.Fatalf("at EOF: buffer %v, %v", p != nil, err)
			}
			if out, _ := l.outstanding(); out != 0 {
				t.Fatalf("%d buffers never given back", out)
			}
		})
	}
}
