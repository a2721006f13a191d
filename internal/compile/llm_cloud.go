package compile

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/azure"
	"github.com/agentgw/agentgateway/internal/llm/provider/bedrock"
)

// bedrockProvider builds a Bedrock provider. It signs with the static
// credentials of backendAuth.aws, else with AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (read per request); a
// backendAuth.key is a Bedrock API key instead. Other AWS credential
// sources (profiles, IMDS, STS AssumeRole) are not built.
func bedrockProvider(b *config.BedrockProvider, auth *config.BackendAuth) (llm.Provider, error) {
	if b.Region == "" {
		return nil, errors.New("bedrock.region is required")
	}
	s := bedrock.Spec{Model: deref(b.Model), Region: b.Region,
		GuardrailIdentifier: deref(b.GuardrailIdentifier), GuardrailVersion: deref(b.GuardrailVersion)}
	if s.GuardrailIdentifier != "" && s.GuardrailVersion == "" {
		s.GuardrailVersion = "DRAFT"
	}
	switch {
	case auth != nil && (auth.Key != nil || auth.Passthrough != nil):
	case auth != nil && auth.AWS != nil:
		m, _ := auth.AWS.Value.(map[string]any)
		str := func(k string) string { v, _ := m[k].(string); return v }
		for k := range m {
			switch k {
			case "accessKeyId", "secretAccessKey", "sessionToken", "region", "serviceName":
			default:
				return nil, fmt.Errorf("backendAuth.aws.%s is not supported by this gateway (static accessKeyId, secretAccessKey, sessionToken only; AssumeRole is not built)", k)
			}
		}
		if sn := str("serviceName"); sn != "" && sn != "bedrock" {
			return nil, fmt.Errorf("backendAuth.aws.serviceName %q: Bedrock signs as \"bedrock\"", sn)
		}
		if r := str("region"); r != "" && r != b.Region {
			return nil, fmt.Errorf("backendAuth.aws.region %q differs from bedrock.region %q", r, b.Region)
		}
		if str("accessKeyId") != "" || str("secretAccessKey") != "" {
			if str("accessKeyId") == "" || str("secretAccessKey") == "" {
				return nil, errors.New("backendAuth.aws needs both accessKeyId and secretAccessKey")
			}
			c := aws.Credentials{AccessKeyID: str("accessKeyId"), SecretAccessKey: str("secretAccessKey"), SessionToken: str("sessionToken"), Source: "config"}
			s.Credentials = func(context.Context) (aws.Credentials, error) { return c, nil }
			break
		}
		fallthrough
	default:
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
			return nil, errors.New("bedrock needs AWS credentials: backendAuth.aws {accessKeyId, secretAccessKey}, backendAuth.key (a Bedrock API key), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (profiles, IMDS and AssumeRole are not built)")
		}
		s.Credentials = envCredentials
	}
	return bedrock.New(s), nil
}

func envCredentials(context.Context) (aws.Credentials, error) {
	c := aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "env"}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return c, errors.New("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set")
	}
	return c, nil
}

// azureProvider builds an Azure OpenAI provider (resourceType openAI).
func azureProvider(a *config.AzureProvider, base string) (llm.Provider, error) {
	if a.ResourceType != "" && a.ResourceType != "openAI" {
		return nil, fmt.Errorf("azure.resourceType %q is not served by this gateway yet (served: openAI)", a.ResourceType)
	}
	if a.ProjectName != nil {
		return nil, errors.New("azure.projectName (AI Foundry projects) is not served by this gateway yet")
	}
	if a.ResourceName == "" {
		return nil, errors.New("azure.resourceName is required")
	}
	return azure.New(azure.Spec{Deployment: deref(a.Model), Resource: a.ResourceName, APIVersion: deref(a.APIVersion), Base: base}), nil
}
