package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// NodeDecoder is implemented (on the pointer receiver) by types that decode
// themselves: unions of a string and an object, and the like. DecodeNode
// reports problems with d.Errorf and may decode parts with d.Decode. It is
// never called with an alias node; it is called with null nodes only for
// non-pointer fields.
type NodeDecoder interface {
	DecodeNode(d *Decoder, n *yaml.Node, path string)
}

// Decoder is the strict YAML-node decoder. It collects every error instead
// of stopping at the first, and records the position of each decoded path.
type Decoder struct {
	errs    []*FieldError
	failed  map[string]bool // paths whose value could not be decoded
	pos     map[string]Pos
	active  map[*yaml.Node]bool // alias and merge expansion in progress (cycle guard)
	visits  int
	limit   int
	aborted bool
}

func newDecoder(limit int) *Decoder {
	return &Decoder{pos: map[string]Pos{}, failed: map[string]bool{}, active: map[*yaml.Node]bool{}, limit: limit}
}

// Errorf records an error at n's position: the value at path could not be
// decoded (so Validate's findings about that path are not repeated).
func (d *Decoder) Errorf(n *yaml.Node, path, format string, args ...any) {
	d.failed[path] = true
	d.note(n, path, format, args...)
}

// note records a structural error (unknown, missing or duplicate key, one-of)
// that does not make the value at path unusable.
func (d *Decoder) note(n *yaml.Node, path, format string, args ...any) {
	fe := &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		fe.Line, fe.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, fe)
}

// Decode decodes n into out (a non-nil pointer) with the strict rules.
func (d *Decoder) Decode(n *yaml.Node, path string, out any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("config: Decoder.Decode needs a non-nil pointer")
	}
	d.decodeValue(n, path, v.Elem())
}

// Pairs returns the key/value pairs of a mapping node, with aliases, merge
// keys (`<<`) and duplicate keys handled.
func (d *Decoder) Pairs(n *yaml.Node, path string) []Pair {
	return d.pairs(n, path)
}

// Pair is one entry of a mapping.
type Pair struct {
	Key     string
	KeyNode *yaml.Node
	Value   *yaml.Node
}

// step counts work so that alias bombs cannot make decoding unbounded.
func (d *Decoder) step(n *yaml.Node, path string) bool {
	if d.aborted {
		return false
	}
	d.visits++
	if d.visits > d.limit {
		d.aborted = true
		d.Errorf(n, path, "document too large after expanding aliases (more than %d nodes)", d.limit)
		return false
	}
	return true
}

// deref follows an alias; it returns nil (after reporting) for a cycle.
func (d *Decoder) deref(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > 8 {
			d.Errorf(n, path, "bad alias *%s", n.Value)
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	if n == nil {
		return true
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return isNull(n.Alias)
	}
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe renders a node for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("string %q", v)
		case "!!int":
			return "integer " + v
		case "!!float":
			return "number " + v
		case "!!bool":
			return "boolean " + v
		default:
			return fmt.Sprintf("%q (%s)", v, n.ShortTag())
		}
	}
	return "an unsupported node"
}

// childPath appends a mapping key to a path.
func childPath(path, key string) string {
	simple := key != "" && isNameStart(key[0])
	for i := 0; simple && i < len(key); i++ {
		simple = isNameChar(key[i]) || key[i] == '-'
	}
	if !simple {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

var nodeDecoderType = reflect.TypeFor[NodeDecoder]()

func (d *Decoder) decodeValue(n *yaml.Node, path string, v reflect.Value) {
	if n == nil || !d.step(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if d.active[n] {
			d.Errorf(n, path, "alias *%s refers to itself", n.Value)
			return
		}
		t := d.deref(n, path)
		if t == nil {
			return
		}
		d.active[n] = true
		d.decodeValue(t, path, v)
		delete(d.active, n)
		return
	}
	if _, ok := d.pos[path]; !ok {
		d.pos[path] = Pos{n.Line, n.Column}
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			d.decodeValue(n.Content[0], path, v)
		}
		return
	}
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return
		}
		nv := reflect.New(v.Type().Elem())
		d.decodeValue(n, path, nv.Elem())
		v.Set(nv)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(NodeDecoder).DecodeNode(d, n, path)
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.NumMethod() == 0 {
			if r := d.raw(n, path); r != nil {
				v.Set(reflect.ValueOf(r))
			}
			return
		}
	case reflect.Struct:
		d.decodeStruct(n, path, v)
		return
	case reflect.Slice:
		if isNull(n) {
			v.SetZero()
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.Errorf(n, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decodeValue(item, indexPath(path, i), s.Index(i))
		}
		v.Set(s)
		return
	case reflect.Map:
		if isNull(n) {
			v.SetZero()
			return
		}
		if n.Kind != yaml.MappingNode {
			d.Errorf(n, path, "expected a mapping, got %s", describe(n))
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		m := reflect.MakeMap(v.Type())
		for _, p := range d.pairs(n, path) {
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decodeValue(p.Value, childPath(path, p.Key), ev)
			m.SetMapIndex(reflect.ValueOf(p.Key).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
		return
	case reflect.String:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.Errorf(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
		return
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.Errorf(n, path, "expected true or false, got %s", describe(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.Errorf(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
		return
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.Errorf(n, path, "expected an integer, got %s", describe(n))
			return
		}
		if v.OverflowInt(i) {
			d.Errorf(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
		return
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var i uint64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.Errorf(n, path, "expected a non-negative integer, got %s", describe(n))
			return
		}
		if v.OverflowUint(i) {
			d.Errorf(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetUint(i)
		return
	case reflect.Float32, reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			d.Errorf(n, path, "expected a number, got %s", describe(n))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.Errorf(n, path, "expected a finite number, got %s", n.Value)
			return
		}
		v.SetFloat(f)
		return
	}
	d.Errorf(n, path, "cannot decode into %s", v.Type())
}

// pairs lists a mapping's entries: explicit keys first (duplicates are
// errors), then keys merged with `<<` that are not explicit.
func (d *Decoder) pairs(n *yaml.Node, path string) []Pair {
	if d.active[n] {
		d.Errorf(n, path, "merge key refers to its own mapping")
		return nil
	}
	d.active[n] = true
	defer delete(d.active, n)
	var explicit, merged []Pair
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := d.deref(n.Content[i], path), n.Content[i+1]
		if kn == nil {
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			d.Errorf(kn, path, "mapping keys must be strings, got %s", describe(kn))
			continue
		}
		if kn.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(vn, path)...)
			continue
		}
		if f, dup := first[kn.Value]; dup {
			d.note(kn, path, "duplicate key %q (first defined at line %d)", kn.Value, f.Line)
			continue
		}
		first[kn.Value] = kn
		explicit = append(explicit, Pair{Key: kn.Value, KeyNode: kn, Value: vn})
	}
	for _, p := range merged {
		if _, ok := first[p.Key]; !ok {
			first[p.Key] = p.KeyNode
			explicit = append(explicit, p)
		}
	}
	return explicit
}

func (d *Decoder) mergeSources(vn *yaml.Node, path string) []Pair {
	if !d.step(vn, path) {
		return nil
	}
	src := d.deref(vn, path)
	if src == nil {
		return nil
	}
	switch src.Kind {
	case yaml.MappingNode:
		return d.pairs(src, path)
	case yaml.SequenceNode:
		var out []Pair
		seen := map[string]bool{}
		for _, item := range src.Content {
			m := d.deref(item, path)
			if m == nil || m.Kind != yaml.MappingNode {
				d.Errorf(item, path, "merge key needs a mapping or a list of mappings")
				continue
			}
			for _, p := range d.pairs(m, path) {
				if !seen[p.Key] {
					seen[p.Key] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	d.Errorf(vn, path, "merge key needs a mapping or a list of mappings, got %s", describe(src))
	return nil
}

// raw converts a node into plain Go values: map[string]any, []any, string,
// int, float64, bool or nil.
func (d *Decoder) raw(n *yaml.Node, path string) any {
	if n == nil || !d.step(n, path) {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		if d.active[n] {
			d.Errorf(n, path, "alias *%s refers to itself", n.Value)
			return nil
		}
		t := d.deref(n, path)
		if t == nil {
			return nil
		}
		d.active[n] = true
		defer delete(d.active, n)
		return d.raw(t, path)
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return d.raw(n.Content[0], path)
		}
		return nil
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range d.pairs(n, path) {
			m[p.Key] = d.raw(p.Value, childPath(path, p.Key))
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			s[i] = d.raw(item, indexPath(path, i))
		}
		return s
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int
			if n.Decode(&i) == nil {
				return i
			}
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		}
		return n.Value
	}
	return nil
}

func (d *Decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	info := getStructInfo(v.Type())
	var extra extraRawKeys
	var extraKeys []string
	if v.CanAddr() {
		if e, ok := v.Addr().Interface().(extraRawKeys); ok {
			extra, extraKeys = e, e.rawKeys()
		}
	}
	seen := map[string]bool{}
	var set []string
	unknown := false
	for _, p := range d.pairs(n, path) {
		fi := info.byKey[p.Key]
		if fi == nil {
			if extra != nil && contains(extraKeys, p.Key) {
				extra.setRaw(p.Key, Raw{Value: d.raw(p.Value, childPath(path, p.Key))})
				d.pos[childPath(path, p.Key)] = Pos{p.KeyNode.Line, p.KeyNode.Column}
				continue
			}
			cands := append(append([]string(nil), info.keys...), extraKeys...)
			d.note(p.KeyNode, path, "unknown key %q%s", p.Key, suggest(p.Key, cands))
			unknown = true
			continue
		}
		seen[p.Key] = true
		cp := childPath(path, p.Key)
		if fi.altMap != nil {
			if t := d.deref(p.Value, cp); t != nil && t.Kind == yaml.MappingNode {
				d.decodeValue(p.Value, cp, v.FieldByIndex(fi.altMap))
				set = append(set, p.Key)
				continue
			}
		}
		d.decodeValue(p.Value, cp, v.FieldByIndex(fi.index))
		if !isNull(p.Value) && !fi.oneOfSkip {
			set = append(set, p.Key)
		}
	}
	if unknown {
		// A misspelt key is the likely cause of anything missing: say it once,
		// and keep Validate quiet about the missing fields.
		for _, fi := range info.fields {
			if !seen[fi.key] {
				d.failed[childPath(path, fi.key)] = true
			}
		}
		return
	}
	for _, fi := range info.fields {
		if fi.required && !seen[fi.key] {
			d.note(n, path, "missing required key %q", fi.key)
		}
	}
	if info.oneOf {
		var names []string
		for _, fi := range info.fields {
			if !fi.oneOfSkip {
				names = append(names, fi.key)
			}
		}
		switch {
		case len(set) == 0:
			d.note(n, path, "exactly one of %s is required", strings.Join(names, ", "))
		case len(set) > 1:
			d.note(n, path, "only one of %s may be set, got %s", strings.Join(names, ", "),
				strings.Join(set, " and "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// decodeStructOneOf decodes a mapping into *out (a struct of pointer fields)
// and requires exactly one field to be set.
func (d *Decoder) decodeStructOneOf(n *yaml.Node, path string, out any) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	v := reflectValue(out)
	before := len(d.errs)
	d.decodeStruct(n, path, v)
	if len(d.errs) != before {
		return
	}
	var names, set []string
	for _, fi := range getStructInfo(v.Type()).fields {
		names = append(names, fi.key)
		if !v.FieldByIndex(fi.index).IsNil() {
			set = append(set, fi.key)
		}
	}
	switch {
	case len(set) == 0:
		d.Errorf(n, path, "exactly one of %s is required", strings.Join(names, ", "))
	case len(set) > 1:
		d.Errorf(n, path, "only one of %s may be set, got %s", strings.Join(names, ", "), strings.Join(set, " and "))
	}
}
