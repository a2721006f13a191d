package config

// Backend is one entry of a route's `backends:`. Exactly one kind is set
// (weight and policies are common to all kinds).
type Backend struct {
	Weight   *int             `yaml:"weight" oneof:"-"`
	Policies *BackendPolicies `yaml:"policies" oneof:"-"`

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

	// Kinds served by later issues.
	Service    *ServiceRef     `yaml:"service"`
	Internal   *string         `yaml:"internal"` // "forward" or an in-process path
	Dynamic    *DynamicBackend `yaml:"dynamic"`
	AWS        *AWSBackend     `yaml:"aws"`
	RouteGroup *string         `yaml:"routeGroup"`
}

func (Backend) oneOf() {} // over the kind fields; weight and policies are common

// DynamicBackend is the dynamic forward proxy: the target comes from the
// request (Host/SNI) or from a CEL expression.
type DynamicBackend struct {
	Target *string `yaml:"target"`
}

// AWSBackend is `aws: {agentCore: {...}}`.
type AWSBackend struct {
	AgentCore *AgentCoreBackend `yaml:"agentCore"`
}

func (AWSBackend) oneOf() {}

// AgentCoreBackend is an AWS Bedrock AgentCore runtime.
type AgentCoreBackend struct {
	AgentRuntimeArn string  `yaml:"agentRuntimeArn" required:"true"`
	Qualifier       *string `yaml:"qualifier"`
}

// BackendPolicies are policies attached to one backend (LocalBackendPolicies).
type BackendPolicies struct {
	RequestHeaderModifier  *HeaderModifier `yaml:"requestHeaderModifier"`
	ResponseHeaderModifier *HeaderModifier `yaml:"responseHeaderModifier"`
	BackendTLS             *BackendTLS     `yaml:"backendTLS"`
	BackendAuth            *BackendAuth    `yaml:"backendAuth"`
	HTTP                   *BackendHTTP    `yaml:"http"`
	A2A                    *A2APolicy      `yaml:"a2a"`
	AI                     *AIPolicy       `yaml:"ai"`

	RequestRedirect  *RequestRedirect `yaml:"requestRedirect"`
	ExtAuthz         *ExtAuthzSpec    `yaml:"extAuthz"`
	Authorization    *Authorization   `yaml:"authorization"`
	MCPAuthorization *Authorization   `yaml:"mcpAuthorization"`
	TCP              *BackendTCP      `yaml:"tcp"`

	Transformations  *Raw `yaml:"transformations"`
	BackendTunnel    *Raw `yaml:"backendTunnel"`
	Health           *Raw `yaml:"health"`
	MCPGuardrails    *Raw `yaml:"mcpGuardrails"`
	InferenceRouting *Raw `yaml:"inferenceRouting"`
	SessionAffinity  *Raw `yaml:"sessionAffinity"`
}

// SimpleBackendPolicies are the policies allowed on an MCP target and on an
// extAuthz service (agentgateway's SimpleLocalBackendPolicies).
type SimpleBackendPolicies struct {
	RequestHeaderModifier *HeaderModifier `yaml:"requestHeaderModifier"`
	BackendTLS            *BackendTLS     `yaml:"backendTLS"`
	BackendAuth           *BackendAuth    `yaml:"backendAuth"`
	HTTP                  *BackendHTTP    `yaml:"http"`
	TCP                   *BackendTCP     `yaml:"tcp"`
	Transformations       *Raw            `yaml:"transformations"`
	BackendTunnel         *Raw            `yaml:"backendTunnel"`
}

// AsBackendPolicies returns the same policies as a *BackendPolicies (nil for nil).
func (p *SimpleBackendPolicies) AsBackendPolicies() *BackendPolicies {
	if p == nil {
		return nil
	}
	return &BackendPolicies{
		RequestHeaderModifier: p.RequestHeaderModifier,
		BackendTLS:            p.BackendTLS,
		BackendAuth:           p.BackendAuth,
		HTTP:                  p.HTTP,
		TCP:                   p.TCP,
		Transformations:       p.Transformations,
		BackendTunnel:         p.BackendTunnel,
	}
}

// BackendHTTP forces the upstream HTTP version and bounds each attempt.
type BackendHTTP struct {
	Version        *string   `yaml:"version"` // "HTTP/1.1" | "HTTP/2"
	RequestTimeout *Duration `yaml:"requestTimeout"`
}

// BackendTCP is the upstream TCP settings.
type BackendTCP struct {
	Keepalives     *Keepalives `yaml:"keepalives"`
	ConnectTimeout *Duration   `yaml:"connectTimeout"`
}

// ShortLLM is the short LLM backend form.
type ShortLLM struct {
	Model  *string       `yaml:"model"`
	APIKey *FileOrInline `yaml:"apiKey" redact:"true"`
}

// AIBackend is the `ai:` backend (the LLM issue serves it): one named
// provider, or `groups` of providers (failover between groups).
type AIBackend struct {
	Name         *string          `yaml:"name"`
	HostOverride *string          `yaml:"hostOverride"`
	PathOverride *string          `yaml:"pathOverride"`
	PathPrefix   *string          `yaml:"pathPrefix"`
	Provider     *AIProvider      `yaml:"provider"`
	Policies     *BackendPolicies `yaml:"policies"`
	Tokenize     bool             `yaml:"tokenize"`

	Groups []AIGroup `yaml:"groups"`

	// ModelRouted is set by Expand for the backends of an `llm:` route: the
	// request's model selects among them by Name (not a YAML key).
	ModelRouted bool `yaml:"-"`
	// LLM carries an llm: model's routing (matches, visibility,
	// passthrough, the route's virtual models); set by Expand.
	LLM *LLMRouting `yaml:"-"`
}

// AIGroup is one priority group of providers.
type AIGroup struct {
	Providers []NamedAIProvider `yaml:"providers" required:"true"`
}

// NamedAIProvider is one provider of an ai.groups entry.
type NamedAIProvider struct {
	Name         string           `yaml:"name" required:"true"`
	Provider     AIProvider       `yaml:"provider" required:"true"`
	HostOverride *string          `yaml:"hostOverride"`
	PathOverride *string          `yaml:"pathOverride"`
	PathPrefix   *string          `yaml:"pathPrefix"`
	Tokenize     bool             `yaml:"tokenize"`
	Policies     *BackendPolicies `yaml:"policies"`
}

// AIProvider is one of the provider kinds.
type AIProvider struct {
	OpenAI    *ProviderModel `yaml:"openAI"`
	Anthropic *ProviderModel `yaml:"anthropic"`
	Gemini    *ProviderModel `yaml:"gemini"`

	Vertex  *VertexProvider  `yaml:"vertex"`
	Bedrock *BedrockProvider `yaml:"bedrock"`
	Azure   *AzureProvider   `yaml:"azure"`
	Copilot *ProviderModel   `yaml:"copilot"`
	Custom  *CustomProvider  `yaml:"custom"`
}

func (AIProvider) oneOf() {}

// ProviderModel is a provider's model setting.
type ProviderModel struct {
	Model *string `yaml:"model"`
	// Moderation is OpenAI's inline moderation (openAI only; Validate checks).
	Moderation *Raw `yaml:"moderation"`
}

// VertexProvider is Google Vertex AI.
type VertexProvider struct {
	Model     *string `yaml:"model"`
	Region    *string `yaml:"region"`
	ProjectID string  `yaml:"projectId" required:"true"`
}

// BedrockProvider is AWS Bedrock.
type BedrockProvider struct {
	Model               *string `yaml:"model"`
	Region              string  `yaml:"region" required:"true"`
	GuardrailIdentifier *string `yaml:"guardrailIdentifier"`
	GuardrailVersion    *string `yaml:"guardrailVersion"`
}

// AzureProvider is Azure OpenAI / AI Foundry.
type AzureProvider struct {
	Model        *string `yaml:"model"`
	ResourceName string  `yaml:"resourceName" required:"true"`
	ResourceType string  `yaml:"resourceType" required:"true"` // openAI | foundry | aiServices
	APIVersion   *string `yaml:"apiVersion"`
	ProjectName  *string `yaml:"projectName"`
}

// CustomProvider is an arbitrary provider speaking the listed formats.
type CustomProvider struct {
	Model            *string `yaml:"model"`
	ProviderOverride *string `yaml:"providerOverride"`
	Formats          []Raw   `yaml:"formats" required:"true"` // [{type, path}]
}

// MCPBackend is the `mcp:` backend (the MCP issue serves it).
type MCPBackend struct {
	Targets      []MCPTarget `yaml:"targets" required:"true"`
	StatefulMode *string     `yaml:"statefulMode"`
	PrefixMode   *string     `yaml:"prefixMode"`
	FailureMode  *string     `yaml:"failureMode"`

	DNSRebindingProtection *bool `yaml:"dnsRebindingProtection"`
}

// MCPTarget is one federated MCP server: exactly one of stdio, mcp, sse, openapi.
type MCPTarget struct {
	Name  string    `yaml:"name" required:"true" oneof:"-"`
	Stdio *MCPStdio `yaml:"stdio"`
	MCP   *MCPHost  `yaml:"mcp"`
	SSE   *MCPHost  `yaml:"sse"`

	OpenAPI  *MCPOpenAPI            `yaml:"openapi"`
	Policies *SimpleBackendPolicies `yaml:"policies" oneof:"-"`
}

func (MCPTarget) oneOf() {}

// MCPStdio spawns a local MCP server.
type MCPStdio struct {
	Cmd      string            `yaml:"cmd" required:"true"`
	Args     []string          `yaml:"args"`
	Env      map[string]string `yaml:"env"`
	ClearEnv bool              `yaml:"clear_env"`
}

// MCPHost is a remote MCP server: `host` as a URL (or host:port), or host
// (a hostname) + port + path, or backend (+ path). Validate checks the forms.
type MCPHost struct {
	Host    string  `yaml:"host"`
	Port    *int    `yaml:"port"`
	Path    *string `yaml:"path"`
	Backend *string `yaml:"backend"`
}

// MCPOpenAPI exposes an OpenAPI service's operations as MCP tools.
type MCPOpenAPI struct {
	Schema  FileInlineOrRemote `yaml:"schema" required:"true"`
	Host    *string            `yaml:"host"`
	Port    *int               `yaml:"port"`
	Path    *string            `yaml:"path"`
	Backend *string            `yaml:"backend"`
}
