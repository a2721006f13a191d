package config

import (
	"strings"
	"testing"
)

// TestCloudBackendAuth decodes backendAuth.gcp, .aws and .azure with
// agentgateway's shapes, and names the field and line of what is wrong.
func TestCloudBackendAuth(t *testing.T) {
	route := func(auth string) string {
		return "binds:\n- port: 1\n  listeners:\n  - routes:\n    - backends: [{host: 'localhost:1'}]\n      policies:\n        backendAuth: " + auth + "\n"
	}
	for _, c := range []struct {
		auth    string
		wantErr string
		check   func(*BackendAuth) bool
	}{
		{`{gcp: {type: idToken, audience: "https://svc", credential: {file: /k.json}}}`, "", func(a *BackendAuth) bool {
			return *a.GCP.Type == "idToken" && *a.GCP.Audience == "https://svc" && *a.GCP.Credential.File == "/k.json"
		}},
		{`{gcp: {}}`, "", func(a *BackendAuth) bool { return a.GCP != nil && a.GCP.Type == nil }},
		{`{aws: {accessKeyId: a, secretAccessKey: s, sessionToken: t, region: r, serviceName: bedrock}}`, "", func(a *BackendAuth) bool {
			return *a.AWS.AccessKeyID == "a" && *a.AWS.SessionToken == "t" && *a.AWS.ServiceName == "bedrock"
		}},
		{`{aws: {assumeRole: {roleArn: arn, sessionName: gw, tags: [{key: team, value: ai}]}}}`, "", func(a *BackendAuth) bool {
			return a.AWS.AssumeRole.RoleARN == "arn" && *a.AWS.AssumeRole.Tags[0].Value == "ai"
		}},
		{`{azure: {explicitConfig: {clientSecret: {tenant_id: t, client_id: c, client_secret: s}}}}`, "", func(a *BackendAuth) bool {
			cs := a.Azure.ExplicitConfig.ClientSecret
			return cs.TenantID == "t" && cs.ClientID == "c" && cs.ClientSecret == "s"
		}},
		{`{azure: {explicitConfig: {clientSecret: {tenantId: t, clientId: c, clientSecret: s}}}}`, "", func(a *BackendAuth) bool {
			return a.Azure.ExplicitConfig.ClientSecret.ClientSecret == "s"
		}},
		{`{azure: {explicitConfig: {managedIdentity: {userAssignedIdentity: {clientId: u}}}}}`, "", func(a *BackendAuth) bool {
			return *a.Azure.ExplicitConfig.ManagedIdentity.UserAssignedIdentity.ClientID == "u"
		}},
		{`{azure: {implicit: {}}}`, "", func(a *BackendAuth) bool { return a.Azure.Implicit != nil }},
		{`{azure: {developerImplicit: {}}}`, "", func(a *BackendAuth) bool { return a.Azure.DeveloperImplicit != nil }},
		{`{azure: {implicit: {}, developerImplicit: {}}}`, "line 7 col 30: binds[0].listeners[0].routes[0].policies.backendAuth.azure: only one of explicitConfig, developerImplicit, implicit may be set", nil},
		{`{azure: {explicitConfig: {clientSecret: {tenantId: t, clientId: c}}}}`, `line 7 col 62: binds[0].listeners[0].routes[0].policies.backendAuth.azure.explicitConfig.clientSecret: missing required key "clientSecret"`, nil},
		{`{azure: {explicitConfig: {clientSecret: {tenant_id: t, tenantId: t, clientId: c, clientSecret: s}}}}`, "tenantId", nil},
		{`{aws: {assumeRole: {sessionName: x}}}`, `missing required key "roleArn"`, nil},
		{`{gcp: {typ: idToken}}`, `unknown key "typ"`, nil},
	} {
		src := route(c.auth)
		if c.wantErr != "" {
			if got := strings.Join(loadErrors(t, src, testEnv), "\n"); !strings.Contains(got, c.wantErr) {
				t.Errorf("%s:\ngot  %s\nwant %s", c.auth, got, c.wantErr)
			}
			continue
		}
		cfg := mustLoad(t, src)
		a := cfg.Binds[0].Listeners[0].Routes[0].Policies.BackendAuth
		if !c.check(a) {
			t.Errorf("%s: decoded %+v", c.auth, a)
		}
	}
	out := string(dumpJSON(t, Dump(mustLoad(t, route(`{azure: {explicitConfig: {clientSecret: {tenantId: t, clientId: c, clientSecret: topsecret1}}}}`)))))
	out += string(dumpJSON(t, Dump(mustLoad(t, route(`{aws: {accessKeyId: topsecret2, secretAccessKey: topsecret3, sessionToken: topsecret4}}`)))))
	out += string(dumpJSON(t, Dump(mustLoad(t, route(`{gcp: {credential: '{"type":"service_account","private_key":"topsecret5"}'}}`)))))
	if strings.Contains(out, "topsecret") {
		t.Errorf("secret in dump: %s", out)
	}
}
