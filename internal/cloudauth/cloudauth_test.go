package cloudauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// TestCache: a token is shared until its refresh time, then fetched
// again; a failed refresh keeps serving a still-valid token.
func TestCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	n, calls := 0, 0
	var fail error
	c := newCache(func(context.Context) (expiring, error) {
		calls++
		if fail != nil {
			return expiring{}, fail
		}
		n++
		return expiring{value: "t" + string(rune('0'+n)), expires: now.Add(time.Hour)}, nil
	})
	c.now = func() time.Time { return now }
	ctx := context.Background()
	for i, step := range []struct {
		advance   time.Duration
		fail      error
		want      string
		wantErr   bool
		wantCalls int // fetches so far
	}{
		{0, nil, "t1", false, 1},
		{time.Minute, nil, "t1", false, 1},                     // cached
		{54 * time.Minute, nil, "t2", false, 2},                // 5 min before expiry: refreshed
		{56 * time.Minute, errors.New("down"), "t2", false, 3}, // 1h-56m > 10s left: old token
		{4*time.Minute + 1, errors.New("down"), "", true, 4},   // expired: the error
		{time.Second, nil, "", true, 4},                        // inside the backoff: the same error, no fetch
		{failBackoff, nil, "t3", false, 5},                     // recovered
		{0, nil, "t3", false, 5},                               // cached again
	} {
		now = now.Add(step.advance)
		fail = step.fail
		got, err := c.Token(ctx)
		if (err != nil) != step.wantErr || got != step.want || calls != step.wantCalls {
			t.Fatalf("step %d, after %v (fail=%v): got %q, %v, %d fetches; want %q (err=%v), %d fetches",
				i, step.advance, step.fail, got, err, calls, step.want, step.wantErr, step.wantCalls)
		}
	}
}

// TestCacheCanceledCallerIsNotASourceFailure: a fetch that failed because
// its caller went away does not hold the next caller back.
func TestCacheCanceledCallerIsNotASourceFailure(t *testing.T) {
	calls := 0
	c := newCache(func(ctx context.Context) (expiring, error) {
		calls++
		if err := ctx.Err(); err != nil {
			return expiring{}, err
		}
		return expiring{value: "tok", expires: time.Now().Add(time.Hour)}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Token(ctx); err == nil {
		t.Fatal("canceled caller got a token")
	}
	if got, err := c.Token(context.Background()); err != nil || got != "tok" || calls != 2 {
		t.Fatalf("next caller: %q, %v after %d fetches", got, err, calls)
	}
}

func newKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// noADC makes ADC find nothing on this machine.
func noADC(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("GCE_METADATA_HOST", "")
	t.Setenv("CLOUDSDK_CONFIG", "")
	t.Setenv("HOME", t.TempDir())
}

// TestGCPServiceAccount: the service-account JWT-bearer grant (RFC 7523)
// against the token_uri of the JSON; the token is cached, refreshed when
// stale, and an endpoint failure is an error naming it.
func TestGCPServiceAccount(t *testing.T) {
	noADC(t)
	key := newKey(t)
	srv := llmtest.GoogleOAuth(t, &key.PublicKey)
	js := llmtest.ServiceAccountJSON(key, srv.URL+"/token")
	ctx := context.Background()

	ts, err := NewGCP(GCPSpec{Credential: js})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if tok, err := ts.Token(ctx); err != nil || tok != "gcp-token-1" {
			t.Fatalf("token: %q, %v", tok, err)
		}
	}
	if srv.Minted() != 1 {
		t.Errorf("minted %d tokens for 3 requests, want 1", srv.Minted())
	}
	if !strings.Contains(srv.LastForm("assertion"), ".") {
		t.Errorf("no JWT assertion sent")
	}

	// Past its refresh time (5 minutes before expiry) the token is
	// replaced.
	c := ts.(*cache)
	later := time.Now().Add(56 * time.Minute)
	c.now = func() time.Time { return later }
	if tok, err := ts.Token(ctx); err != nil || tok != "gcp-token-2" {
		t.Errorf("after 56 minutes: %q, %v", tok, err)
	}

	srv.Fail.Store(400)
	ts, _ = NewGCP(GCPSpec{Credential: js})
	if _, err := ts.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("failing endpoint: %v", err)
	}
}

// TestGCPSources: ADC from GOOGLE_APPLICATION_CREDENTIALS (an
// authorized_user file: the refresh-token grant), gcloud's well-known
// file, the metadata server, ID tokens, and broken inputs.
func TestGCPSources(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	oauth := llmtest.GoogleOAuth(t, &key.PublicKey)
	user, _ := json.Marshal(map[string]string{"type": "authorized_user", "client_id": "c", "client_secret": "s",
		"refresh_token": "r", "token_uri": oauth.URL + "/token"})

	t.Run("GOOGLE_APPLICATION_CREDENTIALS authorized_user", func(t *testing.T) {
		noADC(t)
		f := filepath.Join(t.TempDir(), "adc.json")
		_ = os.WriteFile(f, user, 0o600)
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", f)
		ts, err := NewGCP(GCPSpec{})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := ts.Token(ctx); err != nil || !strings.HasPrefix(tok, "gcp-token-") || oauth.LastForm("grant_type") != "refresh_token" {
			t.Errorf("token %q, %v (grant %q)", tok, err, oauth.LastForm("grant_type"))
		}
		id, err := NewGCP(GCPSpec{IDToken: true, Audience: "https://svc.example"})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := id.Token(ctx); err != nil || strings.Count(tok, ".") != 2 {
			t.Errorf("ID token %q, %v", tok, err)
		}
	})
	t.Run("gcloud well-known file", func(t *testing.T) {
		noADC(t)
		d := filepath.Join(os.Getenv("HOME"), ".config", "gcloud")
		_ = os.MkdirAll(d, 0o700)
		_ = os.WriteFile(filepath.Join(d, "application_default_credentials.json"), llmtest.ServiceAccountJSON(key, oauth.URL+"/token"), 0o600)
		ts, err := NewGCP(GCPSpec{})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := ts.Token(ctx); err != nil || !strings.HasPrefix(tok, "gcp-token-") {
			t.Errorf("token %q, %v", tok, err)
		}
	})
	t.Run("metadata server", func(t *testing.T) {
		noADC(t)
		md := llmtest.GCEMetadata(t)
		t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(md.URL, "http://"))
		ts, err := NewGCP(GCPSpec{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if tok, err := ts.Token(ctx); err != nil || tok != "gce-token-1" {
				t.Fatalf("token %q, %v", tok, err)
			}
		}
		id, err := NewGCP(GCPSpec{IDToken: true, Audience: "https://svc.example"})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := id.Token(ctx); err != nil || strings.Count(tok, ".") != 2 {
			t.Errorf("ID token %q, %v", tok, err)
		}
	})
	t.Run("service-account ID token", func(t *testing.T) {
		noADC(t)
		ts, err := NewGCP(GCPSpec{IDToken: true, Audience: "https://svc.example", Credential: llmtest.ServiceAccountJSON(key, oauth.URL+"/token")})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := ts.Token(ctx); err != nil || strings.Count(tok, ".") != 2 {
			t.Errorf("ID token %q, %v", tok, err)
		}
	})
	for _, c := range []struct {
		name string
		spec GCPSpec
		want string
	}{
		{"not JSON", GCPSpec{Credential: []byte("nope")}, "not a Google credential JSON"},
		{"no type", GCPSpec{Credential: []byte(`{}`)}, `no "type"`},
		{"unknown type", GCPSpec{Credential: []byte(`{"type":"weird"}`)}, "weird"},
		{"idToken from an external account", GCPSpec{IDToken: true, Audience: "a", Credential: []byte(`{"type":"external_account"}`)}, "service_account and authorized_user"},
		{"idToken without audience", GCPSpec{IDToken: true}, "audience"},
	} {
		t.Run(c.name, func(t *testing.T) {
			noADC(t)
			if _, err := NewGCP(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

var (
	profileCreds = aws.Credentials{AccessKeyID: "AKIDPROFILE", SecretAccessKey: "profile-secret"}
	imdsCreds    = aws.Credentials{AccessKeyID: "ASIAIMDS", SecretAccessKey: "imds-secret", SessionToken: "imds-session"}
	roleCreds    = aws.Credentials{AccessKeyID: "ASIAROLE", SecretAccessKey: "role-secret", SessionToken: "role-session"}
)

// awsEnv isolates the AWS SDK from this machine: no env credentials, no
// shared files (unless given), IMDS off (unless given).
func awsEnv(t *testing.T, kv ...string) {
	t.Helper()
	d := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_EC2_METADATA_SERVICE_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(d, "credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(d, "config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

func profileFile(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "credentials")
	body := "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n\n[dev]\naws_access_key_id = " +
		profileCreds.AccessKeyID + "\naws_secret_access_key = " + profileCreds.SecretAccessKey + "\n"
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestAWS: the default chain (a shared credentials profile, IMDSv2), STS
// AssumeRole on top of it, static keys, and the errors.
func TestAWS(t *testing.T) {
	ctx := context.Background()
	get := func(t *testing.T, s AWSSpec) aws.Credentials {
		t.Helper()
		p, err := NewAWS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("profile", func(t *testing.T) {
		awsEnv(t, "AWS_SHARED_CREDENTIALS_FILE", profileFile(t), "AWS_PROFILE", "dev")
		if c := get(t, AWSSpec{Region: "us-east-1"}); c.AccessKeyID != profileCreds.AccessKeyID {
			t.Errorf("got %s", c.AccessKeyID)
		}
	})
	t.Run("IMDSv2, cached", func(t *testing.T) {
		imds := llmtest.EC2IMDS(t, imdsCreds)
		awsEnv(t, "AWS_EC2_METADATA_DISABLED", "", "AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
		p, err := NewAWS(ctx, AWSSpec{Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c, err := p.Retrieve(ctx)
			if err != nil || c.AccessKeyID != imdsCreds.AccessKeyID || c.SessionToken != imdsCreds.SessionToken {
				t.Fatalf("got %+v, %v", c, err)
			}
		}
		if imds.Minted() != 1 {
			t.Errorf("IMDS asked %d times, want 1", imds.Minted())
		}
	})
	t.Run("assumeRole", func(t *testing.T) {
		sts := llmtest.STS(t, profileCreds, roleCreds, "eu-west-1")
		awsEnv(t, "AWS_SHARED_CREDENTIALS_FILE", profileFile(t), "AWS_PROFILE", "dev", "AWS_ENDPOINT_URL_STS", sts.URL)
		s := AWSSpec{Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/llm", SessionName: "gw", Tags: map[string]string{"team": "ai"}}
		p, err := NewAWS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if c, err := p.Retrieve(ctx); err != nil || c.AccessKeyID != roleCreds.AccessKeyID {
				t.Fatalf("got %+v, %v", c, err)
			}
		}
		if sts.Minted() != 1 || sts.LastForm("RoleSessionName") != "gw" || sts.LastForm("Tags.member.1.Key") != "team" {
			t.Errorf("STS calls %d, form session=%q tag=%q", sts.Minted(), sts.LastForm("RoleSessionName"), sts.LastForm("Tags.member.1.Key"))
		}
		sts.Fail.Store(403)
		p, _ = NewAWS(ctx, s)
		if _, err := p.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("failing STS: %v", err)
		}
	})
	t.Run("static", func(t *testing.T) {
		awsEnv(t)
		if c := get(t, AWSSpec{AccessKeyID: "a", SecretAccessKey: "s", SessionToken: "t"}); c.AccessKeyID != "a" || c.SessionToken != "t" {
			t.Errorf("got %+v", c)
		}
	})
	for _, c := range []struct {
		name string
		env  []string
		spec AWSSpec
		want string
	}{
		{"half a key", nil, AWSSpec{AccessKeyID: "a"}, "both accessKeyId and secretAccessKey"},
		{"keys and role", nil, AWSSpec{AccessKeyID: "a", SecretAccessKey: "s", RoleARN: "r"}, "either"},
		{"missing profile", []string{"AWS_PROFILE", "nope"}, AWSSpec{Region: "us-east-1"}, "nope"},
		{"role without region", nil, AWSSpec{RoleARN: "r"}, "region"},
	} {
		t.Run(c.name, func(t *testing.T) {
			awsEnv(t, c.env...)
			if _, err := NewAWS(ctx, c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestAzureClientSecret: the client-credentials grant against a fake
// Entra authority (TLS, a custom authority host); the token is cached and
// a rejected secret is an error.
func TestAzureClientSecret(t *testing.T) {
	t.Setenv("AZURE_AUTHORITY_HOST", "")
	ctx := context.Background()
	entra := llmtest.Entra(t, "tenant-1", "client-1", "secret-1")
	opts := azcore.ClientOptions{Transport: entra.Client(),
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: entra.URL + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}}
	ts, err := NewAzure(AzureSpec{Kind: AzureClientSecret, TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "secret-1", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if tok, err := ts.Token(ctx); err != nil || tok != "entra-token-1" {
			t.Fatalf("token %q, %v", tok, err)
		}
	}
	if entra.Minted() != 1 || !strings.Contains(entra.LastForm("scope"), AzureScope) {
		t.Errorf("minted %d, scope %q", entra.Minted(), entra.LastForm("scope"))
	}
	bad, err := NewAzure(AzureSpec{Kind: AzureClientSecret, TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "wrong", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
	for _, c := range []struct {
		spec AzureSpec
		want string
	}{
		{AzureSpec{Kind: AzureClientSecret, TenantID: "t"}, "needs tenantId, clientId and clientSecret"},
		{AzureSpec{Kind: "bogus"}, "unknown"},
		{AzureSpec{Kind: AzureImplicit, Options: azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: "http://x/"}}}, "https"},
	} {
		if _, err := NewAzure(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.spec.Kind, err, c.want)
		}
	}
}

// TestAWSBackoff: a failed retrieval answers for failBackoff without
// asking the chain again; a canceled caller's failure does not count.
func TestAWSBackoff(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	calls := 0
	var fail error
	b := newAWSBackoff(aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		calls++
		if err := ctx.Err(); err != nil {
			return aws.Credentials{}, err
		}
		if fail != nil {
			return aws.Credentials{}, fail
		}
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s"}, nil
	}))
	b.now = func() time.Time { return now }
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	ctx := context.Background()
	for i, step := range []struct {
		ctx       context.Context
		advance   time.Duration
		fail      error
		wantErr   bool
		wantCalls int
	}{
		{ctx, 0, nil, false, 1},
		{ctx, 0, errors.New("no IMDS"), true, 2},
		{ctx, time.Second, nil, true, 2}, // inside the backoff: the same error, no call
		{ctx, failBackoff, nil, false, 3},
		{canceled, 0, nil, true, 4},
		{ctx, 0, nil, false, 5}, // the canceled caller did not start a backoff
	} {
		now = now.Add(step.advance)
		fail = step.fail
		_, err := b.Retrieve(step.ctx)
		if (err != nil) != step.wantErr || calls != step.wantCalls {
			t.Fatalf("step %d: err %v after %d calls; want err=%v after %d", i, err, calls, step.wantErr, step.wantCalls)
		}
	}
}
