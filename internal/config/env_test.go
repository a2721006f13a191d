package config

import (
	"reflect"
	"testing"
)

func TestExpandEnvString(t *testing.T) {
	env := func(name string) (string, bool) {
		switch name {
		case "A":
			return "alpha", true
		case "EMPTY":
			return "", true
		}
		return "", false
	}
	tests := []struct {
		in, want string
		missing  []string
	}{
		{"plain", "plain", nil},
		{"$A", "alpha", nil},
		{"x${A}y", "xalphay", nil},
		{"$A_B", "", []string{"A_B"}},
		{"${A}_B", "alpha_B", nil},
		{"${NOPE:-def}", "def", nil},
		{"${EMPTY:-def}", "def", nil},
		{"${A:-def}", "alpha", nil},
		{"${NOPE:-}", "", nil},
		{"^/a$", "^/a$", nil},
		{"$1 and $", "$1 and $", nil},
		{"${1}", "${1}", nil},
		{"${A", "${A", nil},
		{"$$A", "$alpha", nil},
		{"$NOPE and ${ALSO}", " and ", []string{"NOPE", "ALSO"}},
		{"€$A€", "€alpha€", nil},
	}
	for _, tt := range tests {
		got, missing := expandEnvString(tt.in, env)
		if got != tt.want || !reflect.DeepEqual(missing, tt.missing) {
			t.Errorf("expand(%q) = %q, %v; want %q, %v", tt.in, got, missing, tt.want, tt.missing)
		}
	}
}

func TestEnvExpansionInDocument(t *testing.T) {
	env := func(name string) (string, bool) {
		switch name {
		case "PORT":
			return "3001", true
		case "KEY":
			return "sk-\"quoted\"\nline", true
		}
		return "", false
	}
	src := `# comment with $UNSET is ignored
binds:
- port: $PORT
  listeners:
  - routes:
    - matches:
      - path: {regex: "^/v1/(.*)$"}
      backends:
      - openAI: {apiKey: "${KEY}", model: "${MODEL:-gpt-4o}"}
`
	c, err := Load([]byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Binds[0]
	if b.Port != 3001 {
		t.Errorf("port = %d", b.Port)
	}
	r := b.Listeners[0].Routes[0]
	if got := *r.Matches[0].Path.Regex; got != "^/v1/(.*)$" {
		t.Errorf("regex = %q", got)
	}
	o := r.Backends[0].OpenAI
	if *o.APIKey.Inline != "sk-\"quoted\"\nline" || *o.Model != "gpt-4o" {
		t.Errorf("openAI = %q %q", *o.APIKey.Inline, *o.Model)
	}
	if p, _ := c.Pos("binds[0].listeners[0].routes[0].backends[0].openAI.apiKey"); p != (Pos{9, 26}) {
		t.Errorf("pos = %+v", p)
	}
}
