package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/reference/*.yaml", "testdata/expand/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"binds:\n- port: abc\n",
		"binds:\n- port: 1\n  port: 2\n",
		"a: &a [*a]\n",
		"config: {dns: &a {x: *a}}\n",
		"binds: [{port: 1, listeners: [{routes: [{matches: [{path: {regex: '(['}}]}]}]}]\n",
		"llm: {models: [{name: a, provider: {reference: x}}]}\n",
		"mcp: {targets: [{name: a, mcp: {host: x, port: 0, path: p}}]}\n",
		"binds:\n- <<: {port: 1}\n  listeners: []\n",
		"x: ${A:-b} $B ${\n",
		"a: !!binary aGk=\n",
		"binds: [{port: 1, listeners: [{routes: [{backends: [{weight: 1}]}]}]}]\n",
		"{",
	} {
		f.Add([]byte(s))
	}
	env := func(name string) (string, bool) {
		if name == "OPENAI_API_KEY" {
			return "sk-fuzz", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data, env)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		x := Expand(c)
		if _, err := json.Marshal(Dump(x)); err != nil {
			t.Fatalf("Dump not JSON-marshalable: %v", err)
		}
	})
}
