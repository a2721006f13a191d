package config

import yaml "go.yaml.in/yaml/v3"

// GCPAuth is backendAuth.gcp (agentgateway's GcpAuth): a Google OAuth2
// access token (type accessToken, the default) or an OIDC ID token (type
// idToken, for audience or https://<backend host>), minted from
// credential (service-account, authorized-user, … JSON; a string or
// {file: path}) or, when it is absent, from Application Default
// Credentials.
type GCPAuth struct {
	Type       *string       `yaml:"type"`
	Audience   *string       `yaml:"audience"`
	Credential *FileOrInline `yaml:"credential" redact:"true"`
}

// AWSAuth is backendAuth.aws (agentgateway's AwsAuth): explicit keys
// {accessKeyId, secretAccessKey, sessionToken?}, or the implicit form
// (the AWS SDK's default credential chain) optionally assuming a role.
// Both take region and serviceName (the SigV4 signing scope).
type AWSAuth struct {
	AccessKeyID     *string        `yaml:"accessKeyId" redact:"true"`
	SecretAccessKey *string        `yaml:"secretAccessKey" redact:"true"`
	SessionToken    *string        `yaml:"sessionToken" redact:"true"`
	Region          *string        `yaml:"region"`
	ServiceName     *string        `yaml:"serviceName"`
	AssumeRole      *AWSAssumeRole `yaml:"assumeRole"`
}

// AWSAssumeRole is backendAuth.aws.assumeRole: STS AssumeRole with the
// default chain's credentials.
type AWSAssumeRole struct {
	RoleARN     string          `yaml:"roleArn" required:"true"`
	SessionName *string         `yaml:"sessionName"`
	Tags        []AWSSessionTag `yaml:"tags"`
}

// AWSSessionTag is one STS session tag: a static value or a CEL expression.
type AWSSessionTag struct {
	Key        string  `yaml:"key" required:"true"`
	Value      *string `yaml:"value"`
	Expression *string `yaml:"expression"`
}

// AzureAuth is backendAuth.azure (agentgateway's AzureAuth): exactly one
// of explicitConfig, developerImplicit: {} (Azure CLI / Azure Developer
// CLI logins) or implicit: {} (environment, workload identity, managed
// identity, then the developer tools).
type AzureAuth struct {
	ExplicitConfig    *AzureExplicit `yaml:"explicitConfig"`
	DeveloperImplicit *Empty         `yaml:"developerImplicit"`
	Implicit          *Empty         `yaml:"implicit"`
}

func (AzureAuth) oneOf() {}

// AzureExplicit is backendAuth.azure.explicitConfig.
type AzureExplicit struct {
	ClientSecret     *AzureClientSecret    `yaml:"clientSecret"`
	ManagedIdentity  *AzureManagedIdentity `yaml:"managedIdentity"`
	WorkloadIdentity *Empty                `yaml:"workloadIdentity"`
}

func (AzureExplicit) oneOf() {}

// AzureClientSecret is a service principal's client secret. agentgateway
// spells the keys tenant_id, client_id, client_secret; the camelCase
// spellings are accepted too.
type AzureClientSecret struct {
	TenantID     string `yaml:"tenantId" required:"true"`
	ClientID     string `yaml:"clientId" required:"true"`
	ClientSecret string `yaml:"clientSecret" required:"true" redact:"true"`
}

var azureSnakeKeys = map[string]string{"tenant_id": "tenantId", "client_id": "clientId", "client_secret": "clientSecret"}

// DecodeNode implements NodeDecoder: the snake_case keys map to camelCase.
func (c *AzureClientSecret) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		m := *n
		m.Content = append([]*yaml.Node(nil), n.Content...)
		for i := 0; i+1 < len(m.Content); i += 2 {
			if camel, ok := azureSnakeKeys[m.Content[i].Value]; ok {
				k := *m.Content[i]
				k.Value = camel
				m.Content[i] = &k
			}
		}
		n = &m
	}
	type plain AzureClientSecret // no DecodeNode method
	d.Decode(n, path, (*plain)(c))
}

// AzureManagedIdentity is a system-assigned identity, or the
// user-assigned one named by userAssignedIdentity.
type AzureManagedIdentity struct {
	UserAssignedIdentity *AzureUserAssignedIdentity `yaml:"userAssignedIdentity"`
}

// AzureUserAssignedIdentity names a user-assigned managed identity.
type AzureUserAssignedIdentity struct {
	ClientID   *string `yaml:"clientId"`
	ObjectID   *string `yaml:"objectId"`
	ResourceID *string `yaml:"resourceId"`
}

func (AzureUserAssignedIdentity) oneOf() {}
