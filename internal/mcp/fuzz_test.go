package mcp

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseMessages: no input makes the body check panic, and what it
// accepts is JSON-RPC 2.0.
func FuzzParseMessages(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`,
		`[{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`{"jsonrpc":"2.0","id":{},"method":"x"}`, `{"jsonrpc":"1.0"}`, `[]`, `{`, `null`, `"x"`,
		strings.Repeat("[", 300),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, code, _ := parseMessages(b)
		if code == 0 && len(msgs) == 0 {
			t.Fatalf("accepted %q without a message", b)
		}
	})
}

// FuzzOpenSessionID: no id opens without the key, and none panics.
func FuzzOpenSessionID(f *testing.F) {
	s, _ := newSealer(make([]byte, 32), "r")
	good, _ := s.seal(&sealedState{PV: "2025-06-18", Up: []sealedUp{{Target: "t", ID: "x"}}})
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, id string) {
		st, err := s.open(id)
		if err == nil && id != good && st == nil {
			t.Fatal("nil state without error")
		}
		_, _ = ParseKey(id)
		_ = validSessionID(id)
	})
}

// FuzzReadEvents: no SSE body from a target makes the fast path's event
// reader panic or report an event that is not in the body.
func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
		"data: a\r\ndata: b\r\n\r\n", ": comment\n\nevent: x\ndata: y\n\n", "data", "\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = readEvents(bytes.NewReader(b), func(data []byte) (bool, error) {
			if len(data) > len(b) {
				t.Fatalf("event of %d bytes from a body of %d", len(data), len(b))
			}
			return false, nil
		})
	})
}
