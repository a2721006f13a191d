package config

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Environment expansion.
//
// agentgateway passes the file through shell-style expansion before parsing.
// Here the expansion is applied to every scalar (keys and values) of the
// parsed document instead of to the raw text. For a config that means the
// same thing, with three advantages: positions stay exactly those of the
// file, comments are left alone (`# yaml-language-server: $schema=...` is
// common), and a value containing quotes or newlines cannot change the
// document's structure. A plain (unquoted) scalar is re-typed after
// expansion, so `port: $PORT` with PORT=3000 is the integer 3000.

// expandEnvString expands $VAR, ${VAR} and ${VAR:-default} in s. A `$` not
// followed by a variable name is kept as is (so `^/a$` and `$1` survive).
// It returns the names of variables that are unset and have no default.
func expandEnvString(s string, lookup func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == '{' {
			j := i + 2
			if j < len(s) && isNameStart(s[j]) {
				k := j + 1
				for k < len(s) && isNameChar(s[k]) {
					k++
				}
				name := s[j:k]
				switch {
				case k < len(s) && s[k] == '}':
					v, ok := lookup(name)
					if !ok {
						missing = append(missing, name)
					}
					b.WriteString(v)
					i = k + 1
					continue
				case strings.HasPrefix(s[k:], ":-"):
					if end := strings.IndexByte(s[k+2:], '}'); end >= 0 {
						def := s[k+2 : k+2+end]
						v, ok := lookup(name)
						if !ok || v == "" {
							v = def
						}
						b.WriteString(v)
						i = k + 2 + end + 1
						continue
					}
				}
			}
			b.WriteByte(c)
			i++
			continue
		}
		if isNameStart(s[i+1]) {
			k := i + 2
			for k < len(s) && isNameChar(s[k]) {
				k++
			}
			name := s[i+1 : k]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			b.WriteString(v)
			i = k
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), missing
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool {
	return isNameStart(c) || (c >= '0' && c <= '9')
}

// expandEnvNodes expands environment variables in every scalar under n, in
// place, and returns one error per unset variable.
func expandEnvNodes(n *yaml.Node, lookup func(string) (string, bool)) []*FieldError {
	var errs []*FieldError
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.ScalarNode:
			v, missing := expandEnvString(n.Value, lookup)
			for _, name := range missing {
				errs = append(errs, &FieldError{Line: n.Line, Col: n.Column,
					Msg: fmt.Sprintf("environment variable %s is not set", name)})
			}
			if v != n.Value {
				n.Value = v
				plain := n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|
					yaml.LiteralStyle|yaml.FoldedStyle) == 0
				if plain {
					n.Tag = "" // re-resolve: `port: $PORT` becomes an integer
				}
			}
		case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode:
			for _, c := range n.Content {
				walk(c)
			}
		}
		// Alias nodes point at nodes expanded where they are defined.
	}
	walk(n)
	return errs
}
