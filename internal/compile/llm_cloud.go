package compile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agentgw/agentgateway/internal/cloudauth"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/azure"
	"github.com/agentgw/agentgateway/internal/llm/provider/bedrock"
	"github.com/agentgw/agentgateway/internal/llm/provider/vertex"
)

// Cloud credentials of the Vertex AI, Bedrock and Azure OpenAI providers
// (agentgateway's meaning): backendAuth.gcp, .aws and .azure, and with no
// backendAuth at all the provider's implicit default: Application Default
// Credentials, the AWS SDK's default chain, or Azure's implicit chain. A
// backendAuth.key (or passthrough) replaces them.

// credentialTimeout bounds one credential fetch made for a request.
const credentialTimeout = 30 * time.Second

// cloudAuthFits checks that a cloud backendAuth kind is used with its
// provider.
func cloudAuthFits(kind string, auth *config.BackendAuth) error {
	if auth == nil {
		return nil
	}
	for _, c := range []struct {
		set        bool
		key, owner string
	}{{auth.GCP != nil, "gcp", "vertex"}, {auth.AWS != nil, "aws", "bedrock"}, {auth.Azure != nil, "azure", "azure"}} {
		if c.set && kind != c.owner {
			return fmt.Errorf("backendAuth.%s authenticates %s providers only (this provider is %s)", c.key, c.owner, kind)
		}
	}
	return nil
}

// ownKey reports that backendAuth carries the credential itself (a key or
// the client's), so no cloud credential is used.
func ownKey(auth *config.BackendAuth) bool {
	return auth != nil && (auth.Key != nil || auth.Passthrough != nil)
}

// credentialError is what a client sees when a credential cannot be had:
// 502 in its own dialect (the gateway may fail over to another provider).
func credentialError(kind string, err error) error {
	return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI,
		Message: "cannot get " + kind + " credentials for the upstream: " + cloudauth.Describe(err)}
}

func tokenFunc(kind string, ts cloudauth.TokenSource) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, credentialTimeout)
		defer cancel()
		t, err := ts.Token(ctx)
		if err != nil {
			return "", credentialError(kind, err)
		}
		return t, nil
	}
}

// vertexProvider builds a Vertex AI provider; its token comes from
// backendAuth.gcp or ADC unless a key is configured.
func vertexProvider(v *config.VertexProvider, auth *config.BackendAuth, base string) (llm.Provider, error) {
	if v.ProjectID == "" {
		return nil, errors.New("vertex.projectId is required")
	}
	s := vertex.Spec{Model: deref(v.Model), Project: v.ProjectID, Region: deref(v.Region), Base: base}
	if ownKey(auth) {
		return vertex.New(s), nil
	}
	g := &config.GCPAuth{}
	if auth != nil && auth.GCP != nil {
		g = auth.GCP
	}
	host, _, _ := net.SplitHostPort(vertex.New(s).DefaultHost())
	ts, err := gcpSource(g, "https://"+host)
	if err != nil {
		return nil, err
	}
	s.Token = tokenFunc("gcp", ts)
	return vertex.New(s), nil
}

// gcpSource builds backendAuth.gcp's token source; defaultAudience is
// used by idToken without an audience.
func gcpSource(g *config.GCPAuth, defaultAudience string) (cloudauth.TokenSource, error) {
	spec := cloudauth.GCPSpec{}
	switch t := deref(g.Type); t {
	case "", "accessToken":
		if g.Audience != nil {
			return nil, errors.New("backendAuth.gcp.audience applies to type: idToken only")
		}
	case "idToken":
		spec.IDToken, spec.Audience = true, deref(g.Audience)
		if spec.Audience == "" {
			spec.Audience = defaultAudience
		}
	default:
		return nil, fmt.Errorf("backendAuth.gcp.type %q: want accessToken or idToken", t)
	}
	if g.Credential != nil {
		b, err := readSecret(*g.Credential)
		if err != nil {
			return nil, fmt.Errorf("backendAuth.gcp.credential: %v", err)
		}
		spec.Credential = []byte(b)
	}
	ts, err := cloudauth.NewGCP(spec)
	if err != nil {
		if g.Credential != nil {
			return nil, fmt.Errorf("backendAuth.gcp.credential: %v", err)
		}
		return nil, fmt.Errorf("backendAuth.gcp (application default credentials): %v", err)
	}
	return ts, nil
}

// bedrockProvider builds a Bedrock provider. It signs with backendAuth.aws
// (static keys, or the default chain with an optional assumeRole) or, with
// no backendAuth, the AWS SDK's default chain; a backendAuth.key is a
// Bedrock API key instead.
func bedrockProvider(b *config.BedrockProvider, auth *config.BackendAuth) (llm.Provider, error) {
	if b.Region == "" {
		return nil, errors.New("bedrock.region is required")
	}
	s := bedrock.Spec{Model: deref(b.Model), Region: b.Region,
		GuardrailIdentifier: deref(b.GuardrailIdentifier), GuardrailVersion: deref(b.GuardrailVersion)}
	if s.GuardrailIdentifier != "" && s.GuardrailVersion == "" {
		s.GuardrailVersion = "DRAFT"
	}
	if ownKey(auth) {
		return bedrock.New(s), nil
	}
	a := &config.AWSAuth{}
	if auth != nil && auth.AWS != nil {
		a = auth.AWS
	}
	if sn := deref(a.ServiceName); sn != "" && sn != "bedrock" {
		return nil, fmt.Errorf("backendAuth.aws.serviceName %q: Bedrock signs as \"bedrock\"", sn)
	}
	if r := deref(a.Region); r != "" && r != b.Region {
		return nil, fmt.Errorf("backendAuth.aws.region %q differs from bedrock.region %q", r, b.Region)
	}
	creds, err := awsCredentials(a, b.Region)
	if err != nil {
		return nil, err
	}
	s.Credentials = func(ctx context.Context) (aws.Credentials, error) {
		ctx, cancel := context.WithTimeout(ctx, credentialTimeout)
		defer cancel()
		c, err := creds.Retrieve(ctx)
		if err != nil {
			return c, credentialError("aws", err)
		}
		return c, nil
	}
	return bedrock.New(s), nil
}

// awsCredentials builds backendAuth.aws's credentials provider; region
// is the signing region (the SDK's default region, where STS is called).
func awsCredentials(a *config.AWSAuth, region string) (aws.CredentialsProvider, error) {
	spec := cloudauth.AWSSpec{AccessKeyID: deref(a.AccessKeyID), SecretAccessKey: deref(a.SecretAccessKey),
		SessionToken: deref(a.SessionToken), Region: region}
	if spec.SessionToken != "" && spec.AccessKeyID == "" {
		return nil, errors.New("backendAuth.aws.sessionToken goes with accessKeyId and secretAccessKey")
	}
	if ar := a.AssumeRole; ar != nil {
		if ar.RoleARN == "" {
			return nil, errors.New("backendAuth.aws.assumeRole.roleArn is required")
		}
		spec.RoleARN, spec.SessionName = ar.RoleARN, deref(ar.SessionName)
		for i, t := range ar.Tags {
			switch {
			case t.Expression != nil:
				return nil, fmt.Errorf("backendAuth.aws.assumeRole.tags[%d].expression: per-request (CEL) session tags are not supported by this gateway yet; use value", i)
			case t.Value == nil:
				return nil, fmt.Errorf("backendAuth.aws.assumeRole.tags[%d]: value is required", i)
			}
			if spec.Tags == nil {
				spec.Tags = map[string]string{}
			}
			if _, dup := spec.Tags[t.Key]; dup {
				return nil, fmt.Errorf("backendAuth.aws.assumeRole.tags[%d]: duplicate key %q", i, t.Key)
			}
			spec.Tags[t.Key] = *t.Value
		}
	}
	p, err := cloudauth.NewAWS(context.Background(), spec)
	if err != nil {
		return nil, fmt.Errorf("backendAuth.aws: %v", err)
	}
	return p, nil
}

// azureProvider builds an Azure OpenAI provider (resourceType openAI). It
// sends backendAuth.key as api-key; otherwise an Entra token from
// backendAuth.azure (or, with no backendAuth, the implicit chain) as a
// Bearer token.
func azureProvider(a *config.AzureProvider, base string, auth *config.BackendAuth) (llm.Provider, error) {
	if a.ResourceType != "" && a.ResourceType != "openAI" {
		return nil, fmt.Errorf("azure.resourceType %q is not served by this gateway yet (served: openAI)", a.ResourceType)
	}
	if a.ProjectName != nil {
		return nil, errors.New("azure.projectName (AI Foundry projects) is not served by this gateway yet")
	}
	if a.ResourceName == "" {
		return nil, errors.New("azure.resourceName is required")
	}
	s := azure.Spec{Deployment: deref(a.Model), Resource: a.ResourceName, APIVersion: deref(a.APIVersion), Base: base}
	if !ownKey(auth) {
		az := &config.AzureAuth{Implicit: &config.Empty{}}
		if auth != nil && auth.Azure != nil {
			az = auth.Azure
		}
		ts, err := azureSource(az)
		if err != nil {
			return nil, err
		}
		s.Token = tokenFunc("azure", ts)
	}
	return azure.New(s), nil
}

func azureSource(az *config.AzureAuth) (cloudauth.TokenSource, error) {
	var spec cloudauth.AzureSpec
	switch {
	case az.DeveloperImplicit != nil:
		spec.Kind = cloudauth.AzureDeveloperImplicit
	case az.Implicit != nil:
		spec.Kind = cloudauth.AzureImplicit
	case az.ExplicitConfig != nil && az.ExplicitConfig.ClientSecret != nil:
		cs := az.ExplicitConfig.ClientSecret
		spec.Kind, spec.TenantID, spec.ClientID, spec.ClientSecret = cloudauth.AzureClientSecret, cs.TenantID, cs.ClientID, cs.ClientSecret
	case az.ExplicitConfig != nil && az.ExplicitConfig.ManagedIdentity != nil:
		spec.Kind = cloudauth.AzureManagedIdentity
		if u := az.ExplicitConfig.ManagedIdentity.UserAssignedIdentity; u != nil {
			spec.IdentityClientID, spec.IdentityObjectID, spec.IdentityResourceID = deref(u.ClientID), deref(u.ObjectID), deref(u.ResourceID)
		}
	case az.ExplicitConfig != nil && az.ExplicitConfig.WorkloadIdentity != nil:
		spec.Kind = cloudauth.AzureWorkloadIdentity
	default:
		return nil, errors.New("backendAuth.azure: set one of explicitConfig, developerImplicit or implicit")
	}
	ts, err := cloudauth.NewAzure(spec)
	if err != nil {
		return nil, fmt.Errorf("backendAuth.azure (%s): %v", spec.Kind, err)
	}
	return ts, nil
}
