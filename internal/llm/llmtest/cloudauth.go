package llmtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TokenServer is a fake credential endpoint (Google OAuth2, GCE metadata,
// EC2 IMDS, STS, Entra). It mints numbered tokens ("<Prefix>-1", …) and
// counts the requests that minted them.
type TokenServer struct {
	*httptest.Server
	Prefix string
	// ExpiresIn is the lifetime of minted tokens (default 3600s).
	ExpiresIn time.Duration
	// Fail, when set, answers every token request with this status.
	Fail atomic.Int32

	n    atomic.Int32
	mu   sync.Mutex
	last map[string]string // the last request's form values
}

// Minted is how many tokens were minted.
func (s *TokenServer) Minted() int { return int(s.n.Load()) }

// LastForm is a form value of the last token request.
func (s *TokenServer) LastForm(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[k]
}

func (s *TokenServer) mint() (string, int) {
	exp := s.ExpiresIn
	if exp == 0 {
		exp = time.Hour
	}
	return fmt.Sprintf("%s-%d", s.Prefix, s.n.Add(1)), int(exp / time.Second)
}

func (s *TokenServer) failed(w http.ResponseWriter) bool {
	if st := s.Fail.Load(); st != 0 {
		writeJSON(w, int(st), map[string]any{"error": "invalid_grant", "error_description": "fake token endpoint told to fail"})
		return true
	}
	return false
}

func (s *TokenServer) remember(r *http.Request) {
	_ = r.ParseForm()
	m := map[string]string{}
	for k := range r.Form {
		m[k] = r.Form.Get(k)
	}
	s.mu.Lock()
	s.last = m
	s.mu.Unlock()
}

func newTokenServer(t testing.TB, prefix string, tls bool, h func(s *TokenServer) http.HandlerFunc) *TokenServer {
	s := &TokenServer{Prefix: prefix}
	s.Server = httptest.NewUnstartedServer(h(s))
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// GoogleOAuth starts a fake Google OAuth2 token endpoint
// (https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
// POST /token with the JWT-bearer grant of RFC 7523
// (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, an RS256
// assertion signed with key, checked here, whose claims carry scope or,
// for an ID token, target_audience) or the refresh-token grant of RFC 6749
// §6 (an authorized_user file). Answers {access_token, expires_in,
// token_type} (with an id_token for the refresh grant) or {id_token}.
func GoogleOAuth(t testing.TB, key *rsa.PublicKey) *TokenServer {
	return newTokenServer(t, "gcp-token", false, func(s *TokenServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.remember(r)
			if s.failed(w) {
				return
			}
			switch r.Form.Get("grant_type") {
			case "urn:ietf:params:oauth:grant-type:jwt-bearer":
				claims, err := verifyRS256(r.Form.Get("assertion"), key)
				if err != nil {
					writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": err.Error()})
					return
				}
				tok, exp := s.mint()
				if aud, _ := claims["target_audience"].(string); aud != "" {
					writeJSON(w, 200, map[string]any{"id_token": FakeJWT(tok, aud, exp)})
					return
				}
				writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": exp, "token_type": "Bearer"})
			case "refresh_token":
				if r.Form.Get("refresh_token") == "" || r.Form.Get("client_id") == "" {
					writeJSON(w, 400, map[string]any{"error": "invalid_request"})
					return
				}
				tok, exp := s.mint()
				writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": exp, "token_type": "Bearer",
					"id_token": FakeJWT(tok, r.Form.Get("client_id"), exp)})
			default:
				writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
			}
		}
	})
}

// GCEMetadata starts a fake GCE metadata server
// (https://cloud.google.com/compute/docs/metadata/querying-metadata and
// …/access-authenticate-workloads: GET
// /computeMetadata/v1/instance/service-accounts/default/token and
// …/identity?audience=, both requiring Metadata-Flavor: Google). Point
// GCE_METADATA_HOST at its host:port.
func GCEMetadata(t testing.TB) *TokenServer {
	return newTokenServer(t, "gce-token", false, func(s *TokenServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			if r.Header.Get("Metadata-Flavor") != "Google" {
				http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
				return
			}
			const sa = "/computeMetadata/v1/instance/service-accounts/default/"
			switch r.URL.Path {
			case sa + "token":
				if s.failed(w) {
					return
				}
				tok, exp := s.mint()
				writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": exp, "token_type": "Bearer"})
			case sa + "identity":
				if s.failed(w) {
					return
				}
				tok, exp := s.mint()
				_, _ = io.WriteString(w, FakeJWT(tok, r.URL.Query().Get("audience"), exp))
			case "/computeMetadata/v1/project/project-id":
				_, _ = io.WriteString(w, "fake-project")
			default:
				http.NotFound(w, r)
			}
		}
	})
}

// FakeJWT is an unsigned JWT-shaped token (what Google's ID tokens look
// like to a client that only reads exp and aud).
func FakeJWT(sub, aud string, expiresIn int) string {
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"sub": sub, "aud": aud, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Duration(expiresIn) * time.Second).Unix()})
	return enc(h) + "." + enc(c) + "." + enc([]byte("fake-signature"))
}

func verifyRS256(jwt string, key *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("assertion is not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("assertion signature: %v", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}

// ServiceAccountJSON is a service_account credential file for key whose
// token_uri is tokenURI.
func ServiceAccountJSON(key *rsa.PrivateKey, tokenURI string) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	b, _ := json.Marshal(map[string]any{"type": "service_account", "project_id": "fake-project",
		"private_key_id": "k1", "private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "gateway@fake-project.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURI})
	return b
}

// EC2IMDS starts a fake EC2 instance metadata service, IMDSv2
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
// and …/iam-roles-for-amazon-ec2.html#instance-metadata-security-credentials):
// PUT /latest/api/token, then GET
// /latest/meta-data/iam/security-credentials/[role] with the session
// token. It hands out creds. Point AWS_EC2_METADATA_SERVICE_ENDPOINT at it.
func EC2IMDS(t testing.TB, creds aws.Credentials) *TokenServer {
	const session = "fake-imds-session"
	return newTokenServer(t, "imds", false, func(s *TokenServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/latest/api/token" && r.Method == http.MethodPut {
				ttl := r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds")
				if ttl == "" {
					http.Error(w, "missing TTL", http.StatusBadRequest)
					return
				}
				w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)
				_, _ = io.WriteString(w, session)
				return
			}
			if r.Header.Get("X-Aws-Ec2-Metadata-Token") != session {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			switch r.URL.Path {
			case "/latest/meta-data/iam/security-credentials/":
				_, _ = io.WriteString(w, "fake-role")
			case "/latest/meta-data/iam/security-credentials/fake-role":
				if s.failed(w) {
					return
				}
				s.n.Add(1)
				writeJSON(w, 200, map[string]any{"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": time.Now().UTC().Format(time.RFC3339),
					"AccessKeyId": creds.AccessKeyID, "SecretAccessKey": creds.SecretAccessKey, "Token": creds.SessionToken,
					"Expiration": time.Now().Add(6 * time.Hour).UTC().Format(time.RFC3339)})
			default:
				http.NotFound(w, r)
			}
		}
	})
}

// STS starts a fake AWS STS endpoint for AssumeRole
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html:
// POST / with Action=AssumeRole, RoleArn, RoleSessionName, Tags.member.N,
// SigV4-signed by source, checked here; the XML AssumeRoleResponse). It
// hands out assumed. Point AWS_ENDPOINT_URL_STS at it.
func STS(t testing.TB, source, assumed aws.Credentials, region string) *TokenServer {
	return newTokenServer(t, "sts", false, func(s *TokenServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(raw)))
			if err := VerifySigV4(r, raw, source, region, "sts"); err != nil {
				stsErr(w, 403, "SignatureDoesNotMatch", err.Error())
				return
			}
			s.remember(r)
			if st := s.Fail.Load(); st != 0 {
				stsErr(w, int(st), "AccessDenied", "fake STS told to fail")
				return
			}
			if r.Form.Get("Action") != "AssumeRole" || r.Form.Get("RoleArn") == "" {
				stsErr(w, 400, "InvalidAction", "want AssumeRole with a RoleArn")
				return
			}
			s.n.Add(1)
			w.Header().Set("Content-Type", "text/xml")
			_, _ = fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
				`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
				`<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser>`+
				`</AssumeRoleResult><ResponseMetadata><RequestId>fake-1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
				assumed.AccessKeyID, assumed.SecretAccessKey, assumed.SessionToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
				r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName"), r.Form.Get("RoleSessionName"))
		}
	})
}

func stsErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake-1</RequestId></ErrorResponse>`, code, msg)
}

// Entra starts a fake Microsoft Entra ID authority over TLS
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow:
// GET /{tenant}/v2.0/.well-known/openid-configuration, then POST
// /{tenant}/oauth2/v2.0/token with grant_type=client_credentials,
// client_id, client_secret and scope). The credential must match.
// Point AZURE_AUTHORITY_HOST at its URL, and trust its certificate (see
// CertFile).
func Entra(t testing.TB, tenant, clientID, secret string) *TokenServer {
	return newTokenServer(t, "entra-token", true, func(s *TokenServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			base := "https://" + r.Host + "/" + tenant
			switch r.URL.Path {
			case "/" + tenant + "/v2.0/.well-known/openid-configuration":
				writeJSON(w, 200, map[string]any{"token_endpoint": base + "/oauth2/v2.0/token",
					"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0",
					"jwks_uri": base + "/discovery/v2.0/keys", "response_types_supported": []string{"code"}})
			case "/" + tenant + "/oauth2/v2.0/token":
				s.remember(r)
				if s.failed(w) {
					return
				}
				if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != clientID || r.Form.Get("client_secret") != secret {
					writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
					return
				}
				tok, exp := s.mint()
				writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": exp, "ext_expires_in": exp, "access_token": tok})
			default:
				http.NotFound(w, r)
			}
		}
	})
}

// CertFile writes the server's TLS certificate as a PEM file (for
// SSL_CERT_FILE in a child process) and returns its path.
func (s *TokenServer) CertFile(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
