package jwtauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentgw/agentgateway/internal/policy/authn"
	"github.com/agentgw/agentgateway/internal/policy/jwtauth/jwttest"
)

func TestResourceServer(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	rs, err := NewResourceServer(ResourceSpec{
		Auth:     Spec{Mode: authn.Strict, Providers: []Provider{{Issuer: iss.Iss, Audiences: []string{"http://gw.example/mcp"}, JWKS: JWKS{Inline: iss.JWKS()}}}},
		Metadata: map[string]any{"scopesSupported": []string{"read"}, "bearerMethodsSupported": []string{"header"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var hits int
	h := rs.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	do := func(path, authz string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "http://gw.example"+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := do("/mcp", "")
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer resource_metadata="http://gw.example/.well-known/oauth-protected-resource/mcp"` {
		t.Fatalf("no token: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if rec := do("/mcp", "Bearer "+iss.Sign(iss.Claims("http://other.example/mcp"))); rec.Code != 401 {
		t.Fatalf("token for another resource: %d", rec.Code)
	}
	if rec := do("/mcp", "Bearer "+iss.Sign(iss.Claims("http://gw.example/mcp"))); rec.Code != 200 || hits != 1 {
		t.Fatalf("valid token: %d", rec.Code)
	}
	rec = do(WellKnownResource+"/mcp", "")
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 {
		t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
	}
	if doc["resource"] != "http://gw.example/mcp" || doc["scopes_supported"] == nil || doc["authorization_servers"].([]any)[0] != iss.Iss {
		t.Fatalf("metadata: %v", doc)
	}
}
