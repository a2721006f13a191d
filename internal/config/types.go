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

import "strings"

// Config is the root of a config file.
type Config struct {
	Config  *Settings      `yaml:"config"`
	Binds   []Bind         `yaml:"binds"`
	LLM     *LLMConfig     `yaml:"llm"`
	MCP     *SimpleMCP     `yaml:"mcp"`
	Unbuilt map[string]Raw `yaml:"-"` // top-level agentgateway keys this gateway does not serve yet (set by the decoder)

	// pos maps each decoded field path (as in FieldError.Path) to its position.
	pos map[string]Pos
}

// UnbuiltTopLevelKeys are agentgateway's top-level keys that decode into
// Config.Unbuilt (as Raw values) instead of being rejected as unknown.
var UnbuiltTopLevelKeys = []string{"frontendPolicies", "policies", "workloads", "services", "backends",
	"routeGroups", "gateways", "routes", "tcpRoutes", "ui"}

func (c *Config) rawKeys() []string { return UnbuiltTopLevelKeys }

func (c *Config) setRaw(key string, r Raw) {
	if c.Unbuilt == nil {
		c.Unbuilt = map[string]Raw{}
	}
	c.Unbuilt[key] = r
}

// Pos returns the position of a decoded field path (e.g. "binds[0].port"),
// or of its nearest decoded ancestor. ok is false when nothing is known.
func (c *Config) Pos(path string) (p Pos, ok bool) {
	if c == nil || c.pos == nil {
		return Pos{}, false
	}
	for {
		if p, ok := c.pos[path]; ok {
			return p, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			p, ok := c.pos[""]
			return p, ok
		}
		path = path[:i]
	}
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

	// The other RawConfig keys. Those this gateway does not use are Raw.
	EnableIPv6              *bool            `yaml:"enableIpv6"`
	DNS                     *Raw             `yaml:"dns"`
	LocalXDSPath            *string          `yaml:"localXdsPath"`
	ModelCatalog            *Raw             `yaml:"modelCatalog"`
	Database                *Raw             `yaml:"database"`
	Storage                 *Raw             `yaml:"storage"`
	CAAddress               *string          `yaml:"caAddress"`
	CAAuthToken             *string          `yaml:"caAuthToken" redact:"true"`
	XDSAddress              *string          `yaml:"xdsAddress"`
	XDSAuthToken            *string          `yaml:"xdsAuthToken" redact:"true"`
	Spiffe                  *Raw             `yaml:"spiffe"`
	Namespace               *string          `yaml:"namespace"`
	Gateway                 *string          `yaml:"gateway"`
	TrustDomain             *string          `yaml:"trustDomain"`
	AdditionalTrustDomains  *string          `yaml:"additionalTrustDomains"`
	SkipValidateTrustDomain *bool            `yaml:"skipValidateTrustDomain"`
	ServiceAccount          *string          `yaml:"serviceAccount"`
	ClusterID               *string          `yaml:"clusterId"`
	Network                 *string          `yaml:"network"`
	StandardAttributes      *Raw             `yaml:"standardAttributes"`
	Histograms              *string          `yaml:"histograms"` // classic | native | both
	MCP                     *MCPSettings     `yaml:"mcp"`
	SensitiveHeaders        []string         `yaml:"sensitiveHeaders"`
	CustomFunctions         *string          `yaml:"customFunctions"`
	WorkerThreads           *Raw             `yaml:"workerThreads"` // string or integer
	Metrics                 *Raw             `yaml:"metrics"`
	Backend                 *BackendSettings `yaml:"backend"`
	HBONE                   *Raw             `yaml:"hbone"`
}

// MCPSettings is `config.mcp`.
type MCPSettings struct {
	SessionTTL *Duration `yaml:"sessionTtl"`
}

// BackendSettings is `config.backend`: upstream connection pool settings.
type BackendSettings struct {
	Keepalives      *Keepalives `yaml:"keepalives"`
	ConnectTimeout  *Duration   `yaml:"connectTimeout"`
	PoolIdleTimeout *Duration   `yaml:"poolIdleTimeout"`
	PoolMaxSize     *int        `yaml:"poolMaxSize"`
}

// Keepalives are TCP keepalive settings.
type Keepalives struct {
	Enabled  *bool     `yaml:"enabled"`
	Time     *Duration `yaml:"time"`
	Interval *Duration `yaml:"interval"`
	Retries  *int      `yaml:"retries"`
}

// Logging is `config.logging`.
type Logging struct {
	Level    *StringOrList `yaml:"level"`
	Format   *string       `yaml:"format"` // text | json
	Filter   *string       `yaml:"filter"`
	Fields   *Fields       `yaml:"fields"`
	Database *Raw          `yaml:"database"`
}

// Fields adds (CEL) or removes access-log/trace fields.
type Fields struct {
	Add    map[string]string `yaml:"add"`
	Remove []string          `yaml:"remove"`
}

// Tracing is `config.tracing` (served by a later issue; parsed and validated now).
type Tracing struct {
	OTLPEndpoint   *string           `yaml:"otlpEndpoint"`
	Headers        map[string]string `yaml:"headers" redact:"headers"`
	OTLPProtocol   *string           `yaml:"otlpProtocol"` // grpc | http
	Fields         *Fields           `yaml:"fields"`
	RandomSampling *Raw              `yaml:"randomSampling"` // bool, float or CEL string
	ClientSampling *Raw              `yaml:"clientSampling"`
	Path           *string           `yaml:"path"`
}

// Session is `config.session`.
type Session struct {
	Key string `yaml:"key" required:"true" redact:"true"`
}

// Bind is one port the gateway listens on.
type Bind struct {
	Port      int        `yaml:"port" required:"true"`
	Listeners []Listener `yaml:"listeners" required:"true"`
	// TunnelProtocol is direct (default) | hboneWaypoint | hboneGateway | proxy | connect.
	TunnelProtocol *string `yaml:"tunnelProtocol"`
	// Mode is standard (default) | internal.
	Mode *string `yaml:"mode"`
}

// Listener is one listener of a bind.
type Listener struct {
	Name     *string    `yaml:"name"`
	Hostname *string    `yaml:"hostname"`
	Protocol *string    `yaml:"protocol"` // HTTP (default) | HTTPS | TLS | TCP | HBONE
	TLS      *ServerTLS `yaml:"tls"`
	Routes   []Route    `yaml:"routes"`

	Namespace *string          `yaml:"namespace"`
	TCPRoutes []Raw            `yaml:"tcpRoutes"` // served by a later issue
	Policies  *GatewayPolicies `yaml:"policies"`
}

// ServerTLS is a listener's TLS settings.
type ServerTLS struct {
	Cert *string `yaml:"cert"`
	Key  *string `yaml:"key"`
	Root *string `yaml:"root"`

	Mode              *string  `yaml:"mode"` // static (default) | dynamicCa
	Spiffe            *Raw     `yaml:"spiffe"`
	CipherSuites      []string `yaml:"cipherSuites"`
	MinTLSVersion     *string  `yaml:"minTLSVersion"`
	MinTLSVersionAlt  *string  `yaml:"minTlsVersion"` // agentgateway accepts both spellings
	MaxTLSVersion     *string  `yaml:"maxTLSVersion"`
	MaxTLSVersionAlt  *string  `yaml:"maxTlsVersion"`
	KeyExchangeGroups []string `yaml:"keyExchangeGroups"`
}

// Route is one route of a listener.
type Route struct {
	Name      *string   `yaml:"name"`
	Namespace *string   `yaml:"namespace"`
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
