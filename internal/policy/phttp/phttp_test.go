package phttp

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string][2]string{
		"a.test":       {"a.test", ""},
		"a.test:80":    {"a.test", "80"},
		"[::1]":        {"[::1]", ""},
		"[::1]:8080":   {"[::1]", "8080"},
		"::1":          {"::1", ""},
		"":             {"", ""},
		"[bad":         {"[bad", ""},
		"a.test:":      {"a.test", ""},
		"[fe80::1]x:1": {"[fe80::1]", ""},
	} {
		h, p := SplitHostPort(in)
		if h != want[0] || p != want[1] {
			t.Errorf("SplitHostPort(%q) = %q, %q; want %q", in, h, p, want)
		}
	}
}

type countHook struct{ n, status int }

func (c *countHook) BeforeHeaders(h http.Header, status int) {
	c.n++
	c.status = status
	h.Set("X-Hook", "1")
}

func TestWriterHookOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		write  func(w *Writer)
		status int
	}{
		{"informational then final", func(w *Writer) { w.WriteHeader(103); w.WriteHeader(201); w.WriteHeader(202) }, 201},
		{"switching protocols", func(w *Writer) { w.WriteHeader(101) }, 101},
		{"write", func(w *Writer) { _, _ = w.Write([]byte("x")); _, _ = w.Write([]byte("y")) }, 200},
		{"flush", func(w *Writer) { w.Flush(); _, _ = w.Write([]byte("x")) }, 200},
		{"nothing", func(w *Writer) {}, 200},
	} {
		rec := httptest.NewRecorder()
		hook := &countHook{}
		w := NewWriter(rec, hook)
		tc.write(w)
		w.Finish()
		if hook.n != 1 || hook.status != tc.status || rec.Header().Get("X-Hook") != "1" {
			t.Errorf("%s: hook ran %d times with status %d", tc.name, hook.n, hook.status)
		}
		if w.Unwrap() != rec {
			t.Errorf("%s: Unwrap", tc.name)
		}
	}
}

func TestValidHeader(t *testing.T) {
	if !ValidHeaderName("X-Custom_1") || ValidHeaderName("a b") || ValidHeaderName("") || ValidHeaderName("a:b") {
		t.Error("ValidHeaderName")
	}
	if !ValidHeaderValue("a\tb c") || ValidHeaderValue("a\nb") || ValidHeaderValue("a\x00") || ValidHeaderValue("\x7f") {
		t.Error("ValidHeaderValue")
	}
}
