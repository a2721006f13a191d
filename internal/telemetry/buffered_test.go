package telemetry

import (
	"bytes"
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
