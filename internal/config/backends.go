package config

// Backend is one entry of a route's `backends:`. Exactly one kind is set.
type Backend struct {
	Weight   *int             `yaml:"weight"`
	Policies *BackendPolicies `yaml:"policies"`

	// host:port or a URL (http://h:p, https://h — https implies backend TLS).
	Host *string `yaml:"host"`
	// Named reference to a top-level backend (later issue).
	Backend *string     `yaml:"backend"`
	MCP     *MCPBackend `yaml:"mcp"`
	AI      *AIBackend  `yaml:"ai"`

	// Short LLM backends, as in agentgateway's reference configs: `openAI: {model, apiKey}`.
	OpenAI    *ShortLLM `yaml:"openAI"`
	Anthropic *ShortLLM `yaml:"anthropic"`
	Gemini    *ShortLLM `yaml:"gemini"`
	Vertex    *ShortLLM `yaml:"vertex"`
	Bedrock   *ShortLLM `yaml:"bedrock"`
	Azure     *ShortLLM `yaml:"azureOpenAI"`
	// service, internal, dynamic, aws, routeGroup: decoded by the config helper.
}

func (Backend) oneOf() {} // over the kind fields; weight and policies are common

// BackendPolicies are policies attached to one backend.
type BackendPolicies struct {
	RequestHeaderModifier  *HeaderModifier `yaml:"requestHeaderModifier"`
	ResponseHeaderModifier *HeaderModifier `yaml:"responseHeaderModifier"`
	BackendTLS             *BackendTLS     `yaml:"backendTLS"`
	BackendAuth            *BackendAuth    `yaml:"backendAuth"`
	HTTP                   *BackendHTTP    `yaml:"http"`
	A2A                    *A2APolicy      `yaml:"a2a"`
	AI                     *AIPolicy       `yaml:"ai"`
}

// BackendHTTP forces the upstream HTTP version and bounds each attempt.
type BackendHTTP struct {
	Version        *string   `yaml:"version"` // "HTTP/1.1" | "HTTP/2"
	RequestTimeout *Duration `yaml:"requestTimeout"`
}

// ShortLLM is the short LLM backend form.
type ShortLLM struct {
	Model  *string       `yaml:"model"`
	APIKey *FileOrInline `yaml:"apiKey"`
}

// AIBackend is the `ai:` backend (the LLM issue serves it).
type AIBackend struct {
	Name         *string          `yaml:"name"`
	HostOverride *string          `yaml:"hostOverride"`
	PathOverride *string          `yaml:"pathOverride"`
	PathPrefix   *string          `yaml:"pathPrefix"`
	Provider     *AIProvider      `yaml:"provider"`
	Policies     *BackendPolicies `yaml:"policies"`
	// groups: config helper.
}

// AIProvider is one of the provider kinds.
type AIProvider struct {
	OpenAI    *ProviderModel `yaml:"openAI"`
	Anthropic *ProviderModel `yaml:"anthropic"`
	Gemini    *ProviderModel `yaml:"gemini"`
	// vertex, bedrock, azure, copilot, custom: config helper.
}

func (AIProvider) oneOf() {}

// ProviderModel is a provider's model setting.
type ProviderModel struct {
	Model *string `yaml:"model"`
}

// MCPBackend is the `mcp:` backend (the MCP issue serves it).
type MCPBackend struct {
	Targets      []MCPTarget `yaml:"targets" required:"true"`
	StatefulMode *string     `yaml:"statefulMode"`
	PrefixMode   *string     `yaml:"prefixMode"`
	FailureMode  *string     `yaml:"failureMode"`
}

// MCPTarget is one federated MCP server.
type MCPTarget struct {
	Name  string    `yaml:"name" required:"true"`
	Stdio *MCPStdio `yaml:"stdio"`
	MCP   *MCPHost  `yaml:"mcp"`
	SSE   *MCPHost  `yaml:"sse"`
	// openapi, policies: config helper.
}

// MCPStdio spawns a local MCP server.
type MCPStdio struct {
	Cmd  string            `yaml:"cmd" required:"true"`
	Args []string          `yaml:"args"`
	Env  map[string]string `yaml:"env"`
}

// MCPHost is a remote MCP server.
type MCPHost struct {
	Host string `yaml:"host" required:"true"`
}

// LLMConfig is the simplified top-level `llm:` form.
type LLMConfig struct {
	Port   *int       `yaml:"port"`
	Models []LLMModel `yaml:"models" required:"true"`
}

// LLMModel is one model of the `llm:` form.
type LLMModel struct {
	Name     string     `yaml:"name" required:"true"`
	Provider string     `yaml:"provider" required:"true"`
	Params   *LLMParams `yaml:"params"`
}

// LLMParams are a model's provider parameters.
type LLMParams struct {
	Model   *string       `yaml:"model"`
	APIKey  *FileOrInline `yaml:"apiKey"`
	BaseURL *string       `yaml:"baseUrl"`
}

// SimpleMCP is the simplified top-level `mcp:` form.
type SimpleMCP struct {
	Port         *int        `yaml:"port"`
	Targets      []MCPTarget `yaml:"targets" required:"true"`
	StatefulMode *string     `yaml:"statefulMode"`
	PrefixMode   *string     `yaml:"prefixMode"`
	FailureMode  *string     `yaml:"failureMode"`
	Policies     *Policies   `yaml:"policies"`
}
