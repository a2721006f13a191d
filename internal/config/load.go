package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// LoadFile reads a config file and loads it with the process environment.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(data, os.LookupEnv)
}

// Load parses a config: YAML, then environment expansion ($VAR, ${VAR},
// ${VAR:-default}), then strict decoding, then Validate. Every problem is
// reported at once, as *Errors. lookupEnv may be nil (no variables set).
func Load(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	c := &Config{pos: map[string]Pos{}}
	root, errs := parseYAML(data)
	if len(errs) > 0 {
		return nil, asError(errs)
	}
	var decodeErrs []*FieldError
	var failed map[string]bool
	if root != nil {
		decodeErrs = append(decodeErrs, expandEnvNodes(root, lookupEnv)...)
		d := newDecoder(100_000 + 20*len(data))
		d.decodeValue(root, "", reflectValue(c))
		c.pos = d.pos
		decodeErrs = append(decodeErrs, d.errs...)
		failed = d.failed
	}
	if err := c.Validate(); err != nil {
		var verrs *Errors
		if errors.As(err, &verrs) {
			for _, ve := range *verrs {
				if !coveredBy(ve.Path, failed) {
					decodeErrs = append(decodeErrs, ve)
				}
			}
		}
	}
	if len(decodeErrs) > 0 {
		return nil, asError(decodeErrs)
	}
	return c, nil
}

// coveredBy reports whether a validation error at path concerns a field that
// already failed to decode (so the validation error would only repeat it).
func coveredBy(path string, failed map[string]bool) bool {
	for {
		if failed[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return false
		}
		path = path[:i]
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses one YAML document. It returns a nil root for an empty
// document.
func parseYAML(data []byte) (*yaml.Node, []*FieldError) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []*FieldError{yamlError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, []*FieldError{{Line: extra.Line, Col: extra.Column,
			Msg: "a config file holds one YAML document; found a second one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, []*FieldError{yamlError(err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil, nil
	}
	if root.Kind == yaml.AliasNode || root.Kind != yaml.MappingNode {
		return nil, []*FieldError{{Line: root.Line, Col: root.Column,
			Msg: fmt.Sprintf("expected a mapping at the top level (binds, llm, mcp, config, …), got %s", describe(root))}}
	}
	return root, nil
}

func yamlError(err error) *FieldError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &FieldError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
