package config

import (
	"os"
	"path/filepath"
	"testing"
)

func testEnv(name string) (string, bool) {
	if name == "OPENAI_API_KEY" {
		return "sk-test", true
	}
	return "", false
}

func referenceDirs() []string {
	dirs := []string{"testdata/reference"}
	if st, err := os.Stat("../../../shared/reference-configs"); err == nil && st.IsDir() {
		dirs = append(dirs, "../../../shared/reference-configs")
	}
	return dirs
}

func TestReferenceConfigsLoad(t *testing.T) {
	for _, dir := range referenceDirs() {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no configs in %s", dir)
		}
		for _, f := range files {
			t.Run(f, func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				c, err := Load(data, testEnv)
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if err := c.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				x := Expand(c)
				if x.LLM != nil || x.MCP != nil {
					t.Fatal("Expand left a simplified form")
				}
				if len(x.Binds) == 0 {
					t.Fatal("no binds after Expand")
				}
			})
		}
	}
}

func TestLoadFile(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-file")
	c, err := LoadFile("testdata/reference/01-llm-simple.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := *c.LLM.Models[0].Params.APIKey.Inline; got != "sk-file" {
		t.Errorf("apiKey = %q", got)
	}
	if _, err := LoadFile("testdata/does-not-exist.yaml"); err == nil {
		t.Error("missing file: no error")
	}
}
