package cloudauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"
)

// GCPScope is the OAuth2 scope of access tokens (Vertex AI and other
// Google Cloud APIs).
const GCPScope = "https://www.googleapis.com/auth/cloud-platform"

// googleTokenURL is Google's OAuth2 token endpoint, used when a credential
// file names none.
const googleTokenURL = "https://oauth2.googleapis.com/token" //nolint:gosec // a URL, not a credential

// GCPSpec configures a Google token source.
type GCPSpec struct {
	// IDToken asks for an OIDC ID token for Audience instead of an
	// OAuth2 access token.
	IDToken  bool
	Audience string
	// Credential is a credential JSON (service_account, authorized_user,
	// impersonated_service_account, external_account; for ID tokens
	// service_account or authorized_user); nil means Application Default
	// Credentials: $GOOGLE_APPLICATION_CREDENTIALS, gcloud's
	// application_default_credentials.json, then the metadata server
	// ($GCE_METADATA_HOST or metadata.google.internal).
	Credential []byte
	// Client makes the token requests (nil = a client with a 30s timeout).
	Client *http.Client
}

// credFile is the part of a Google credential JSON read here.
type credFile struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
}

// NewGCP checks s and returns its cached token source. A credential JSON,
// or the ADC file, is parsed now (a broken one fails the config) and again
// at each refresh (so a rotated ADC file is picked up); without one,
// tokens come from the metadata server.
func NewGCP(s GCPSpec) (TokenSource, error) {
	if s.IDToken && s.Audience == "" {
		return nil, errors.New("idToken needs an audience")
	}
	if s.Client == nil {
		s.Client = &http.Client{Timeout: 30 * time.Second}
	}
	g := &gcpSource{spec: s}
	if _, err := g.tokenSource(context.Background()); err != nil {
		return nil, err
	}
	return newCache(g.fetch), nil
}

// adcFile is the ADC file to read ("" = none: the metadata server is next).
func adcFile() string {
	if f := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); f != "" {
		return f
	}
	dir := os.Getenv("CLOUDSDK_CONFIG")
	if dir == "" {
		home := os.Getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config", "gcloud")
	}
	f := filepath.Join(dir, "application_default_credentials.json")
	if _, err := os.Stat(f); err != nil { //nolint:gosec // gcloud's own file under the operator's HOME
		return ""
	}
	return f
}

type gcpSource struct{ spec GCPSpec }

// tokenSource builds an uncached source for one fetch.
func (g *gcpSource) tokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	s := g.spec
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.Client)
	js, what := s.Credential, "credential"
	if js == nil {
		if f := adcFile(); f != "" {
			b, err := os.ReadFile(f) //nolint:gosec // the operator's ADC file
			if err != nil {
				return nil, fmt.Errorf("application default credentials: %v", err)
			}
			js, what = b, "application default credentials "+f
		}
	}
	if js == nil {
		if s.IDToken {
			return metadataIDToken{s.Audience}, nil
		}
		return google.ComputeTokenSource("", GCPScope), nil
	}
	var f credFile
	if err := json.Unmarshal(js, &f); err != nil {
		return nil, fmt.Errorf("%s is not a Google credential JSON: %v", what, err)
	}
	if f.Type == "" {
		return nil, fmt.Errorf("%s: the JSON has no \"type\"", what)
	}
	if f.TokenURI == "" {
		f.TokenURI = googleTokenURL
	}
	if !s.IDToken {
		t := google.CredentialsType(f.Type)
		switch t {
		case google.ServiceAccount, google.AuthorizedUser, google.ImpersonatedServiceAccount, google.ExternalAccount, google.ExternalAccountAuthorizedUser:
		default:
			return nil, fmt.Errorf("%s: unsupported credential type %q (want service_account, authorized_user, impersonated_service_account, external_account or external_account_authorized_user)", what, f.Type)
		}
		c, err := google.CredentialsFromJSONWithTypeAndParams(ctx, js, t, google.CredentialsParams{Scopes: []string{GCPScope}})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		return c.TokenSource, nil
	}
	switch f.Type {
	case "service_account":
		// RFC 7523 JWT-bearer grant with target_audience: Google answers
		// with an ID token.
		cfg := &jwt.Config{Email: f.ClientEmail, PrivateKey: []byte(f.PrivateKey), PrivateKeyID: f.PrivateKeyID,
			TokenURL: f.TokenURI, PrivateClaims: map[string]any{"target_audience": s.Audience}, UseIDToken: true}
		if f.ClientEmail == "" || f.PrivateKey == "" {
			return nil, fmt.Errorf("%s: a service_account needs client_email and private_key", what)
		}
		return cfg.TokenSource(ctx), nil
	case "authorized_user":
		// The refresh grant answers with an ID token for the client.
		cfg := &oauth2.Config{ClientID: f.ClientID, ClientSecret: f.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: f.TokenURI, AuthStyle: oauth2.AuthStyleInParams}}
		return userIDToken{cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: f.RefreshToken})}, nil
	}
	return nil, fmt.Errorf("%s: idToken works with service_account and authorized_user credentials (or the metadata server), not %q", what, f.Type)
}

func (g *gcpSource) fetch(ctx context.Context) (expiring, error) {
	ts, err := g.tokenSource(ctx)
	if err != nil {
		return expiring{}, err
	}
	type result struct {
		t   *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() { t, err := ts.Token(); ch <- result{t, err} }() // oauth2 sources take no context
	select {
	case <-ctx.Done():
		return expiring{}, ctx.Err()
	case r := <-ch:
		if r.err != nil {
			return expiring{}, fmt.Errorf("google token: %v", r.err)
		}
		exp := r.t.Expiry
		if exp.IsZero() {
			exp = time.Now().Add(time.Hour)
		}
		return expiring{value: r.t.AccessToken, expires: exp}, nil
	}
}

// userIDToken is the id_token of an authorized_user's refresh answer.
type userIDToken struct{ ts oauth2.TokenSource }

func (u userIDToken) Token() (*oauth2.Token, error) {
	t, err := u.ts.Token()
	if err != nil {
		return nil, err
	}
	id, _ := t.Extra("id_token").(string)
	if id == "" {
		return nil, errors.New("the token endpoint answered without an id_token")
	}
	return &oauth2.Token{AccessToken: id, Expiry: jwtExpiry(id, t.Expiry)}, nil
}

// metadataIDToken asks the metadata server for an ID token
// (instance/service-accounts/default/identity).
type metadataIDToken struct{ audience string }

func (m metadataIDToken) Token() (*oauth2.Token, error) {
	id, err := metadata.GetWithContext(context.Background(), "instance/service-accounts/default/identity?audience="+
		url.QueryEscape(m.audience)+"&format=full")
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	return &oauth2.Token{AccessToken: id, Expiry: jwtExpiry(id, time.Time{})}, nil
}

// jwtExpiry reads a JWT's exp claim (the signature is the upstream's to
// check), else def.
func jwtExpiry(token string, def time.Time) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var c struct {
				Exp int64 `json:"exp"`
			}
			if json.Unmarshal(b, &c) == nil && c.Exp > 0 {
				return time.Unix(c.Exp, 0)
			}
		}
	}
	return def
}
