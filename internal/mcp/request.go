package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentgw/agentgateway/internal/jsonscan"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// maxJSONDepth bounds the nesting of a request body.
const maxJSONDepth = 128

// readBody reads a POSTed JSON-RPC body (at most MaxBodyBytes), rejects
// what is not JSON-RPC with a JSON-RPC error, records the access-log
// fields and puts the body back for the SDK.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]jsonrpc.Message, bool) {
	body, err := pipeline.ReadAllSized(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength, MaxBodyBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body larger than 4 MiB")
			return nil, false
		}
		pipeline.Error(w, r, http.StatusBadRequest, "cannot read the request body")
		return nil, false
	}
	msgs, code, msg := parseMessages(body)
	if code != 0 {
		writeRPCError(w, r, http.StatusBadRequest, jsonrpc.ID{}, code, msg)
		return nil, false
	}
	h.logFields(r, msgs)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return msgs, true
}

// parseMessages decodes one JSON-RPC message or a batch. It returns a
// JSON-RPC error code (parse error, invalid request) and message on failure.
func parseMessages(body []byte) ([]jsonrpc.Message, int, string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, jsonrpc.CodeInvalidRequest, "empty body"
	}
	if !jsonscan.Valid(body) {
		return nil, jsonrpc.CodeParseError, "Parse error: the body is not valid JSON"
	}
	if !depthOK(body, maxJSONDepth) {
		return nil, jsonrpc.CodeInvalidRequest, "Invalid Request: JSON nested too deeply"
	}
	var raws []json.RawMessage
	if body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil || len(raws) == 0 {
			return nil, jsonrpc.CodeInvalidRequest, "Invalid Request: empty or invalid batch"
		}
	} else {
		raws = []json.RawMessage{body}
	}
	msgs := make([]jsonrpc.Message, 0, len(raws))
	for _, raw := range raws {
		m, err := decodeMessage(raw)
		if err != "" {
			return nil, jsonrpc.CodeInvalidRequest, "Invalid Request: " + err
		}
		msgs = append(msgs, m)
	}
	return msgs, 0, ""
}

// decodeMessage decodes one JSON-RPC 2.0 message (valid JSON) as the
// SDK's decoder does (member names match exactly), and also rejects what
// that decoder would accept loosely: a version other than "2.0", a
// non-scalar id, non-structured params. It avoids the SDK's decoder,
// which allocates a 32 KiB buffer per message. The members are read in
// place when the object is plain (no member named twice, no escaped name,
// no name that differs from one of the message's only in case); other
// objects are decoded into a map, with the same outcome.
func decodeMessage(raw json.RawMessage) (jsonrpc.Message, string) {
	var v [len(messageKeys)][]byte
	if !jsonscan.Members(raw, messageKeys[:], v[:]) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, "not a JSON object"
		}
		for i, k := range messageKeys {
			v[i] = m[k]
		}
	}
	if version, ok := jsonscan.PeekString(v[0]); !ok || version != "2.0" {
		return nil, `"jsonrpc" must be "2.0"`
	}
	id, err := decodeID(v[1])
	if err != "" {
		return nil, err
	}
	if rawMethod := v[2]; rawMethod != nil {
		method, ok := jsonscan.PeekStringOrNull(rawMethod)
		if !ok {
			return nil, "not a JSON-RPC 2.0 message"
		}
		params := v[3]
		if len(params) > 0 && params[0] != '{' && params[0] != '[' && string(params) != "null" {
			return nil, `"params" must be an object or an array`
		}
		return &jsonrpc.Request{ID: id, Method: method, Params: params}, ""
	}
	if !id.IsValid() {
		return nil, "not a JSON-RPC 2.0 message"
	}
	resp := &jsonrpc.Response{ID: id, Result: v[4]}
	if e := v[5]; len(e) > 0 && string(e) != "null" {
		var we jsonrpc.Error
		if json.Unmarshal(e, &we) != nil {
			return nil, "not a JSON-RPC 2.0 message"
		}
		resp.Error = &we
	}
	return resp, ""
}

// messageKeys are the members of a JSON-RPC message, in decodeMessage's order.
var messageKeys = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}

// decodeID decodes a JSON-RPC id: absent or null (none), a string or a
// number (made an integer, as the SDK does).
func decodeID(raw json.RawMessage) (jsonrpc.ID, string) {
	if len(raw) == 0 {
		return jsonrpc.ID{}, ""
	}
	if n, ok := smallInt(raw); ok { // the usual id, without a decode into any
		id, _ := jsonrpc.MakeID(float64(n))
		return id, ""
	}
	if raw[0] == '"' {
		if s, ok := jsonscan.PeekString(raw); ok {
			id, _ := jsonrpc.MakeID(s)
			return id, ""
		}
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return jsonrpc.ID{}, "not a JSON-RPC 2.0 message"
	}
	switch v.(type) {
	case nil, string, float64:
	default:
		return jsonrpc.ID{}, `"id" must be a string, a number or null`
	}
	id, err := jsonrpc.MakeID(v)
	if err != nil {
		return jsonrpc.ID{}, "not a JSON-RPC 2.0 message"
	}
	return id, ""
}

// smallInt reads a non-negative integer literal of at most 15 digits (so
// that float64 holds it exactly, as a decode into any would).
func smallInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// depthOK reports whether JSON nests at most max levels (strings skipped).
func depthOK(b []byte, max int) bool {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return true
}

// logFields adds mcp.method, mcp.tool and mcp.target to the access log.
func (h *Handler) logFields(r *http.Request, msgs []jsonrpc.Message) {
	if len(msgs) == 0 {
		return
	}
	req, ok := msgs[0].(*jsonrpc.Request)
	if !ok {
		return
	}
	info := pipeline.InfoFrom(r.Context())
	info.AddField("mcp.method", req.Method)
	var p struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	if len(req.Params) > 0 {
		var v [2][]byte
		var ok1, ok2 bool
		if jsonscan.TopLevelValues(req.Params, logKeys[:], v[:]) {
			p.Name, ok1 = jsonscan.PeekStringOrNull(v[0])
			p.URI, ok2 = jsonscan.PeekStringOrNull(v[1])
		}
		if !ok1 || !ok2 {
			p.Name, p.URI = "", ""
			_ = json.Unmarshal(req.Params, &p)
		}
	}
	name := p.Name
	if req.Method == "tools/call" && name != "" {
		info.AddField("mcp.tool", name)
	}
	delim := Delimiter
	if name == "" {
		name, delim = p.URI, URIDelimiter
	}
	if name == "" {
		return
	}
	if !h.spec.prefixed() {
		if len(h.spec.Targets) == 1 {
			info.AddField("mcp.target", h.spec.Targets[0].Name)
		}
		return
	}
	for _, t := range h.spec.Targets {
		if strings.HasPrefix(name, t.Name+delim) {
			info.AddField("mcp.target", t.Name)
			return
		}
	}
}

// logKeys are the params members logFields reads.
var logKeys = [...]string{"name", "uri"}

// checkOrigin enforces the MCP transport rules: a browser Origin must be
// allowed (the route's CORS origins, else same-origin or loopback), and a
// request reaching a loopback listener must name a loopback Host (DNS
// rebinding). With dnsRebindingProtection every listener is checked and
// the Origin must be loopback too.
func (h *Handler) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	localLoopback := false
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		localLoopback = isLoopback(a.String())
	}
	if (localLoopback || h.spec.DNSRebinding) && !isLoopback(r.Host) {
		pipeline.Error(w, r, http.StatusForbidden, "Forbidden: Host is not allowed on this MCP endpoint")
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	ok := err == nil && u.Host != ""
	if ok {
		switch {
		case h.spec.DNSRebinding:
			ok = isLoopback(u.Host)
		case slices.Contains(h.spec.AllowedOrigins, "*") || slices.Contains(h.spec.AllowedOrigins, origin):
		case strings.EqualFold(u.Host, r.Host):
		case isLoopback(u.Host) && isLoopback(r.Host):
		default:
			ok = false
		}
	}
	if !ok {
		pipeline.Error(w, r, http.StatusForbidden, "Forbidden: Origin is not allowed on this MCP endpoint")
	}
	return ok
}

// isLoopback reports whether a host or host:port names the local machine.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// liveHandlers lets a server shutdown (SIGTERM) end MCP sessions, so their
// long-lived streams do not hold the drain open. Upstream HTTP sessions
// stay open for a replica to resume.
type liveHandlers struct {
	mu       sync.Mutex
	handlers map[*Handler]struct{}
	servers  map[*http.Server]struct{}
}

var live = &liveHandlers{handlers: map[*Handler]struct{}{}, servers: map[*http.Server]struct{}{}}

func (l *liveHandlers) add(h *Handler) {
	l.mu.Lock()
	l.handlers[h] = struct{}{}
	l.mu.Unlock()
}

func (l *liveHandlers) remove(h *Handler) {
	l.mu.Lock()
	delete(l.handlers, h)
	l.mu.Unlock()
}

func (l *liveHandlers) watch(srv *http.Server) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.servers[srv]; ok {
		return
	}
	l.servers[srv] = struct{}{}
	srv.RegisterOnShutdown(func() {
		l.mu.Lock()
		hs := make([]*Handler, 0, len(l.handlers))
		for h := range l.handlers {
			hs = append(hs, h)
		}
		delete(l.servers, srv)
		l.mu.Unlock()
		for _, h := range hs {
			h.closeAll(true)
		}
	})
}

func accepts(values []string) (jsonOK, streamOK bool) {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return
}

func writeRPCError(w http.ResponseWriter, r *http.Request, status int, id jsonrpc.ID, code int, msg string) {
	info := pipeline.InfoFrom(r.Context())
	if info.Err == "" {
		info.Err = msg
	}
	data, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: int64(code), Message: msg}})
	if err != nil {
		data = []byte(`{"jsonrpc":"2.0","error":{"code":-32603,"message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSpace(data))
}

func firstID(msgs []jsonrpc.Message) jsonrpc.ID {
	if len(msgs) > 0 {
		if r, ok := msgs[0].(*jsonrpc.Request); ok {
			return r.ID
		}
	}
	return jsonrpc.ID{}
}
