package config

import (
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Duration is a duration string such as "10s", "1m30s" or "500ms".
type Duration struct{ time.Duration }

// DecodeNode implements NodeDecoder. A bare number is rejected: the unit
// must be written.
func (x *Duration) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.Errorf(n, path, "expected a duration string such as \"10s\" or \"1m30s\", got %s", describe(n))
		return
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		d.Errorf(n, path, "invalid duration %q (use a number with a unit: \"500ms\", \"10s\", \"1m30s\", \"2h\")", n.Value)
		return
	}
	if v < 0 {
		d.Errorf(n, path, "duration %q must not be negative", n.Value)
		return
	}
	x.Duration = v
}

// Raw holds a value this gateway keeps as-is (its shape is checked where it
// is used): map[string]any, []any, string, int, float64, bool or nil.
type Raw struct{ Value any }

// DecodeNode implements NodeDecoder.
func (r *Raw) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	r.Value = d.raw(n, path)
}

// Bytes is a body: a string, or a list of byte values.
type Bytes []byte

// DecodeNode implements NodeDecoder.
func (b *Bytes) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		*b = Bytes(n.Value)
	case n.Kind == yaml.SequenceNode:
		out := make(Bytes, 0, len(n.Content))
		for i, item := range n.Content {
			var v int
			d.decodeValue(item, indexPath(path, i), reflectValue(&v))
			if v < 0 || v > 255 {
				d.Errorf(item, indexPath(path, i), "byte value %d is out of range 0-255", v)
				continue
			}
			out = append(out, byte(v)) //nolint:gosec // checked above
		}
		*b = out
	default:
		d.Errorf(n, path, "expected a string or a list of byte values, got %s", describe(n))
	}
}

// StringOrList is a string or a list of strings.
type StringOrList []string

// DecodeNode implements NodeDecoder.
func (s *StringOrList) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		*s = StringOrList{n.Value}
	case n.Kind == yaml.SequenceNode:
		var list []string
		d.decodeValue(n, path, reflectValue(&list))
		*s = list
	default:
		d.Errorf(n, path, "expected a string or a list of strings, got %s", describe(n))
	}
}

// DecodeNode implements NodeDecoder for `{full}|{host}|{port}|"auto"|"none"`.
func (h *HostRewrite) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		switch n.Value {
		case "auto":
			h.Auto = true
		case "none":
			h.None = true
		default:
			d.Errorf(n, path, "expected \"auto\", \"none\" or one of {full}, {host}, {port}, got %s%s",
				describe(n), suggest(n.Value, []string{"auto", "none"}))
		}
		return
	}
	var v struct {
		Full *string `yaml:"full"`
		Host *string `yaml:"host"`
		Port *int    `yaml:"port"`
	}
	d.decodeStructOneOf(n, path, &v)
	h.Full, h.Host, h.Port = v.Full, v.Host, v.Port
}

// DecodeNode implements NodeDecoder for `"value"` or `{file: path}`.
func (f *FileOrInline) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		v := n.Value
		f.Inline = &v
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "expected a string or {file: path}, got %s", describe(n))
		return
	}
	var v struct {
		File string `yaml:"file" required:"true"`
	}
	d.Decode(n, path, &v)
	f.File = &v.File
}

// FileInlineOrRemote is a string (inline content), {file: path} or {url: URL}.
type FileInlineOrRemote struct {
	Inline *string
	File   *string
	URL    *string
}

// DecodeNode implements NodeDecoder.
func (f *FileInlineOrRemote) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		v := n.Value
		f.Inline = &v
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "expected a string, {file: path} or {url: URL}, got %s", describe(n))
		return
	}
	var v struct {
		File *string `yaml:"file"`
		URL  *string `yaml:"url"`
	}
	d.decodeStructOneOf(n, path, &v)
	f.File, f.URL = v.File, v.URL
}

// DecodeNode implements NodeDecoder for `"key"`, `{file: path}` or
// `{value: "key"|{file}, location: {...}}`.
func (k *BackendKey) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		for _, p := range d.pairs(n, path) {
			if p.Key == "value" || p.Key == "location" {
				var v struct {
					Value    FileOrInline  `yaml:"value" required:"true"`
					Location *AuthLocation `yaml:"location"`
				}
				d.Decode(n, path, &v)
				k.Value = v.Value
				if v.Location != nil {
					k.Location = &Raw{Value: d.raw(d.deref(mapValue(d, n, path, "location"), path), childPath(path, "location"))}
					k.Loc = v.Location
				}
				return
			}
		}
	}
	k.Value.DecodeNode(d, n, path)
}

// mapValue returns the value node of key in mapping n, or nil.
func mapValue(d *Decoder, n *yaml.Node, path, key string) *yaml.Node {
	for _, p := range d.pairs(n, path) {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// DecodeNode implements NodeDecoder: the string "copilot" or a mapping.
func (b *BackendAuth) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		if n.Value == "copilot" {
			b.Copilot = true
			return
		}
		d.Errorf(n, path, "expected \"copilot\" or a mapping, got %s", describe(n))
		return
	}
	type plain BackendAuth // no DecodeNode method
	d.Decode(n, path, (*plain)(b))
}

// DecodeNode implements NodeDecoder: a list of limits, or {conditional: [...]}.
func (l *LocalRateLimit) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.SequenceNode {
		d.Decode(n, path, &l.Limits)
		return
	}
	var v struct {
		Conditional []ConditionalRateLimit `yaml:"conditional" required:"true"`
	}
	d.Decode(n, path, &v)
	l.Conditional = v.Conditional
}

// DecodeNode implements NodeDecoder: a CEL string (allow) or {allow|deny|require: CEL}.
func (r *AuthRule) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		v := n.Value
		r.Allow = &v
		return
	}
	var v struct {
		Allow   *string `yaml:"allow"`
		Deny    *string `yaml:"deny"`
		Require *string `yaml:"require"`
	}
	d.decodeStructOneOf(n, path, &v)
	r.Allow, r.Deny, r.Require = v.Allow, v.Deny, v.Require
}

// DecodeNode implements NodeDecoder: "allow", "deny" or {denyWithStatus: N}.
func (f *ExtAuthzFailureMode) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		if n.Value != "allow" && n.Value != "deny" {
			d.Errorf(n, path, "expected \"allow\", \"deny\" or {denyWithStatus: N}, got %s%s",
				describe(n), suggest(n.Value, []string{"allow", "deny"}))
			return
		}
		f.Mode = n.Value
		return
	}
	var v struct {
		DenyWithStatus int `yaml:"denyWithStatus" required:"true"`
	}
	d.Decode(n, path, &v)
	f.Mode, f.DenyWithStatus = "denyWithStatus", v.DenyWithStatus
}
