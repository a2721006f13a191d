package config

// Authentication, authorization, external authorization and local rate
// limiting policies, with agentgateway's shapes.

// JWTAuth is `jwtAuth`: either one issuer (issuer, audiences, jwks,
// jwtValidationOptions) or `providers` (several issuers). Validate checks
// that exactly one form is used.
type JWTAuth struct {
	Mode     *string       `yaml:"mode"` // strict | optional (default) | permissive
	Location *AuthLocation `yaml:"location"`

	Issuer               *string               `yaml:"issuer"`
	Audiences            []string              `yaml:"audiences"`
	JWKS                 *FileInlineOrRemote   `yaml:"jwks"`
	JWTValidationOptions *JWTValidationOptions `yaml:"jwtValidationOptions"`

	Providers []JWTProvider `yaml:"providers"`
}

// JWTProvider is one issuer of jwtAuth.providers.
type JWTProvider struct {
	Issuer               string                `yaml:"issuer" required:"true"`
	Audiences            []string              `yaml:"audiences"`
	JWKS                 FileInlineOrRemote    `yaml:"jwks" required:"true"`
	JWTValidationOptions *JWTValidationOptions `yaml:"jwtValidationOptions"`
}

// JWTValidationOptions lists claims a token must carry (default ["exp"]).
type JWTValidationOptions struct {
	RequiredClaims []string `yaml:"requiredClaims"`
}

// AuthLocation says where a credential is read from (or written to):
// exactly one of a header (name, optional prefix), a query parameter, a
// cookie, or a CEL expression.
type AuthLocation struct {
	Header         *HeaderLocation `yaml:"header"`
	QueryParameter *NamedLocation  `yaml:"queryParameter"`
	Cookie         *NamedLocation  `yaml:"cookie"`
	Expression     *string         `yaml:"expression"`
}

func (AuthLocation) oneOf() {}

// HeaderLocation is a header and an optional value prefix such as "Bearer ".
type HeaderLocation struct {
	Name   string  `yaml:"name" required:"true"`
	Prefix *string `yaml:"prefix"`
}

// NamedLocation is a query parameter or a cookie.
type NamedLocation struct {
	Name string `yaml:"name" required:"true"`
}

// APIKeyAuth is `apiKey`: static API keys.
type APIKeyAuth struct {
	Keys     []APIKeyEntry `yaml:"keys" required:"true"`
	Mode     *string       `yaml:"mode"` // strict | optional (default) | permissive
	Location *AuthLocation `yaml:"location"`
}

// APIKeyEntry is one key: exactly one of key or keyHash ("sha256:…").
type APIKeyEntry struct {
	Key           *string  `yaml:"key" redact:"true"`
	KeyHash       *string  `yaml:"keyHash"`
	Metadata      *Raw     `yaml:"metadata" oneof:"-"`
	AllowedModels []string `yaml:"allowedModels" oneof:"-"`
}

func (APIKeyEntry) oneOf() {}

// BasicAuth is `basicAuth`: an htpasswd user database.
type BasicAuth struct {
	Htpasswd              FileOrInline  `yaml:"htpasswd" required:"true" redact:"true"`
	Realm                 *string       `yaml:"realm"`
	Mode                  *string       `yaml:"mode"` // strict | optional (default)
	AuthorizationLocation *AuthLocation `yaml:"authorizationLocation"`
}

// Authorization is `authorization` and `mcpAuthorization`: CEL rules.
// Any deny denies; every require must hold; if allow rules exist one must
// match (deny-only rule sets default to allow).
type Authorization struct {
	Rules []AuthRule `yaml:"rules" required:"true"`
}

// AuthRule is a CEL string (an allow rule) or {allow}|{deny}|{require}.
// Exactly one field is set.
type AuthRule struct {
	Allow   *string
	Deny    *string
	Require *string
}

// Expression returns the rule's CEL expression.
func (r AuthRule) Expression() string {
	switch {
	case r.Allow != nil:
		return *r.Allow
	case r.Deny != nil:
		return *r.Deny
	case r.Require != nil:
		return *r.Require
	}
	return ""
}

// MCPAuthentication is `mcpAuthentication`: the MCP server as an OAuth 2.1
// resource server.
type MCPAuthentication struct {
	Issuer                string                `yaml:"issuer" required:"true"`
	Audiences             []string              `yaml:"audiences" required:"true"`
	Provider              *MCPIDP               `yaml:"provider"`
	ResourceMetadata      map[string]any        `yaml:"resourceMetadata" required:"true"`
	JWKS                  *FileInlineOrRemote   `yaml:"jwks"`
	Mode                  *string               `yaml:"mode"` // strict (default) | optional | permissive
	AuthorizationLocation *AuthLocation         `yaml:"authorizationLocation"`
	JWTValidationOptions  *JWTValidationOptions `yaml:"jwtValidationOptions"`
	ClientID              *string               `yaml:"clientId"`
	ClientSecret          *string               `yaml:"clientSecret" redact:"true"`
}

// MCPIDP names the identity provider: exactly one of the keys, each `{}`.
type MCPIDP struct {
	Auth0     *Empty `yaml:"auth0"`
	Keycloak  *Empty `yaml:"keycloak"`
	Okta      *Empty `yaml:"okta"`
	Descope   *Empty `yaml:"descope"`
	Authentik *Empty `yaml:"authentik"`
	Entra     *Empty `yaml:"entra"`
}

func (MCPIDP) oneOf() {}

// Empty is `{}`.
type Empty struct{}

// ServiceRef is {name: "ns/host", port}.
type ServiceRef struct {
	Name string `yaml:"name" required:"true"`
	Port int    `yaml:"port" required:"true"`
}

// ExtAuthz is `extAuthz`: exactly one target (host, service or backend) with
// its settings, or `conditional` (entries with a CEL condition). Validate
// checks which.
type ExtAuthz struct {
	ExtAuthzSpec `yaml:",inline"`
	Conditional  []ConditionalExtAuthz `yaml:"conditional"`
}

// ExtAuthzSpec is one external authorization service.
type ExtAuthzSpec struct {
	Host    *string     `yaml:"host"`
	Service *ServiceRef `yaml:"service"`
	Backend *string     `yaml:"backend"`

	Policies              *SimpleBackendPolicies `yaml:"policies"`
	Protocol              *ExtAuthzProtocol      `yaml:"protocol"` // default {grpc: {}}
	FailureMode           *ExtAuthzFailureMode   `yaml:"failureMode"`
	IncludeRequestHeaders []string               `yaml:"includeRequestHeaders"`
	IncludeRequestBody    *ExtAuthzBody          `yaml:"includeRequestBody"`
	Cache                 *ExtAuthzCache         `yaml:"cache"`
}

// ConditionalExtAuthz is one entry of extAuthz.conditional.
type ConditionalExtAuthz struct {
	Condition    *string `yaml:"condition"`
	ExtAuthzSpec `yaml:",inline"`
}

// ExtAuthzProtocol is exactly one of grpc or http.
type ExtAuthzProtocol struct {
	GRPC *ExtAuthzGRPC `yaml:"grpc"`
	HTTP *ExtAuthzHTTP `yaml:"http"`
}

func (ExtAuthzProtocol) oneOf() {}

// ExtAuthzGRPC is Envoy's ext_authz v3 gRPC protocol.
type ExtAuthzGRPC struct {
	Context  map[string]string `yaml:"context"`
	Metadata map[string]string `yaml:"metadata"` // CEL
}

// ExtAuthzHTTP is the plain HTTP protocol; the strings are CEL.
type ExtAuthzHTTP struct {
	Path                   *string           `yaml:"path"`
	Redirect               *string           `yaml:"redirect"`
	Body                   *string           `yaml:"body"`
	IncludeResponseHeaders []string          `yaml:"includeResponseHeaders"`
	AddRequestHeaders      map[string]string `yaml:"addRequestHeaders"`
	Metadata               map[string]string `yaml:"metadata"`
}

// ExtAuthzFailureMode is "allow", "deny" (default) or {denyWithStatus: N}.
type ExtAuthzFailureMode struct {
	Mode           string // allow | deny | denyWithStatus
	DenyWithStatus int
}

// ExtAuthzBody says whether and how the request body is sent.
type ExtAuthzBody struct {
	MaxRequestBytes     *int  `yaml:"maxRequestBytes"`
	AllowPartialMessage *bool `yaml:"allowPartialMessage"`
	PackAsBytes         *bool `yaml:"packAsBytes"`
}

// ExtAuthzCache caches decisions; key and ttl are CEL.
type ExtAuthzCache struct {
	Key        []string `yaml:"key" required:"true"`
	TTL        string   `yaml:"ttl" required:"true"`
	MaxEntries *int     `yaml:"maxEntries"`
}

// LocalRateLimit is `localRateLimit`: a list of token buckets, or
// {conditional: [...]} (agentgateway's two forms).
type LocalRateLimit struct {
	Limits      []RateLimitSpec
	Conditional []ConditionalRateLimit
}

// RateLimitSpec is one token bucket.
type RateLimitSpec struct {
	MaxTokens     int      `yaml:"maxTokens"`
	TokensPerFill int      `yaml:"tokensPerFill"`
	FillInterval  Duration `yaml:"fillInterval" required:"true"`
	Type          *string  `yaml:"type"` // requests (default) | tokens
}

// ConditionalRateLimit is one entry of localRateLimit.conditional.
type ConditionalRateLimit struct {
	Condition     *string `yaml:"condition"`
	RateLimitSpec `yaml:",inline"`
}
