package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxOpenAPIResponse caps a REST answer turned into a tool result.
const maxOpenAPIResponse = 1 << 20

// operation is one OpenAPI operation exposed as a tool.
type operation struct {
	method, path string
	params       []*oaParam
	hasBody      bool
}

// newOpenAPIServer builds an in-process MCP server whose tools are the
// document's operations: the input schema holds the path, query and header
// parameters and, as "body", the JSON request body. A call becomes a REST
// request to the target's base URL; a non-2xx answer is a tool error.
func newOpenAPIServer(t *TargetSpec) (*mcp.Server, error) {
	doc, err := loadOpenAPI(t.Schema)
	if err != nil {
		return nil, fmt.Errorf("openapi schema: %w", err)
	}
	if len(doc.paths) == 0 {
		return nil, errors.New("openapi schema has no paths")
	}
	base := strings.TrimRight(t.URL, "/")
	if base == "" && len(doc.servers) > 0 {
		base = strings.TrimRight(doc.servers[0], "/")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openapi target needs a host (an http(s) base URL), got %q", base)
	}
	client := t.HTTP
	if client == nil {
		client = &http.Client{Transport: defaultUpstream}
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: t.Name, Version: doc.version}, nil)
	seen := map[string]string{}
	paths := make([]string, 0, len(doc.paths))
	for p := range doc.paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		ops := doc.paths[p]
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			op := ops[m]
			name := toolName(op.id, m, p)
			if prev, dup := seen[name]; dup {
				return nil, fmt.Errorf("operations %s and %s %s both become tool %q", prev, m, p, name)
			}
			seen[name] = m + " " + p
			o := &operation{method: m, path: p, params: op.params}
			schema := map[string]any{"type": "object"}
			props := map[string]any{}
			var required []string
			for _, prm := range o.params {
				props[prm.Name] = schemaOf(prm.Schema, prm.Description)
				if prm.Required || prm.In == "path" {
					required = append(required, prm.Name)
				}
			}
			if op.body != nil {
				o.hasBody = true
				props["body"] = schemaOf(op.body, op.bodyDesc)
				if op.bodyRequired {
					required = append(required, "body")
				}
			}
			schema["properties"] = props
			if len(required) > 0 {
				schema["required"] = required
			}
			desc := strings.TrimSpace(op.summary + "\n\n" + op.description)
			srv.AddTool(&mcp.Tool{Name: name, Description: desc, InputSchema: schema}, o.handler(client, base, t.Headers))
		}
	}
	return srv, nil
}

// schemaOf is a parameter's or body's schema for the tool's input schema,
// with desc as its description when it has none.
func schemaOf(schema any, desc string) any {
	m, ok := schema.(map[string]any)
	if !ok {
		return map[string]any{"description": desc}
	}
	if desc != "" && m["description"] == nil {
		m["description"] = desc
	}
	return m
}

// toolName is the operationId, or method_path, reduced to [A-Za-z0-9_.-].
func toolName(opID, method, path string) string {
	n := opID
	if n == "" {
		n = strings.ToLower(method) + "_" + strings.Trim(path, "/")
	}
	var b strings.Builder
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

func (o *operation) handler(client *http.Client, base string, headers []Header) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := map[string]any{}
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				return toolError("arguments must be a JSON object"), nil
			}
		}
		path := o.path
		q := url.Values{}
		hdr := http.Header{}
		for _, p := range o.params {
			v, ok := args[p.Name]
			if !ok {
				if p.Required || p.In == "path" {
					return toolError(fmt.Sprintf("missing required parameter %q", p.Name)), nil
				}
				continue
			}
			s := scalar(v)
			switch p.In {
			case "path":
				path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(s))
			case "query":
				if arr, ok := v.([]any); ok {
					for _, e := range arr {
						q.Add(p.Name, scalar(e))
					}
				} else {
					q.Set(p.Name, s)
				}
			case "header":
				hdr.Set(p.Name, s)
			}
		}
		var body io.Reader
		if b, ok := args["body"]; ok && o.hasBody {
			raw, _ := json.Marshal(b)
			body = bytes.NewReader(raw)
		}
		u := base + path
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		hreq, err := http.NewRequestWithContext(ctx, strings.ToUpper(o.method), u, body)
		if err != nil {
			return toolError("cannot build the request: " + err.Error()), nil
		}
		for k, v := range hdr {
			hreq.Header[k] = v
		}
		if body != nil {
			hreq.Header.Set("Content-Type", "application/json")
		}
		hreq.Header.Set("Accept", "application/json")
		applyHeaders(hreq.Header, headers)
		resp, err := client.Do(hreq)
		if err != nil {
			return toolError(fmt.Sprintf("%s %s: %v", o.method, o.path, err)), nil
		}
		defer func() { _ = resp.Body.Close() }()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxOpenAPIResponse))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return toolError(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))), nil
		}
		res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(data)}}}
		var obj map[string]any
		if json.Unmarshal(data, &obj) == nil {
			res.StructuredContent = obj
		}
		return res, nil
	}
}

func toolError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

func applyHeaders(h http.Header, ops []Header) {
	for _, op := range ops {
		switch op.Op {
		case HeaderSet:
			h.Set(op.Name, op.Value)
		case HeaderAdd:
			h.Add(op.Name, op.Value)
		case HeaderRemove:
			h.Del(op.Name)
		}
	}
}
