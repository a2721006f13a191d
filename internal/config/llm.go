package config

// LLMConfig is the simplified top-level `llm:` form.
type LLMConfig struct {
	Port   *int       `yaml:"port"`
	Models []LLMModel `yaml:"models" required:"true"`

	Gateways      *StringOrList     `yaml:"gateways"`
	TLS           *ServerTLS        `yaml:"tls"`
	Providers     []LLMProvider     `yaml:"providers"`
	VirtualModels []LLMVirtualModel `yaml:"virtualModels"`
	Policies      *LLMPolicies      `yaml:"policies"`
}

// LLMModel is one model of the `llm:` form. Provider is a provider name
// (openAI, anthropic, …, or a preset such as groq); when the YAML value is a
// mapping ({reference: name} or {custom: {...}}) it is decoded into
// ProviderRef instead and Provider stays empty.
type LLMModel struct {
	Name        string          `yaml:"name" required:"true"`
	Provider    string          `yaml:"provider" required:"true" altmap:"ProviderRef"`
	ProviderRef *LLMProviderRef `yaml:"-"`
	Params      *LLMParams      `yaml:"params"`

	ID          *string         `yaml:"id"`
	Visibility  *string         `yaml:"visibility"`  // public (default) | internal
	Passthrough *string         `yaml:"passthrough"` // detect | opaque
	Matches     []LLMRouteMatch `yaml:"matches"`

	Auth            *BackendAuth    `yaml:"auth"`
	BackendTLS      *BackendTLS     `yaml:"backendTLS"`
	TLS             *BackendTLS     `yaml:"tls"` // same as backendTLS (only one may be set)
	Authorization   *Authorization  `yaml:"authorization"`
	RequestHeaders  *HeaderModifier `yaml:"requestHeaders"`
	ResponseHeaders *HeaderModifier `yaml:"responseHeaders"`
	Health          *Raw            `yaml:"health"`
	BackendTunnel   *Raw            `yaml:"backendTunnel"`

	Defaults            *Raw `yaml:"defaults"`
	Overrides           *Raw `yaml:"overrides"`
	Transformation      *Raw `yaml:"transformation"`
	FinalTransformation *Raw `yaml:"finalTransformation"`
	Guardrails          *Raw `yaml:"guardrails"`
	PromptCaching       *Raw `yaml:"promptCaching"`
}

// LLMProviderRef is the mapping form of a model's provider.
type LLMProviderRef struct {
	Reference *string         `yaml:"reference"` // name of an llm.providers entry
	Custom    *CustomProvider `yaml:"custom"`
}

func (LLMProviderRef) oneOf() {}

// LLMRouteMatch selects a model entry by request headers.
type LLMRouteMatch struct {
	Headers []KeyMatch `yaml:"headers"`
}

// LLMParams are a model's provider parameters.
type LLMParams struct {
	Model   *string       `yaml:"model"`
	APIKey  *FileOrInline `yaml:"apiKey" redact:"true"`
	BaseURL *string       `yaml:"baseUrl"`

	AWSRegion         *string `yaml:"awsRegion"`
	VertexRegion      *string `yaml:"vertexRegion"`
	VertexProject     *string `yaml:"vertexProject"`
	AzureResourceName *string `yaml:"azureResourceName"`
	AzureResourceType *string `yaml:"azureResourceType"`
	AzureAPIVersion   *string `yaml:"azureApiVersion"`
	AzureProjectName  *string `yaml:"azureProjectName"`
	HostOverride      *string `yaml:"hostOverride"` // deprecated in agentgateway; use baseUrl
	PathOverride      *string `yaml:"pathOverride"`
	PathPrefix        *string `yaml:"pathPrefix"`
	Tokenize          bool    `yaml:"tokenize"`
}

// LLMProvider is a reusable provider (llm.providers[]), referenced by
// models with `provider: {reference: name}`.
type LLMProvider struct {
	Name        string          `yaml:"name" required:"true"`
	Provider    string          `yaml:"provider" required:"true" altmap:"ProviderRef"`
	ProviderRef *LLMProviderRef `yaml:"-"`
	Params      *LLMParams      `yaml:"params"`
	Defaults    *Raw            `yaml:"defaults"`
}

// LLMVirtualModel routes one public name to other models (weighted,
// failover or conditional), as agentgateway's LocalLLMVirtualModel.
type LLMVirtualModel struct {
	Name    string            `yaml:"name" required:"true"`
	Routing LLMVirtualRouting `yaml:"routing" required:"true"`
}

// LLMVirtualRouting is exactly one of weighted, failover or conditional.
type LLMVirtualRouting struct {
	Weighted    *LLMWeightedRouting    `yaml:"weighted"`
	Failover    *LLMFailoverRouting    `yaml:"failover"`
	Conditional *LLMConditionalRouting `yaml:"conditional"`
}

func (LLMVirtualRouting) oneOf() {}

// LLMWeightedRouting splits requests between models by weight.
type LLMWeightedRouting struct {
	Targets []LLMWeightedTarget `yaml:"targets" required:"true"`
}

// LLMWeightedTarget is a model name (as a client would ask for it) and its
// relative weight (default 1).
type LLMWeightedTarget struct {
	Model  string `yaml:"model" required:"true"`
	Weight *int   `yaml:"weight"`
}

// LLMFailoverRouting tries models by priority: lower values first.
type LLMFailoverRouting struct {
	Targets []LLMFailoverTarget `yaml:"targets" required:"true"`
}

// LLMFailoverTarget is a model name and its priority group.
type LLMFailoverTarget struct {
	Model    string `yaml:"model" required:"true"`
	Priority int    `yaml:"priority" required:"true"`
}

// LLMConditionalRouting picks the first target whose CEL `when` holds; a
// target without `when` is the fallback and must be last.
type LLMConditionalRouting struct {
	Targets []LLMConditionalTarget `yaml:"targets" required:"true"`
}

// LLMConditionalTarget is a CEL condition and the model it selects.
type LLMConditionalTarget struct {
	When  *string `yaml:"when"`
	Model string  `yaml:"model" required:"true"`
}

// LLMRouting is what Expand carries from an llm: model to its ai backend
// for the gateway's model router (not YAML keys). Path is the model's
// config path (llm.models[i]) so errors point at the file.
type LLMRouting struct {
	Path        string
	Visibility  string // "public" or "internal"
	Passthrough string // "", "detect" or "opaque"
	Matches     []LLMRouteMatch
	// VirtualModels are the route's virtual models; Expand sets them on
	// the first model's backend only.
	VirtualModels []LLMVirtualModel
}

// LLMPolicies is `llm.policies`.
type LLMPolicies struct {
	JWTAuth         *JWTAuth        `yaml:"jwtAuth"`
	APIKey          *APIKeyAuth     `yaml:"apiKey"`
	BasicAuth       *BasicAuth      `yaml:"basicAuth"`
	Authorization   *Authorization  `yaml:"authorization"`
	ExtAuthz        *ExtAuthz       `yaml:"extAuthz"`
	CORS            *CORS           `yaml:"cors"`
	LocalRateLimit  []RateLimitSpec `yaml:"localRateLimit"`
	OIDC            *Raw            `yaml:"oidc"`
	ExtProc         *Raw            `yaml:"extProc"`
	Transformations *Raw            `yaml:"transformations"`
	Guardrails      *Raw            `yaml:"guardrails"`
	RemoteRateLimit *Raw            `yaml:"remoteRateLimit"`
}

// SimpleMCP is the simplified top-level `mcp:` form.
type SimpleMCP struct {
	Port         *int        `yaml:"port"`
	Targets      []MCPTarget `yaml:"targets" required:"true"`
	StatefulMode *string     `yaml:"statefulMode"`
	PrefixMode   *string     `yaml:"prefixMode"`
	FailureMode  *string     `yaml:"failureMode"`
	Policies     *Policies   `yaml:"policies"`

	Gateways               *StringOrList `yaml:"gateways"`
	DNSRebindingProtection *bool         `yaml:"dnsRebindingProtection"`
}
