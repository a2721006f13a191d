package a2a

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseMethod: the body is always given back byte for byte, and a
// method is only reported from a JSON object.
func FuzzParseMethod(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`,
		`{"method":"SendMessage"}`, `{"params":{"a":[1,2,{"b":"c"}]},"method":"x"}`, `[]`, `{`, `"str"`, ``,
	} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, body string, limit int) {
		if limit < 0 || limit > 1<<16 {
			limit = 64
		}
		m, rest := ParseMethod(strings.NewReader(body), limit)
		b, err := io.ReadAll(rest)
		if err != nil || string(b) != body {
			t.Fatalf("body changed: %q → %q", body, b)
		}
		if m != "" && !strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), "{") {
			t.Fatalf("method %q from a non-object", m)
		}
		_ = logSafe(m)
	})
}

// FuzzRewriteCard: a rewritten card is valid JSON whose http(s) interface
// URLs all point at the gateway.
func FuzzRewriteCard(f *testing.F) {
	for _, s := range []string{
		`{"url":"http://agent:9999/a","additionalInterfaces":[{"url":"https://agent/b?x=1"}]}`,
		`{"supportedInterfaces":[{"url":"http://127.0.0.1:9090"},{"url":"grpc:50051"}]}`,
		`{"url":"http://[::1]:80/%2e%2e/x"}`, `{"url":5}`, `{}`,
	} {
		f.Add(s, "/p/.well-known/agent-card.json", "/.well-known/agent-card.json")
	}
	f.Fuzz(func(t *testing.T, card, clientPath, backendPath string) {
		// Paths come from URL.EscapedPath: ASCII.
		clientPath, backendPath = (&url.URL{Path: clientPath}).EscapedPath(), (&url.URL{Path: backendPath}).EscapedPath()
		rw := NewRewriter("http", "gw:3000", clientPath, backendPath)
		out, err := rw.Rewrite([]byte(card))
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("invalid JSON out: %v", err)
		}
		check := func(v any) {
			s, ok := v.(string)
			if ok && (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) && !strings.HasPrefix(s, rw.GatewayBase) {
				t.Fatalf("url %q not at the gateway %q", s, rw.GatewayBase)
			}
		}
		check(m["url"])
		for _, k := range []string{"additionalInterfaces", "supportedInterfaces"} {
			if l, ok := m[k].([]any); ok {
				for _, it := range l {
					if o, ok := it.(map[string]any); ok {
						check(o["url"])
					}
				}
			}
		}
	})
}
