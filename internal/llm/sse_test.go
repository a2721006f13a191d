package llm

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSSEReader(t *testing.T) {
	in := ": keep-alive\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata: {\"x\":1}\n\ndata:no-space\nid: 7\n\nevent: tail\ndata: last"
	r := NewSSEReader(strings.NewReader(in), 0)
	want := []SSEEvent{{"a", []byte("one\ntwo")}, {"", []byte(`{"x":1}`)}, {"", []byte("no-space")}, {"tail", []byte("last")}}
	for i, w := range want {
		ev, err := r.Next()
		if err != nil || ev.Name != w.Name || !bytes.Equal(ev.Data, w.Data) {
			t.Fatalf("event %d: %q %q %v, want %q %q", i, ev.Name, ev.Data, err, w.Name, w.Data)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestSSELargeLines(t *testing.T) {
	big := strings.Repeat("x", 4<<20) // 4 MiB: delivered intact (H-32)
	r := NewSSEReader(strings.NewReader("data: "+big+"\n\n"), 0)
	ev, err := r.Next()
	if err != nil || len(ev.Data) != len(big) {
		t.Fatalf("4 MiB line: %d bytes, %v", len(ev.Data), err)
	}
	r = NewSSEReader(strings.NewReader("data: "+strings.Repeat("x", 2<<20)+"\n\n"), 1<<20)
	if _, err := r.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("over the cap: %v", err)
	}
}

func TestAppendSSE(t *testing.T) {
	got := string(AppendSSE(nil, "e", []byte("a\nb")))
	if got != "event: e\ndata: a\ndata: b\n\n" {
		t.Fatalf("%q", got)
	}
	r := NewSSEReader(strings.NewReader(got), 0)
	if ev, _ := r.Next(); ev.Name != "e" || string(ev.Data) != "a\nb" {
		t.Fatalf("round trip: %+v", ev)
	}
}

func TestRetryAfter(t *testing.T) {
	for hdr, want := range map[[2]string]time.Duration{
		{"Retry-After", "2"}:          2 * time.Second,
		{"Retry-After-Ms", "1500"}:    1500 * time.Millisecond,
		{"X-Ms-Retry-After-Ms", "10"}: 10 * time.Millisecond,
		{"Retry-After", "-1"}:         0,
		{"Retry-After", "soon"}:       0,
	} {
		h := http.Header{}
		h.Set(hdr[0], hdr[1])
		if got := RetryAfter(h); got != want {
			t.Errorf("%v: %v, want %v", hdr, got, want)
		}
	}
	h := http.Header{"Retry-After": {time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)}}
	if got := RetryAfter(h); got < 50*time.Second || got > 61*time.Second {
		t.Errorf("HTTP date: %v", got)
	}
}

// FuzzSSE: the SSE reader never panics, never loops, and re-encoding what
// it read parses back to the same events.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{"data: x\n\n", "event: a\ndata: 1\ndata: 2\n\n", ":c\r\n\r\ndata:[DONE]", "data", "\n\n\n", "event: e\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewSSEReader(bytes.NewReader(b), 1<<16)
		var evs []SSEEvent
		for range len(b) + 2 {
			ev, err := r.Next()
			if err != nil {
				break
			}
			evs = append(evs, SSEEvent{ev.Name, bytes.Clone(ev.Data)})
		}
		var out []byte
		for _, ev := range evs {
			if strings.ContainsAny(ev.Name, "\r\n") || bytes.ContainsRune(ev.Data, '\r') {
				return
			}
			out = AppendSSE(out, ev.Name, ev.Data)
		}
		r = NewSSEReader(bytes.NewReader(out), 1<<16)
		for i, want := range evs {
			ev, err := r.Next()
			if err != nil || ev.Name != want.Name || !bytes.Equal(ev.Data, want.Data) {
				t.Fatalf("event %d: %q %q %v, want %q %q", i, ev.Name, ev.Data, err, want.Name, want.Data)
			}
		}
	})
}

func TestSSEHasEvent(t *testing.T) {
	s := NewSSEReader(strings.NewReader("data: a\n\ndata: b\n\ndata: c"), 0)
	defer s.Release()
	if s.HasEvent() {
		t.Error("nothing read yet: HasEvent")
	}
	if ev, err := s.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatal(ev, err)
	}
	if !s.HasEvent() {
		t.Error("b is buffered")
	}
	if ev, err := s.Next(); err != nil || string(ev.Data) != "b" {
		t.Fatal(ev, err)
	}
	if s.HasEvent() {
		t.Error("c has no blank line yet")
	}
}
