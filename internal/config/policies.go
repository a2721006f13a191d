package config

// Policies is a route's `policies:` block (agentgateway's FilterOrPolicy).
// Keys this gateway does not enforce yet are still decoded with their real
// shape; compile refuses a config that relies on an unbuilt security policy.
type Policies struct {
	RequestHeaderModifier  *HeaderModifier  `yaml:"requestHeaderModifier"`
	ResponseHeaderModifier *HeaderModifier  `yaml:"responseHeaderModifier"`
	RequestRedirect        *RequestRedirect `yaml:"requestRedirect"`
	URLRewrite             *URLRewrite      `yaml:"urlRewrite"`
	RequestMirror          *RequestMirror   `yaml:"requestMirror"`
	DirectResponse         *DirectResponse  `yaml:"directResponse"`
	CORS                   *CORS            `yaml:"cors"`
	Timeout                *Timeout         `yaml:"timeout"`
	Retry                  *Retry           `yaml:"retry"`
	BackendTLS             *BackendTLS      `yaml:"backendTLS"`
	BackendAuth            *BackendAuth     `yaml:"backendAuth"`
	A2A                    *A2APolicy       `yaml:"a2a"`
	AI                     *AIPolicy        `yaml:"ai"`

	// Authentication and authorization (agentgateway's shapes; see auth.go).
	JWTAuth           *JWTAuth           `yaml:"jwtAuth"`
	APIKey            *APIKeyAuth        `yaml:"apiKey"`
	BasicAuth         *BasicAuth         `yaml:"basicAuth"`
	Authorization     *Authorization     `yaml:"authorization"`
	MCPAuthorization  *Authorization     `yaml:"mcpAuthorization"`
	MCPAuthentication *MCPAuthentication `yaml:"mcpAuthentication"`
	ExtAuthz          *ExtAuthz          `yaml:"extAuthz"`
	LocalRateLimit    *LocalRateLimit    `yaml:"localRateLimit"`

	// Keys with a large surface that no issue serves yet: decoded as-is.
	ExtProc         *Raw `yaml:"extProc"`
	Transformations *Raw `yaml:"transformations"`
	CSRF            *Raw `yaml:"csrf"`
	Buffer          *Raw `yaml:"buffer"`
	Delay           *Raw `yaml:"delay"`
	OIDC            *Raw `yaml:"oidc"`
	RemoteRateLimit *Raw `yaml:"remoteRateLimit"`
	MCPGuardrails   *Raw `yaml:"mcpGuardrails"`
	BackendTunnel   *Raw `yaml:"backendTunnel"`
}

// GatewayPolicies is a listener's `policies:` (agentgateway's LocalGatewayPolicy).
type GatewayPolicies struct {
	JWTAuth         *JWTAuth       `yaml:"jwtAuth"`
	APIKey          *APIKeyAuth    `yaml:"apiKey"`
	BasicAuth       *BasicAuth     `yaml:"basicAuth"`
	Authorization   *Authorization `yaml:"authorization"`
	ExtAuthz        *ExtAuthz      `yaml:"extAuthz"`
	CORS            *CORS          `yaml:"cors"`
	OIDC            *Raw           `yaml:"oidc"`
	ExtProc         *Raw           `yaml:"extProc"`
	Transformations *Raw           `yaml:"transformations"`
}

// HeaderModifier adds, sets or removes headers.
type HeaderModifier struct {
	Add    map[string]string `yaml:"add" redact:"headers"`
	Set    map[string]string `yaml:"set" redact:"headers"`
	Remove []string          `yaml:"remove"`
}

// HostRewrite is `authority:` of urlRewrite/requestRedirect: one of
// {full: "host:port"}, {host: "h"}, {port: 8080}, or the strings "auto" / "none".
type HostRewrite struct {
	Full *string
	Host *string
	Port *int
	Auto bool
	None bool
}

// PathRewrite is one of {full: "/p"} or {prefix: "/p"}.
type PathRewrite struct {
	Full   *string `yaml:"full"`
	Prefix *string `yaml:"prefix"`
}

func (PathRewrite) oneOf() {}

// URLRewrite rewrites the authority and path before the request goes upstream.
type URLRewrite struct {
	Authority *HostRewrite `yaml:"authority"`
	Path      *PathRewrite `yaml:"path"`
}

// RequestRedirect answers with a redirect.
type RequestRedirect struct {
	Scheme    *string      `yaml:"scheme"`
	Authority *HostRewrite `yaml:"authority"`
	Path      *PathRewrite `yaml:"path"`
	Status    *int         `yaml:"status"`
}

// RequestMirror copies a percentage of requests to another backend.
type RequestMirror struct {
	Backend    SimpleBackend `yaml:"backend" required:"true"`
	Percentage float64       `yaml:"percentage" required:"true"`
}

// SimpleBackend is one of {host: "h:p"}, {service: {...}}, {backend: "name"}.
type SimpleBackend struct {
	Host    *string `yaml:"host"`
	Backend *string `yaml:"backend"`
	Service *Raw    `yaml:"service"`
}

func (SimpleBackend) oneOf() {}

// DirectResponse answers without a backend. Either status (with body,
// bodyExpression, headers) or `conditional` is set; Validate checks which.
type DirectResponse struct {
	Body           *Bytes            `yaml:"body"`
	BodyExpression *string           `yaml:"bodyExpression"`
	Headers        map[string]string `yaml:"headers"` // values are CEL expressions
	Status         int               `yaml:"status"`

	// Conditional is agentgateway's `{conditional: [{condition, ...}]}` form:
	// the first entry whose condition (CEL) holds wins; no condition = fallback.
	Conditional []ConditionalDirectResponse `yaml:"conditional"`
}

// ConditionalDirectResponse is one entry of directResponse.conditional.
type ConditionalDirectResponse struct {
	Condition      *string           `yaml:"condition"`
	Body           *Bytes            `yaml:"body"`
	BodyExpression *string           `yaml:"bodyExpression"`
	Headers        map[string]string `yaml:"headers"`
	Status         int               `yaml:"status" required:"true"`
}

// CORS is agentgateway's cors policy; preflight requests are answered by the gateway.
type CORS struct {
	AllowCredentials bool      `yaml:"allowCredentials"`
	AllowHeaders     []string  `yaml:"allowHeaders"`
	AllowMethods     []string  `yaml:"allowMethods"`
	AllowOrigins     []string  `yaml:"allowOrigins"`
	ExposeHeaders    []string  `yaml:"exposeHeaders"`
	MaxAge           *Duration `yaml:"maxAge"`
}

// Timeout bounds the whole request and each backend attempt.
type Timeout struct {
	RequestTimeout        *Duration `yaml:"requestTimeout"`
	BackendRequestTimeout *Duration `yaml:"backendRequestTimeout"`
}

// Retry retries failed attempts.
type Retry struct {
	Attempts     *int      `yaml:"attempts"`
	Backoff      *Duration `yaml:"backoff"`
	Codes        []int     `yaml:"codes" required:"true"`
	Precondition *string   `yaml:"precondition"`
	Condition    *string   `yaml:"condition"`
}

// BackendTLS originates TLS to the backend. `{}` means system roots.
type BackendTLS struct {
	Cert            *string  `yaml:"cert"`
	Key             *string  `yaml:"key"`
	Root            *string  `yaml:"root"`
	Hostname        *string  `yaml:"hostname"`
	Insecure        bool     `yaml:"insecure"`
	InsecureHost    bool     `yaml:"insecureHost"`
	ALPN            []string `yaml:"alpn"`
	SubjectAltNames []string `yaml:"subjectAltNames"`

	KeyExchangeGroups []string `yaml:"keyExchangeGroups"`
	Spiffe            *Raw     `yaml:"spiffe"`
}

// BackendAuth injects a credential for the backend. `key` is a string (or
// {file: path}) sent as `Authorization: Bearer <key>`, or {value, location}.
// `passthrough: {}` forwards the client's validated token.
//
// gcp, aws and azure are cloud credentials (see cloudauth.go). It may
// also be the string "copilot", and agentgateway's other kinds (jwtSign,
// oauthTokenExchange, crossAppAccess) decode as Raw so compile can reject
// them as not built. `credentials` lists several keys.
type BackendAuth struct {
	Key         *BackendKey `yaml:"key"`
	Passthrough *Raw        `yaml:"passthrough"` // {location?: AuthLocation}

	Credentials        []BackendCredential `yaml:"credentials"`
	GCP                *GCPAuth            `yaml:"gcp"`
	AWS                *AWSAuth            `yaml:"aws"`
	Azure              *AzureAuth          `yaml:"azure"`
	JWTSign            *Raw                `yaml:"jwtSign"`
	OAuthTokenExchange *Raw                `yaml:"oauthTokenExchange"`
	CrossAppAccess     *Raw                `yaml:"crossAppAccess"`
	// Copilot is the string form `backendAuth: copilot` (not a mapping key;
	// the yaml tag only names it for reflective tools).
	Copilot bool `yaml:"copilot" nodecode:"true"`
}

// BackendCredential is one entry of backendAuth.credentials.
type BackendCredential struct {
	Location AuthLocation `yaml:"location" required:"true"`
	Key      FileOrInline `yaml:"key" required:"true" redact:"true"`
}

// BackendKey is a static key: a string, {file: path}, or {value, location}.
type BackendKey struct {
	Value    FileOrInline
	Location *Raw          // as written
	Loc      *AuthLocation // the same location, typed (nil when absent)
}

// FileOrInline is a string, or {file: path} read at load.
type FileOrInline struct {
	Inline *string
	File   *string
}

// A2APolicy is `a2a: {}`: marks the route as A2A traffic.
type A2APolicy struct{}

// AIPolicy is the `ai:` policy (LLM behaviour; served by the LLM issue).
type AIPolicy struct {
	Routes       map[string]string `yaml:"routes"`
	ModelAliases map[string]string `yaml:"modelAliases"`

	PromptGuard          *Raw `yaml:"promptGuard"`
	Defaults             *Raw `yaml:"defaults"`
	Overrides            *Raw `yaml:"overrides"`
	Transformations      *Raw `yaml:"transformations"`
	FinalTransformations *Raw `yaml:"finalTransformations"`
	Prompts              *Raw `yaml:"prompts"`
	PromptCaching        *Raw `yaml:"promptCaching"`
}
