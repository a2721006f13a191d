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
// failover or conditional).
type LLMVirtualModel struct {
	Name    string `yaml:"name" required:"true"`
	Routing Raw    `yaml:"routing" required:"true"`
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
