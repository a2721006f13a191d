package telemetry

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBufferedWriterFlushesOnTickAndClose(t *testing.T) {
	var out lockedBuf
	b := NewBufferedWriter(&out, 10*time.Millisecond)
	_, _ = b.Write([]byte("one\n"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "one\n") {
		if time.Now().After(deadline) {
			t.Fatal("line never flushed by the ticker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, _ = b.Write([]byte("two\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\ntwo\n" {
		t.Fatalf("got %q", out.String())
	}
	if err := b.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestBufferedWriterConcurrentLinesStayWhole(t *testing.T) {
	var out lockedBuf
	b := NewBufferedWriter(&out, time.Hour)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				_, _ = b.Write([]byte("abcdefghij\n"))
			}
		}()
	}
	wg.Wait()
	_ = b.Close()
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if l != "abcdefghij" {
			t.Fatalf("torn line %q", l)
		}
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	lockedBuf
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return w.lockedBuf.Write(p)
}

// A flush stuck in write(2) (a full pipe) must not block the requests
// that log meanwhile: they append to the next buffer.
func TestBufferedWriterDoesNotBlockWritersDuringFlush(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	b := NewBufferedWriter(w, time.Hour)
	_, _ = b.Write([]byte("one\n"))
	flushed := make(chan error, 1)
	go func() { flushed <- b.Flush() }()
	<-w.entered // the flush holds the underlying writer
	wrote := make(chan struct{})
	go func() {
		_, _ = b.Write([]byte("two\n"))
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked behind a flush in progress")
	}
	close(w.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.String(); got != "one\ntwo\n" {
		t.Fatalf("got %q", got)
	}
}

// Lines past the buffer size are written out in order, none lost.
func TestBufferedWriterOverflowKeepsOrder(t *testing.T) {
	var out lockedBuf
	b := NewBufferedWriter(&out, time.Hour)
	var want strings.Builder
	for i := 0; i < 20000; i++ {
		line := strings.Repeat("x", i%50) + "|" + string(rune('a'+i%26)) + "\n"
		want.WriteString(line)
		_, _ = b.Write([]byte(line))
	}
	_ = b.Close()
	if out.String() != want.String() {
		t.Fatalf("lines lost or reordered: got %d bytes, want %d", len(out.String()), want.Len())
	}
}

// slowWriter makes every write(2) slow, so buffers fill while others are
// being written: the hand-off and the back-pressure paths both run.
type slowWriter struct{ lockedBuf }

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return w.lockedBuf.Write(p)
}

func TestBufferedWriterSlowWriterKeepsEveryLineInOrder(t *testing.T) {
	w := &slowWriter{}
	b := NewBufferedWriter(w, time.Millisecond)
	const writers, lines = 8, 3000
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				_, _ = fmt.Fprintf(b, "g%d %06d %s\n", g, i, strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	for _, l := range strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n") {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d %d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("torn line %q", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d lines, want %d", g, n, lines)
		}
	}
}
