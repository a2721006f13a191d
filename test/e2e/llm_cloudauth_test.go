package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/openai/openai-go/v3"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// cloudEnv gives the gateway child process an environment with no cloud
// credentials of this machine's: no ADC, no AWS env or files, IMDS off,
// then sets kv.
func cloudEnv(t *testing.T, kv ...string) {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "CLOUDSDK_CONFIG",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "aws-credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "aws-config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

func aiGateway(t *testing.T, host, provider, policies string) string {
	t.Helper()
	port := freePort(t)
	StartGateway(t, fmt.Sprintf(`binds:
- port: %d
  listeners:
  - routes:
    - backends:
      - ai:
          name: cloud
          hostOverride: %s
          provider: %s
%s`, port, host, provider, policies))
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func cloudChat(t *testing.T, base, text string) (*openai.ChatCompletion, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	oc := openAIClient(base)
	return oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}})
}

// TestLLMCloudAuthVertex: a Vertex AI provider with no key gets its
// token from Application Default Credentials (a service-account file
// whose JWT-bearer grant the fake Google token endpoint checks, then the
// GCE metadata server); one token serves many requests; a failing token
// endpoint is a 502 in the client's dialect.
func TestLLMCloudAuthVertex(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	oauth := llmtest.GoogleOAuth(t, &key.PublicKey)
	provider := `{vertex: {model: gemini-2.5-pro, projectId: my-proj, region: us-central1}}`

	t.Run("ADC service account", func(t *testing.T) {
		sa := filepath.Join(t.TempDir(), "sa.json")
		if err := os.WriteFile(sa, llmtest.ServiceAccountJSON(key, oauth.URL+"/token"), 0o600); err != nil {
			t.Fatal(err)
		}
		cloudEnv(t, "GOOGLE_APPLICATION_CREDENTIALS", sa)
		vx := llmtest.Vertex(t, "gcp-token-1")
		base := aiGateway(t, vx.Host(), provider, "")
		for i := range 3 {
			resp, err := cloudChat(t, base, fmt.Sprintf("hello %d", i))
			if err != nil || resp.Choices[0].Message.Content != llmtest.Reply(fmt.Sprintf("hello %d", i)) {
				t.Fatalf("request %d: %v %+v", i, err, resp)
			}
		}
		if got := vx.Requests()[vx.Count()-1].Header.Get("Authorization"); got != "Bearer gcp-token-1" || oauth.Minted() != 1 {
			t.Errorf("upstream Authorization %q, %d tokens minted for 3 requests", got, oauth.Minted())
		}
	})
	t.Run("explicit credential with token endpoint down", func(t *testing.T) {
		cloudEnv(t)
		oauth.Fail.Store(400)
		defer oauth.Fail.Store(0)
		vx := llmtest.Vertex(t, "unused")
		cred := filepath.Join(t.TempDir(), "sa.json")
		_ = os.WriteFile(cred, llmtest.ServiceAccountJSON(key, oauth.URL+"/token"), 0o600)
		base := aiGateway(t, vx.Host(), provider, fmt.Sprintf(`          policies: {backendAuth: {gcp: {type: accessToken, credential: {file: %q}}}}`, cred))
		_, err := cloudChat(t, base, "hello")
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 502 || !strings.Contains(ae.Message, "gcp credentials") || !strings.Contains(ae.Message, "invalid_grant") {
			t.Fatalf("got %v", err)
		}
		if vx.Count() != 0 {
			t.Errorf("the upstream was called without a token")
		}
	})
	t.Run("metadata server", func(t *testing.T) {
		md := llmtest.GCEMetadata(t)
		cloudEnv(t, "GCE_METADATA_HOST", strings.TrimPrefix(md.URL, "http://"))
		vx := llmtest.Vertex(t, "gce-token-1")
		base := aiGateway(t, vx.Host(), provider, `          policies: {backendAuth: {gcp: {}}}`)
		if _, err := cloudChat(t, base, "hello"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLLMCloudAuthBedrock: a Bedrock provider with no key signs with the
// AWS SDK's default chain (a shared credentials profile chosen by
// AWS_PROFILE, EC2 IMDSv2) and with backendAuth.aws.assumeRole (STS
// AssumeRole signed with the profile's keys); the Bedrock fake re-signs
// every request with the credentials it expects.
func TestLLMCloudAuthBedrock(t *testing.T) {
	profile := aws.Credentials{AccessKeyID: "AKIDPROFILE", SecretAccessKey: "profile/secret"}
	imds := aws.Credentials{AccessKeyID: "ASIAIMDS", SecretAccessKey: "imds-secret", SessionToken: "imds-session"}
	role := aws.Credentials{AccessKeyID: "ASIAROLE", SecretAccessKey: "role-secret", SessionToken: "role-session"}
	provider := fmt.Sprintf(`{bedrock: {model: "%s", region: us-east-1}}`, bedrockModel)
	writeProfile := func(t *testing.T) string {
		f := filepath.Join(t.TempDir(), "credentials")
		body := fmt.Sprintf("[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\n[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
			profile.AccessKeyID, profile.SecretAccessKey)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	check := func(t *testing.T, base string, br *llmtest.Fake, token string) {
		t.Helper()
		for i := range 2 {
			if resp, err := cloudChat(t, base, "hello bedrock"); err != nil || resp.Choices[0].Message.Content != llmtest.Reply("hello bedrock") {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if got := br.Requests()[br.Count()-1].Header.Get("X-Amz-Security-Token"); got != token {
			t.Errorf("X-Amz-Security-Token %q, want %q", got, token)
		}
	}

	t.Run("AWS_PROFILE", func(t *testing.T) {
		cloudEnv(t, "AWS_SHARED_CREDENTIALS_FILE", writeProfile(t), "AWS_PROFILE", "dev")
		br := llmtest.Bedrock(t, profile, "us-east-1")
		check(t, aiGateway(t, br.Host(), provider, ""), br, "")
	})
	t.Run("IMDSv2", func(t *testing.T) {
		md := llmtest.EC2IMDS(t, imds)
		cloudEnv(t, "AWS_EC2_METADATA_DISABLED", "", "AWS_EC2_METADATA_SERVICE_ENDPOINT", md.URL)
		br := llmtest.Bedrock(t, imds, "us-east-1")
		check(t, aiGateway(t, br.Host(), provider, `          policies: {backendAuth: {aws: {}}}`), br, imds.SessionToken)
		if md.Minted() != 1 {
			t.Errorf("IMDS asked %d times for 2 requests, want 1", md.Minted())
		}
	})
	t.Run("assumeRole", func(t *testing.T) {
		sts := llmtest.STS(t, profile, role, "us-east-1")
		cloudEnv(t, "AWS_SHARED_CREDENTIALS_FILE", writeProfile(t), "AWS_PROFILE", "dev", "AWS_ENDPOINT_URL_STS", sts.URL)
		br := llmtest.Bedrock(t, role, "us-east-1")
		check(t, aiGateway(t, br.Host(), provider, `          policies:
            backendAuth:
              aws:
                assumeRole: {roleArn: "arn:aws:iam::123456789012:role/llm", sessionName: gateway, tags: [{key: team, value: ai}]}`), br, role.SessionToken)
		if sts.Minted() != 1 || sts.LastForm("RoleSessionName") != "gateway" || sts.LastForm("Tags.member.1.Value") != "ai" {
			t.Errorf("STS: %d calls, session %q, tag %q", sts.Minted(), sts.LastForm("RoleSessionName"), sts.LastForm("Tags.member.1.Value"))
		}
	})
}

// TestLLMCloudAuthAzure: an Azure OpenAI provider authenticates with a
// Microsoft Entra token (client-credentials grant against a fake
// authority over TLS, trusted through SSL_CERT_FILE) sent as a Bearer
// token instead of api-key.
func TestLLMCloudAuthAzure(t *testing.T) {
	entra := llmtest.Entra(t, "tenant-1", "client-1", "s3cret")
	cloudEnv(t, "AZURE_AUTHORITY_HOST", entra.URL+"/", "SSL_CERT_FILE", entra.CertFile(t))
	az := llmtest.Azure(t, "entra-token-1")
	base := aiGateway(t, az.Host(), `{azure: {model: gpt-4o, resourceName: res, resourceType: openAI}}`, `          policies:
            backendAuth:
              azure: {explicitConfig: {clientSecret: {tenant_id: tenant-1, client_id: client-1, client_secret: s3cret}}}`)
	for i := range 2 {
		if resp, err := cloudChat(t, base, "hello azure"); err != nil || resp.Choices[0].Message.Content != llmtest.Reply("hello azure") {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	up := az.Requests()[az.Count()-1]
	if up.Header.Get("Authorization") != "Bearer entra-token-1" || up.Header.Get("Api-Key") != "" || entra.Minted() != 1 {
		t.Errorf("upstream saw %v; %d tokens minted", up.Header, entra.Minted())
	}
}

// TestCloudAuthHostBackend: backendAuth.aws signs requests to a plain
// host backend with SigV4 (the echo upstream re-signs with the expected
// key, region and service), and backendAuth.gcp sends a metadata-server
// ID token for the backend's audience.
func TestCloudAuthHostBackend(t *testing.T) {
	md := llmtest.GCEMetadata(t)
	cloudEnv(t, "GCE_METADATA_HOST", strings.TrimPrefix(md.URL, "http://"))
	creds := aws.Credentials{AccessKeyID: "AKIDHOST", SecretAccessKey: "host/secret", SessionToken: "host-session"}
	signed := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := llmtest.VerifySigV4(r, body, creds, "us-west-2", "execute-api"); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		_, _ = fmt.Fprintf(w, "signed %s %d", r.Header.Get("X-Amz-Security-Token"), len(body))
	})
	var idAuth atomic.Value
	google := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		idAuth.Store(r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "ok")
	})
	port := freePort(t)
	StartGateway(t, fmt.Sprintf(`binds:
- port: %d
  listeners:
  - routes:
    - matches: [{path: {pathPrefix: /aws}}]
      backends: [{host: "%s"}]
      policies:
        backendAuth: {aws: {accessKeyId: AKIDHOST, secretAccessKey: host/secret, sessionToken: host-session, region: us-west-2, serviceName: execute-api}}
    - matches: [{path: {pathPrefix: /gcp}}]
      backends: [{host: "%s"}]
      policies:
        backendAuth: {gcp: {type: idToken, audience: "https://svc.example"}}
`, port, strings.TrimPrefix(signed.URL, "http://"), strings.TrimPrefix(google.URL, "http://")))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for _, body := range []string{`{"q":"signed body"}`, ""} {
		resp, err := http.Post(base+"/aws/invoke?x=1", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != fmt.Sprintf("signed host-session %d", len(body)) {
			t.Errorf("aws: %d %s", resp.StatusCode, got)
		}
	}
	resp, body := get(t, base+"/gcp/x")
	if a, _ := idAuth.Load().(string); resp.StatusCode != 200 || body != "ok" || !strings.HasPrefix(a, "Bearer ") || strings.Count(a, ".") != 2 {
		t.Errorf("gcp: %d %q, upstream Authorization %q", resp.StatusCode, body, a)
	}
}
