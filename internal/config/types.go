// Package config holds the user-facing configuration language: agentgateway's
// YAML format (binds → listeners → routes → backends, with policies at each
// level, plus the simplified top-level `llm:` and `mcp:` forms).
//
// The types here mirror agentgateway's keys one for one so that its users'
// files load unchanged. Decoding is strict (see decode.go): an unknown key,
// a wrong type or a missing required field is an error that names the field
// path, the line and the column.
//
// Decoder conventions used by these types:
//   - `yaml:"key"` names the key; a pointer field is optional.
//   - `required:"true"` marks a key that must be present.
//   - A type with a method `oneOf()` must have exactly one of its fields set.
//   - A type implementing NodeDecoder decodes itself (unions of a string and an object, etc.).
package config

// Config is the root of a config file.
type Config struct {
	Config  *Settings      `yaml:"config"`
	Binds   []Bind         `yaml:"binds"`
	LLM     *LLMConfig     `yaml:"llm"`
	MCP     *SimpleMCP     `yaml:"mcp"`
	Unbuilt map[string]Raw `yaml:"-"` // top-level agentgateway keys this gateway does not serve yet (set by the decoder)
}

// Settings is the `config:` block: process-wide settings.
type Settings struct {
	AdminAddr     *string  `yaml:"adminAddr"`
	StatsAddr     *string  `yaml:"statsAddr"`
	ReadinessAddr *string  `yaml:"readinessAddr"`
	Logging       *Logging `yaml:"logging"`
	Tracing       *Tracing `yaml:"tracing"`
	Session       *Session `yaml:"session"`
	// ConnectionTerminationDeadline bounds how long SIGTERM waits for in-flight requests.
	ConnectionTerminationDeadline    *Duration `yaml:"connectionTerminationDeadline"`
	ConnectionMinTerminationDeadline *Duration `yaml:"connectionMinTerminationDeadline"`
}

// Logging is `config.logging`.
type Logging struct {
	Level  *StringOrList `yaml:"level"`
	Format *string       `yaml:"format"` // text | json
	Filter *string       `yaml:"filter"`
	Fields *Fields       `yaml:"fields"`
}

// Fields adds (CEL) or removes access-log/trace fields.
type Fields struct {
	Add    map[string]string `yaml:"add"`
	Remove []string          `yaml:"remove"`
}

// Tracing is `config.tracing` (served by a later issue; parsed and validated now).
type Tracing struct {
	OTLPEndpoint   *string           `yaml:"otlpEndpoint"`
	Headers        map[string]string `yaml:"headers"`
	OTLPProtocol   *string           `yaml:"otlpProtocol"` // grpc | http
	Fields         *Fields           `yaml:"fields"`
	RandomSampling *Raw              `yaml:"randomSampling"` // bool, float or CEL string
	ClientSampling *Raw              `yaml:"clientSampling"`
	Path           *string           `yaml:"path"`
}

// Session is `config.session`.
type Session struct {
	Key string `yaml:"key" required:"true"`
}

// Bind is one port the gateway listens on.
type Bind struct {
	Port      int        `yaml:"port" required:"true"`
	Listeners []Listener `yaml:"listeners" required:"true"`
}

// Listener is one listener of a bind.
type Listener struct {
	Name     *string    `yaml:"name"`
	Hostname *string    `yaml:"hostname"`
	Protocol *string    `yaml:"protocol"` // HTTP (default) | HTTPS | TLS | TCP | HBONE
	TLS      *ServerTLS `yaml:"tls"`
	Routes   []Route    `yaml:"routes"`
}

// ServerTLS is a listener's TLS settings.
type ServerTLS struct {
	Cert *string `yaml:"cert"`
	Key  *string `yaml:"key"`
	Root *string `yaml:"root"`
}

// Route is one route of a listener.
type Route struct {
	Name      *string   `yaml:"name"`
	RuleName  *string   `yaml:"ruleName"`
	Hostnames []string  `yaml:"hostnames"`
	Matches   []Match   `yaml:"matches"`
	Policies  *Policies `yaml:"policies"`
	Backends  []Backend `yaml:"backends"`
}

// Match is one entry of `matches`: all its conditions must hold.
type Match struct {
	Path    *PathMatch `yaml:"path"`
	Headers []KeyMatch `yaml:"headers"`
	Method  *string    `yaml:"method"`
	Query   []KeyMatch `yaml:"query"`
}

// PathMatch is exactly one of exact, pathPrefix or regex.
type PathMatch struct {
	Exact      *string `yaml:"exact"`
	PathPrefix *string `yaml:"pathPrefix"`
	Regex      *string `yaml:"regex"`
}

func (PathMatch) oneOf() {}

// KeyMatch matches a header or query parameter by name.
type KeyMatch struct {
	Name  string     `yaml:"name" required:"true"`
	Value ValueMatch `yaml:"value" required:"true"`
}

// ValueMatch is exactly one of exact or regex.
type ValueMatch struct {
	Exact *string `yaml:"exact"`
	Regex *string `yaml:"regex"`
}

func (ValueMatch) oneOf() {}
