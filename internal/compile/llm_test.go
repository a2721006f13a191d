package compile

import (
	"io"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/config"
)

func compileLLM(t *testing.T, backend string) error {
	t.Helper()
	cfg, err := config.Load([]byte(`
binds:
- port: 3000
  listeners:
  - routes:
    - backends:
      - `+backend+"\n"), nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	_, err = Compile(cfg, testDeps(t, io.Discard))
	return err
}

// TestLLMCloudProviders checks what the Gemini, Vertex AI, Bedrock and
// Azure OpenAI providers accept and refuse at load.
func TestLLMCloudProviders(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, c := range []struct{ backend, wantErr string }{
		{`gemini: {model: gemini-2.0-flash, apiKey: k}`, ""},
		{`ai: {name: x, provider: {gemini: {model: g}}, policies: {backendAuth: {key: k}}}`, ""},
		{`ai: {name: x, provider: {vertex: {model: gemini-2.5-pro, projectId: p, region: us-central1}}, policies: {backendAuth: {key: tok}}}`, ""},
		{`ai: {name: x, provider: {vertex: {model: claude-sonnet-4-5, projectId: p}}, policies: {backendAuth: {gcp: {type: bogus}}}}`, "want accessToken or idToken"},
		{`vertex: {model: gemini-2.5-pro}`, "short vertex form"},
		{`bedrock: {model: m}`, "short bedrock form"},
		{`azureOpenAI: {model: m}`, "provider: {azure: {…}}"},
		{`ai: {name: x, provider: {bedrock: {model: m, region: us-east-1}}, policies: {backendAuth: {aws: {accessKeyId: a, secretAccessKey: s}}}}`, ""},
		{`ai: {name: x, provider: {bedrock: {model: m, region: us-east-1}}, policies: {backendAuth: {key: bedrock-api-key}}}`, ""},
		{`ai: {name: x, provider: {bedrock: {model: m, region: us-east-1}}}`, ""}, // the AWS SDK's default chain
		{`ai: {name: x, provider: {bedrock: {model: m, region: us-east-1}}, policies: {backendAuth: {aws: {accessKeyId: a}}}}`, "both accessKeyId and secretAccessKey"},
		{`ai: {name: x, provider: {bedrock: {model: m, region: us-east-1}}, policies: {backendAuth: {aws: {accessKeyId: a, secretAccessKey: s, assumeRole: {roleArn: r}}}}}`, "set either"},
		{`ai: {name: x, provider: {openAI: {model: m}}, policies: {backendAuth: {aws: {accessKeyId: a, secretAccessKey: s}}}}`, "bedrock providers only"},
		{`ai: {name: x, provider: {azure: {model: d, resourceName: r, resourceType: openAI, apiVersion: v1}}, policies: {backendAuth: {key: k}}}`, ""},
		{`ai: {name: x, provider: {azure: {model: d, resourceName: r, resourceType: foundry}}}`, "not served by this gateway yet"},
	} {
		err := compileLLM(t, c.backend)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.backend, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: got %v, want %q", c.backend, err, c.wantErr)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "a")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	if err := compileLLM(t, `ai: {name: x, provider: {bedrock: {model: m, region: us-east-1}}}`); err != nil {
		t.Errorf("env credentials: %v", err)
	}
}
