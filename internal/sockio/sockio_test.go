package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pair returns a connected loopback TCP pair: c (the side under test) and
// the peer.
func pair(t *testing.T) (c, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		p, _ := ln.Accept()
		acc <- p
	}()
	c, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer = <-acc
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

func supportedHere(t *testing.T) {
	if !supported {
		t.Skipf("no raw non-blocking write on %s", runtime.GOOS)
	}
}

// TestWriteThenAnswer: the request goes out whole, Write returns once the
// answer is readable, and the read that follows gets it.
func TestWriteThenAnswer(t *testing.T) {
	supportedHere(t)
	for _, size := range []int{1, 100, 4096} {
		c, peer := pair(t)
		var a AwaitWriter
		a.Init(c)
		if !a.Enabled() {
			t.Fatal("not enabled on a TCP connection")
		}
		req := bytes.Repeat([]byte("q"), size)
		go func() {
			got := make([]byte, size)
			if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, req) {
				t.Errorf("peer got %d bytes, err %v", len(got), err)
			}
			time.Sleep(5 * time.Millisecond) // the writer is waiting by now, usually
			io.WriteString(peer, "answer")
		}()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := a.Write(req)
		if err != nil || n != size {
			t.Fatalf("size %d: Write = %d, %v", size, n, err)
		}
		buf := make([]byte, 16)
		m, err := c.Read(buf)
		if err != nil || string(buf[:m]) != "answer" {
			t.Fatalf("size %d: read %q, %v", size, buf[:m], err)
		}
	}
}

// TestWriteFullBuffer: a message larger than the socket buffer returns a
// short count and no error; the caller sends the rest, nothing is lost or
// reordered.
func TestWriteFullBuffer(t *testing.T) {
	supportedHere(t)
	c, peer := pair(t)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	var a AwaitWriter
	a.Init(c)
	msg := []byte(strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB
	n, err := a.Write(msg)                                   // nobody reads yet: the buffers fill up
	if err != nil {
		t.Fatal(err)
	}
	if n >= len(msg) {
		t.Fatalf("Write sent all %d bytes of 1 MiB with nobody reading", n)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	if _, err := c.Write(msg[n:]); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, msg) {
		t.Fatalf("peer got %d bytes, not the message", len(b))
	}
}

// TestWriteClosedPeer: a peer that has closed draws a reset, which ends
// the wait; the error shows on Write or on the read after it, never as a
// hang until the deadline.
func TestWriteClosedPeer(t *testing.T) {
	supportedHere(t)
	c, peer := pair(t)
	peer.Close()
	// The FIN is there before Write starts (its readiness is forgotten):
	// a read now would say EOF.
	time.Sleep(10 * time.Millisecond)
	var a AwaitWriter
	a.Init(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := a.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, then err %v: want EOF or a reset, not a deadline", n, err)
	}
}

// TestWriteDeadline: with nothing coming back, the wait ends at the read
// deadline and the read that follows reports it.
func TestWriteDeadline(t *testing.T) {
	supportedHere(t)
	c, peer := pair(t)
	go io.Copy(io.Discard, peer)
	var a AwaitWriter
	a.Init(c)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := a.Write([]byte("x")); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the wait: %v, want the deadline", err)
	}
}

// TestNotASocket: on a connection without a file descriptor AwaitWriter
// does nothing and says so, and Conn is the connection's own Read and Write.
func TestNotASocket(t *testing.T) {
	c, p := net.Pipe()
	defer c.Close()
	defer p.Close()
	var a AwaitWriter
	a.Init(c)
	if a.Enabled() {
		t.Fatal("enabled on net.Pipe")
	}
	if n, err := a.Write([]byte("x")); n != 0 || err != nil {
		t.Fatalf("Write = %d, %v; want 0, nil", n, err)
	}
	var zero AwaitWriter
	if n, err := zero.Write([]byte("x")); n != 0 || err != nil {
		t.Fatalf("zero value: Write = %d, %v", n, err)
	}
	// Conn:
	var sc Conn
	sc.Init(c)
	if sc.Direct() {
		t.Fatal("direct on net.Pipe")
	}
	go p.Write([]byte("pipe"))
	buf := make([]byte, 8)
	if n, err := sc.Read(buf); string(buf[:n]) != "pipe" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	go io.Copy(io.Discard, p)
	if n, err := sc.Write([]byte("back")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}
