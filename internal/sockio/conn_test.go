package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ioKinds runs a test with net.Conn's own Read/Write and with Conn, so
// that each behaviour is checked against net's.
var ioKinds = []struct {
	name string
	wrap func(t *testing.T, nc net.Conn) io.ReadWriter
}{
	{"net.Conn", func(_ *testing.T, nc net.Conn) io.ReadWriter { return nc }},
	{"sockio.Conn", func(t *testing.T, nc net.Conn) io.ReadWriter {
		c := &Conn{}
		c.Init(nc)
		if supported && !c.Direct() {
			t.Fatal("Conn not direct on a TCP connection")
		}
		return c
	}},
}

// errShape is what callers look at in an I/O error.
func errShape(err error) string {
	if err == nil {
		return "nil"
	}
	var parts []string
	var oe *net.OpError
	if errors.As(err, &oe) {
		parts = append(parts, "op="+oe.Op)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		parts = append(parts, "timeout")
	}
	for _, target := range []error{io.EOF, os.ErrDeadlineExceeded, net.ErrClosed, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, target) {
			parts = append(parts, target.Error())
		}
	}
	return strings.Join(parts, ",")
}

func TestConnBehavesAsNetConn(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, c net.Conn, rw io.ReadWriter, peer net.Conn) string
	}{
		{"read waits for data", func(t *testing.T, _ net.Conn, rw io.ReadWriter, peer net.Conn) string {
			go func() {
				time.Sleep(20 * time.Millisecond)
				peer.Write([]byte("hello"))
			}()
			b := make([]byte, 16)
			n, err := rw.Read(b)
			return string(b[:n]) + " " + errShape(err)
		}},
		{"zero-length read and write", func(t *testing.T, _ net.Conn, rw io.ReadWriter, _ net.Conn) string {
			n1, err1 := rw.Read(nil)
			n2, err2 := rw.Write(nil)
			return strings.Join([]string{string(rune('0' + n1)), errShape(err1), string(rune('0' + n2)), errShape(err2)}, " ")
		}},
		{"zero-length read and write on a closed connection", func(t *testing.T, c net.Conn, rw io.ReadWriter, _ net.Conn) string {
			c.Close()
			_, err1 := rw.Read(nil)
			_, err2 := rw.Write(nil)
			return errShape(err1) + " " + errShape(err2)
		}},
		{"EOF after the peer closes", func(t *testing.T, _ net.Conn, rw io.ReadWriter, peer net.Conn) string {
			peer.Write([]byte("last"))
			peer.Close()
			b, err := io.ReadAll(rw)
			_, err2 := rw.Read(make([]byte, 1))
			return string(b) + " " + errShape(err) + " " + errShape(err2)
		}},
		{"read deadline", func(t *testing.T, c net.Conn, rw io.ReadWriter, _ net.Conn) string {
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			n, err := rw.Read(make([]byte, 1))
			return string(rune('0'+n)) + " " + errShape(err)
		}},
		{"deadline in the past", func(t *testing.T, c net.Conn, rw io.ReadWriter, peer net.Conn) string {
			peer.Write([]byte("x")) // data waiting does not beat a past deadline
			time.Sleep(10 * time.Millisecond)
			c.SetReadDeadline(time.Unix(1, 0))
			_, err := rw.Read(make([]byte, 1))
			c.SetReadDeadline(time.Time{})
			b := make([]byte, 1)
			n, err2 := rw.Read(b)
			return errShape(err) + " then " + string(b[:n]) + " " + errShape(err2)
		}},
		{"close during a blocked read", func(t *testing.T, c net.Conn, rw io.ReadWriter, _ net.Conn) string {
			go func() {
				time.Sleep(20 * time.Millisecond)
				c.Close()
			}()
			_, err := rw.Read(make([]byte, 1))
			_, err2 := rw.Write([]byte("x"))
			return errShape(err) + " " + errShape(err2)
		}},
		{"reset by the peer", func(t *testing.T, _ net.Conn, rw io.ReadWriter, peer net.Conn) string {
			peer.(*net.TCPConn).SetLinger(0)
			peer.Close()
			time.Sleep(20 * time.Millisecond)
			_, err := rw.Read(make([]byte, 1))
			return errShape(err)
		}},
		{"write to a reset connection", func(t *testing.T, _ net.Conn, rw io.ReadWriter, peer net.Conn) string {
			peer.(*net.TCPConn).SetLinger(0)
			peer.Close()
			time.Sleep(20 * time.Millisecond)
			var err error
			for i := 0; i < 3 && err == nil; i++ { // the first write may go out before the reset is seen
				_, err = rw.Write([]byte("x"))
			}
			return errShape(err)
		}},
		{"write deadline with the buffers full", func(t *testing.T, c net.Conn, rw io.ReadWriter, _ net.Conn) string {
			c.(*net.TCPConn).SetWriteBuffer(4096)
			big := make([]byte, 64<<20)
			c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := rw.Write(big) // nobody reads
			return boolStr(n > 0 && n < 64<<20) + " " + errShape(err)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, k := range ioKinds {
				c, peer := pair(t)
				got = append(got, tc.run(t, c, k.wrap(t, c), peer))
			}
			if got[0] != got[1] {
				t.Fatalf("net.Conn: %q\nsockio.Conn: %q", got[0], got[1])
			}
			t.Logf("both: %q", got[0])
		})
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestConnLargeTransfer: a write bigger than the socket buffers waits for
// room and goes out whole and in order, while the other direction runs
// concurrently on the same Conn.
func TestConnLargeTransfer(t *testing.T) {
	c, peer := pair(t)
	c.(*net.TCPConn).SetWriteBuffer(4096)
	var sc Conn
	sc.Init(c)
	msg := []byte(strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB
	var wg sync.WaitGroup
	wg.Add(2)
	var got []byte
	go func() { // the peer reads slowly, then echoes a reply
		defer wg.Done()
		buf := make([]byte, 1000)
		for len(got) < len(msg) {
			n, err := peer.Read(buf)
			if err != nil {
				t.Errorf("peer read: %v", err)
				return
			}
			got = append(got, buf[:n]...)
		}
		peer.Write([]byte("done"))
	}()
	var reply []byte
	go func() {
		defer wg.Done()
		b := make([]byte, 4)
		n, err := io.ReadFull(&sc, b)
		if err != nil {
			t.Errorf("read: %v", err)
		}
		reply = b[:n]
	}()
	n, err := sc.Write(msg)
	if n != len(msg) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	wg.Wait()
	if !bytes.Equal(got, msg) || string(reply) != "done" {
		t.Fatalf("peer got %d bytes (equal %v), reply %q", len(got), bytes.Equal(got, msg), reply)
	}
}

// TestPeekByte: the idle-connection probe tells "nothing there" (EAGAIN),
// "a byte waiting" and "closed" apart without consuming anything.
func TestPeekByte(t *testing.T) {
	if !supported || !peekSupported {
		t.Skip("no PeekByte here")
	}
	c, peer := pair(t)
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	peek := func() (n int, errno syscall.Errno) {
		raw.Read(func(fd uintptr) bool { n, errno = PeekByte(fd); return true })
		return
	}
	if n, errno := peek(); n != 0 || errno != syscall.EAGAIN {
		t.Fatalf("idle: %d, %v; want 0, EAGAIN", n, errno)
	}
	peer.Write([]byte("z"))
	time.Sleep(10 * time.Millisecond)
	if n, errno := peek(); n != 1 || errno != 0 {
		t.Fatalf("byte waiting: %d, %v", n, errno)
	}
	b := make([]byte, 1)
	if n, _ := c.Read(b); n != 1 || b[0] != 'z' {
		t.Fatalf("the peeked byte was consumed: read %q", b[:n])
	}
	peer.Close()
	time.Sleep(10 * time.Millisecond)
	if n, errno := peek(); n != 0 || errno != 0 {
		t.Fatalf("closed: %d, %v; want 0, no error", n, errno)
	}
}

// TestConnConcurrentReaders: like net.Conn's, Read may be called from
// several goroutines at once (each byte goes to exactly one of them).
func TestConnConcurrentReaders(t *testing.T) {
	c, peer := pair(t)
	var sc Conn
	sc.Init(c)
	const total = 1 << 16
	var mu sync.Mutex
	count := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 100)
			for {
				n, err := sc.Read(b)
				mu.Lock()
				count += n
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	var wwg sync.WaitGroup
	for range 4 {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			peer.Write(make([]byte, total/4))
		}()
	}
	wwg.Wait()
	peer.Close()
	wg.Wait()
	if count != total {
		t.Fatalf("read %d bytes in all, want %d", count, total)
	}
}
