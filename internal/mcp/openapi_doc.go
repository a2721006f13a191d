package mcp

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The part of an OpenAPI 3.x document that an OpenAPI target turns into
// tools: servers, info.version and the paths' operations with their
// parameters and JSON request bodies, local $refs resolved. Read here
// rather than with kin-openapi, whose package init (it imports a JSON
// Schema validator that compiles every draft's metaschema at start-up)
// cost every gateway 2.3 MB of heap and 2.5 MB of binary pages whether or
// not a config had an OpenAPI target (docs/performance.md, "Memory").

// oaDoc is a loaded document.
type oaDoc struct {
	version string   // info.version
	servers []string // servers[].url
	paths   map[string]map[string]*oaOp
}

// oaOp is one operation (its path item's parameters first).
type oaOp struct {
	id, summary, description string
	params                   []*oaParam
	body                     any // the application/json request body's schema, nil = none
	bodyDesc                 string
	bodyRequired             bool
}

// oaParam is a resolved Parameter Object.
type oaParam struct {
	Name, In, Description string
	Required              bool
	Schema                any // nil = none
}

// oaMethods are the Path Item Object's operation fields.
var oaMethods = map[string]string{"get": http.MethodGet, "put": http.MethodPut, "post": http.MethodPost,
	"delete": http.MethodDelete, "options": http.MethodOptions, "head": http.MethodHead,
	"patch": http.MethodPatch, "trace": http.MethodTrace}

// maxSchemaNodes and maxDocNodes bound the nodes that $ref inlining may
// produce for one schema and for the whole document, so a document whose
// references fan out exponentially fails instead of exhausting memory.
const (
	maxSchemaNodes = 1 << 16
	maxDocNodes    = 1 << 20
)

// loadOpenAPI parses a YAML or JSON OpenAPI document. References must be
// local (#/...); a reference cycle in a schema becomes an empty schema.
func loadOpenAPI(data []byte) (*oaDoc, error) {
	var root any
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %v", err)
	}
	root = normalize(root)
	top, ok := root.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not an object")
	}
	r := &resolver{root: top}
	d := &oaDoc{paths: map[string]map[string]*oaOp{}}
	if info, ok := top["info"].(map[string]any); ok {
		d.version = str(info["version"])
	}
	if ss, ok := top["servers"].([]any); ok {
		for _, s := range ss {
			if m, ok := s.(map[string]any); ok {
				d.servers = append(d.servers, str(m["url"]))
			}
		}
	}
	paths, _ := top["paths"].(map[string]any)
	for p, v := range paths {
		if strings.HasPrefix(p, "x-") {
			continue
		}
		item, err := r.object(v, "paths."+p)
		if err != nil {
			return nil, err
		}
		common, err := r.params(item["parameters"], "paths."+p+".parameters")
		if err != nil {
			return nil, err
		}
		ops := map[string]*oaOp{}
		for k, method := range oaMethods {
			if item[k] == nil {
				continue
			}
			where := "paths." + p + "." + k
			o, err := r.object(item[k], where)
			if err != nil {
				return nil, err
			}
			op := &oaOp{id: str(o["operationId"]), summary: str(o["summary"]), description: str(o["description"])}
			own, err := r.params(o["parameters"], where+".parameters")
			if err != nil {
				return nil, err
			}
			op.params = append(append(op.params, common...), own...)
			if o["requestBody"] != nil {
				rb, err := r.object(o["requestBody"], where+".requestBody")
				if err != nil {
					return nil, err
				}
				op.bodyDesc, op.bodyRequired = str(rb["description"]), rb["required"] == true
				if content, ok := rb["content"].(map[string]any); ok {
					if mt, ok := jsonMedia(content).(map[string]any); ok {
						if op.body, err = r.schema(mt["schema"], where+".requestBody.content.schema"); err != nil {
							return nil, err
						}
						if op.body == nil {
							op.body = map[string]any{}
						}
					}
				}
			}
			ops[method] = op
		}
		d.paths[p] = ops
	}
	return d, nil
}

// jsonMedia is the Media Type Object for application/json: the exact key,
// else one naming it with parameters or in another case, else
// application/*, else */*.
func jsonMedia(content map[string]any) any {
	if v, ok := content["application/json"]; ok {
		return v
	}
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, want := range []string{"application/json", "application/*", "*/*"} {
		for _, k := range keys {
			mt, _, _ := strings.Cut(k, ";")
			if strings.EqualFold(strings.TrimSpace(mt), want) {
				return content[k]
			}
		}
	}
	return nil
}

type resolver struct {
	root              map[string]any
	nodes, schemaBase int // nodes made so far; nodes when this schema began
}

// object resolves v (a $ref or an inline object) to an object.
func (r *resolver) object(v any, where string) (map[string]any, error) {
	for range 32 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object", where)
		}
		ref, isRef := m["$ref"].(string)
		if !isRef {
			return m, nil
		}
		var err error
		if v, err = r.lookup(ref, where); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: $ref chain too long", where)
}

func (r *resolver) params(v any, where string) ([]*oaParam, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a list", where)
	}
	var out []*oaParam
	for i, e := range list {
		w := fmt.Sprintf("%s[%d]", where, i)
		m, err := r.object(e, w)
		if err != nil {
			return nil, err
		}
		p := &oaParam{Name: str(m["name"]), In: str(m["in"]), Description: str(m["description"]), Required: m["required"] == true}
		if p.Name == "" {
			return nil, fmt.Errorf("%s: a parameter needs a name", w)
		}
		if p.In == "cookie" {
			continue
		}
		if p.Schema, err = r.schema(m["schema"], w+".schema"); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// schema returns a copy of v with its local $refs inlined.
func (r *resolver) schema(v any, where string) (any, error) {
	r.schemaBase = r.nodes
	return r.inline(v, where, nil)
}

func (r *resolver) inline(v any, where string, stack []string) (any, error) {
	r.nodes++
	if r.nodes-r.schemaBase > maxSchemaNodes {
		return nil, fmt.Errorf("%s: the schema's $refs expand to more than %d nodes", where, maxSchemaNodes)
	}
	if r.nodes > maxDocNodes {
		return nil, fmt.Errorf("%s: the document's schemas expand to more than %d nodes", where, maxDocNodes)
	}
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			for _, s := range stack {
				if s == ref {
					return map[string]any{}, nil // a recursive schema: any value below here
				}
			}
			target, err := r.lookup(ref, where)
			if err != nil {
				return nil, err
			}
			return r.inline(target, where, append(stack, ref))
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			c, err := r.inline(e, where, stack)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			c, err := r.inline(e, where, stack)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

// lookup follows a local JSON pointer reference (RFC 6901).
func (r *resolver) lookup(ref, where string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("%s: $ref %q: only references within the document (#/...) are allowed", where, ref)
	}
	var cur any = r.root
	if ptr == "" {
		return cur, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("%s: $ref %q is not a JSON pointer", where, ref)
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			if cur, ok = c[tok]; !ok {
				return nil, fmt.Errorf("%s: $ref %q: no %q", where, ref, tok)
			}
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("%s: $ref %q: no item %q", where, ref, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%s: $ref %q does not resolve", where, ref)
		}
	}
	return cur, nil
}

// normalize turns YAML's maps with non-string keys (e.g. response codes)
// into string-keyed maps, so that every object is a map[string]any.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
	}
	return v
}

// str is v when it is a string, else "".
func str(v any) string {
	s, _ := v.(string)
	return s
}
