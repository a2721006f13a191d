package compile

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/config"
)

// noCloudEnv keeps this machine's cloud credentials out of a test.
func noCloudEnv(t *testing.T) {
	home := t.TempDir()
	for _, k := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "CLOUDSDK_CONFIG", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AZURE_AUTHORITY_HOST"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "c"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "f"))
}

// TestCloudAuthConfig: what backendAuth.gcp, .aws and .azure accept and
// refuse at load, on LLM providers and host backends; errors name the
// field and the line.
func TestCloudAuthConfig(t *testing.T) {
	noCloudEnv(t)
	vertex := `ai: {name: v, provider: {vertex: {model: gemini-2.5-pro, projectId: p}}, policies: {backendAuth: %s}}`
	bedrock := `ai: {name: b, provider: {bedrock: {model: m, region: us-east-1}}, policies: {backendAuth: %s}}`
	azure := `ai: {name: a, provider: {azure: {model: d, resourceName: r, resourceType: openAI}}, policies: {backendAuth: %s}}`
	host := `{host: "127.0.0.1:1", policies: {backendAuth: %s}}`
	for _, c := range []struct{ backend, auth, wantErr string }{
		{vertex, `{gcp: {}}`, ""},
		{vertex, `{gcp: {type: idToken}}`, ""},
		{vertex, `{gcp: {type: accessToken, audience: x}}`, "line 6 col 13: binds[0].listeners[0].routes[0].backends[0].ai: backendAuth.gcp.audience applies to type: idToken only"},
		{vertex, `{gcp: {credential: "not json"}}`, "backendAuth.gcp.credential: credential is not a Google credential JSON"},
		{vertex, `{gcp: {credential: {file: /nonexistent/sa.json}}}`, "backendAuth.gcp.credential: open /nonexistent/sa.json"},
		{vertex, `{aws: {}}`, "backendAuth.aws authenticates bedrock providers only (this provider is vertex)"},
		{bedrock, `{aws: {}}`, ""},
		{bedrock, `{aws: {assumeRole: {roleArn: arn, tags: [{key: k, value: v}]}}}`, ""},
		{bedrock, `{aws: {assumeRole: {roleArn: arn, tags: [{key: k, expression: jwt.sub}]}}}`, "backendAuth.aws.assumeRole.tags[0].expression: per-request (CEL) session tags are not supported"},
		{bedrock, `{aws: {sessionToken: t}}`, "sessionToken goes with accessKeyId"},
		{bedrock, `{aws: {serviceName: s3}}`, `Bedrock signs as "bedrock"`},
		{bedrock, `{azure: {implicit: {}}}`, "backendAuth.azure authenticates azure providers only"},
		{azure, `{azure: {implicit: {}}}`, ""},
		{azure, `{azure: {developerImplicit: {}}}`, ""},
		{azure, `{azure: {explicitConfig: {clientSecret: {tenant_id: t, client_id: c, client_secret: s}}}}`, ""},
		{azure, `{azure: {explicitConfig: {managedIdentity: {userAssignedIdentity: {objectId: o}}}}}`, ""},
		{azure, `{azure: {explicitConfig: {workloadIdentity: {}}}}`, "backendAuth.azure (workloadIdentity): no client ID specified"}, // AZURE_CLIENT_ID etc. unset
		{azure, `{gcp: {}}`, "backendAuth.gcp authenticates vertex providers only"},
		{host, `{aws: {accessKeyId: a, secretAccessKey: s, region: us-west-2, serviceName: execute-api}}`, ""},
		{host, `{aws: {accessKeyId: a, secretAccessKey: s}}`, "backendAuth.aws.region is required for a host backend"},
		{host, `{gcp: {type: idToken}}`, ""},
		{host, `{azure: {implicit: {}}}`, ""},
		{host, `{gcp: {}, key: k}`, "set only one of key, passthrough, gcp, aws and azure"},
	} {
		backend := strings.Replace(c.backend, "%s", c.auth, 1)
		cfg, err := config.Load([]byte("binds:\n- port: 3000\n  listeners:\n  - routes:\n    - backends:\n      - "+backend+"\n"), nil)
		if err != nil {
			t.Fatalf("%s: load: %v", backend, err)
		}
		_, err = Compile(cfg, testDeps(t, io.Discard))
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", backend, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s:\ngot  %v\nwant %q", backend, err, c.wantErr)
		}
	}
}
