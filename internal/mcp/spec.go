// Package mcp is the gateway's MCP layer: one MCP endpoint per route that
// federates several MCP servers ("targets") — stdio processes, streamable
// HTTP and legacy SSE servers, and OpenAPI services exposed as tools — built
// on the official Go SDK (github.com/modelcontextprotocol/go-sdk). The SDK
// does all MCP framing on both sides; this package decides which session a
// message belongs to, which target serves it and how names are rewritten.
//
// A downstream session owns one upstream session per target. Its
// Mcp-Session-Id seals (AES-256-GCM) the client's initialize parameters and
// the upstream session ids, so any gateway process holding the same key can
// resume it without a shared store. The package takes a Spec built by the
// compiler and never imports the config package.
package mcp

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/agentgw/agentgateway/internal/telemetry"
)

// Defaults (docs/mcp.md explains each).
const (
	// MaxBodyBytes caps a POSTed JSON-RPC body (413 above).
	MaxBodyBytes = 4 << 20
	// DefaultListTimeout bounds each target's answer to a fan-out list.
	DefaultListTimeout = 10 * time.Second
	// DefaultCallTimeout bounds one forwarded request (tools/call, …).
	DefaultCallTimeout = 55 * time.Second
	// DefaultInitTimeout bounds connecting and initializing one target.
	DefaultInitTimeout = 30 * time.Second
	// DefaultSessionIdle closes a session (and its stdio processes) after
	// this long without a request.
	DefaultSessionIdle = 30 * time.Minute
	// DefaultMaxProcesses bounds the stdio processes one route runs at once.
	DefaultMaxProcesses = 64
	// Delimiter joins a target name and a tool or prompt name.
	Delimiter = "_"
	// URIDelimiter joins a target name and a resource URI.
	URIDelimiter = "+"
)

// PrefixMode says when names get their target prefix.
type PrefixMode int

// Prefix modes, as agentgateway's prefixMode.
const (
	PrefixConditional PrefixMode = iota // only with more than one target
	PrefixAlways
	PrefixNever
)

// Kind is a target's transport.
type Kind int

// Target kinds.
const (
	KindStdio Kind = iota
	KindStreamable
	KindSSE
	KindOpenAPI
)

func (k Kind) String() string {
	return [...]string{"stdio", "mcp", "sse", "openapi"}[k]
}

// Spec is one MCP route, as compiled from an `mcp` backend.
type Spec struct {
	// Route identifies the route (bind/listener/route); sealed session ids
	// are bound to it.
	Route   string
	Targets []*TargetSpec
	Prefix  PrefixMode
	// FailOpen skips targets that fail (initialize, fan-out) instead of
	// failing the request.
	FailOpen  bool
	Stateless bool
	// Key is the 32-byte AES-256-GCM key sealing session ids.
	Key []byte
	// AllowedOrigins are the route's CORS origins ("*" allows any). Without
	// them only same-origin and loopback origins pass.
	AllowedOrigins []string
	// DNSRebinding requires a loopback Host and Origin.
	DNSRebinding bool
	// Authz is mcpAuthorization (nil: everything allowed): lists show only
	// the tools, prompts and resources it allows, and calls of others are
	// refused. See authz.go.
	Authz Authorizer

	ListTimeout  time.Duration
	CallTimeout  time.Duration
	InitTimeout  time.Duration
	SessionIdle  time.Duration
	MaxProcesses int

	Log     *slog.Logger
	Metrics *telemetry.MCPMetrics
}

// TargetSpec is one federated server.
type TargetSpec struct {
	Name string
	Kind Kind

	// Stdio.
	Cmd      string
	Args     []string
	Env      map[string]string
	ClearEnv bool

	// Streamable HTTP and SSE: the endpoint URL. OpenAPI: the base URL.
	URL string
	// HTTP sends upstream requests (TLS settings live in its transport).
	HTTP *http.Client
	// Headers are set on every upstream request (backendAuth, header
	// policies). The client's own headers are never forwarded.
	Headers []Header

	// OpenAPI document (JSON or YAML).
	Schema []byte
}

// Header is one header operation on upstream requests.
type Header struct {
	Name, Value string
	Op          HeaderOp
}

// HeaderOp is how a Header applies.
type HeaderOp int

// Header operations.
const (
	HeaderSet HeaderOp = iota
	HeaderAdd
	HeaderRemove
)

func (s *Spec) defaults() {
	if s.ListTimeout <= 0 {
		s.ListTimeout = DefaultListTimeout
	}
	if s.CallTimeout <= 0 {
		s.CallTimeout = DefaultCallTimeout
	}
	if s.InitTimeout <= 0 {
		s.InitTimeout = DefaultInitTimeout
	}
	if s.SessionIdle <= 0 {
		s.SessionIdle = DefaultSessionIdle
	}
	if s.MaxProcesses <= 0 {
		s.MaxProcesses = DefaultMaxProcesses
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
}

// prefixed reports whether exposed names carry the target prefix.
func (s *Spec) prefixed() bool {
	switch s.Prefix {
	case PrefixAlways:
		return true
	case PrefixNever:
		return false
	}
	return len(s.Targets) > 1
}
