package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/expand/*.golden.json")

func dumpJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExpandGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/expand/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/expand/*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Load(data, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			before := dumpJSON(t, Dump(c))
			got := dumpJSON(t, Dump(Expand(c)))
			if after := dumpJSON(t, Dump(c)); !bytes.Equal(before, after) {
				t.Fatal("Expand modified its input")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestExpandGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Expand(%s) differs from %s:\n%s", f, golden, got)
			}
		})
	}
}

func TestDumpRedacts(t *testing.T) {
	c := mustLoad(t, `
config:
  session: {key: topsecret1}
  xdsAuthToken: topsecret2
  tracing: {headers: {authorization: topsecret3, x-ok: visible}}
binds:
- port: 1
  listeners:
  - routes:
    - policies:
        requestHeaderModifier: {set: {X-Api-Key: topsecret4, Cookie: topsecret5}}
        responseHeaderModifier: {add: {Authorization: topsecret6}}
        apiKey: {keys: [{key: topsecret7, keyHash: null}]}
        basicAuth: {htpasswd: "user:topsecret8"}
        backendAuth: {key: topsecret9}
        mcpAuthentication: {issuer: i, audiences: [a], resourceMetadata: {}, clientSecret: topsecret10}
        oidc: {clientSecret: topsecret11, clientId: visible}
      backends:
      - openAI: {apiKey: topsecret12}
      - host: localhost:1
        policies: {backendAuth: {key: {value: topsecret13, location: {header: {name: x}}}}}
      - host: localhost:2
        policies: {backendAuth: {credentials: [{location: {cookie: {name: c}}, key: topsecret14}]}}
llm:
  models: [{name: m, provider: openAI, params: {apiKey: topsecret15}}]
`)
	for _, v := range []any{Dump(c), Dump(Expand(c))} {
		out := string(dumpJSON(t, v))
		if strings.Contains(out, "topsecret") {
			t.Errorf("secret in dump:\n%s", out)
		}
		if !strings.Contains(out, "visible") || !strings.Contains(out, "<redacted>") {
			t.Errorf("dump lost too much:\n%s", out)
		}
	}
}
