package apikey

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

type upstream struct {
	hits       int
	authz, uri string
	meta       map[string]any
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.hits++
	u.authz, u.uri = r.Header.Get("Authorization"), r.URL.RequestURI()
	if id := cel.IdentityFrom(r.Context()); id != nil {
		u.meta = id.APIKey
	}
}

func hashOf(k string) string {
	s := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestAPIKey(t *testing.T) {
	keys := []Key{
		{Key: "k-alpha-0123456789abcdef", Metadata: map[string]any{"team": "alpha"}},
		{Hash: hashOf("k-beta-0123456789abcdef"), Metadata: map[string]any{"team": "beta"}},
	}
	q := authn.Location{Kind: authn.Query, Name: "key"}
	for _, tc := range []struct {
		name     string
		mode     authn.Mode
		loc      *authn.Location
		url      string
		hdr      []string
		want     int
		wantTeam string
	}{
		{"plain key", authn.Strict, nil, "/", []string{"Authorization", "Bearer k-alpha-0123456789abcdef"}, 200, "alpha"},
		{"hashed key", authn.Strict, nil, "/", []string{"Authorization", "Bearer k-beta-0123456789abcdef"}, 200, "beta"},
		{"wrong key", authn.Strict, nil, "/", []string{"Authorization", "Bearer k-gamma"}, 401, ""},
		{"wrong key, optional", authn.Optional, nil, "/", []string{"Authorization", "Bearer k-gamma"}, 401, ""},
		{"wrong key, permissive", authn.Permissive, nil, "/", []string{"Authorization", "Bearer k-gamma"}, 200, ""},
		{"missing, strict", authn.Strict, nil, "/", nil, 401, ""},
		{"missing, optional", authn.Optional, nil, "/", nil, 200, ""},
		{"prefix of a key", authn.Strict, nil, "/", []string{"Authorization", "Bearer k-alpha"}, 401, ""},
		{"two headers", authn.Strict, nil, "/", []string{"Authorization", "Bearer k-alpha-0123456789abcdef", "Authorization", "Bearer x"}, 401, ""},
		{"custom header", authn.Strict, &authn.Location{Name: "X-Api-Key"}, "/", []string{"X-Api-Key", "k-alpha-0123456789abcdef"}, 200, "alpha"},
		{"query parameter", authn.Strict, &q, "/p?key=k-beta-0123456789abcdef&x=1", nil, 200, "beta"},
		{"cookie", authn.Strict, &authn.Location{Kind: authn.Cookie, Name: "k"}, "/", []string{"Cookie", "a=1; k=k-beta-0123456789abcdef"}, 200, "beta"},
	} {
		mw, err := New(Spec{Mode: tc.mode, Location: tc.loc, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		u := &upstream{}
		req := httptest.NewRequest("GET", "http://gw"+tc.url, nil)
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			req.Header.Add(tc.hdr[i], tc.hdr[i+1])
		}
		rec := httptest.NewRecorder()
		mw(u).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
			continue
		}
		if tc.wantTeam != "" {
			if u.meta["team"] != tc.wantTeam || u.authz != "" || u.uri == tc.url && tc.loc == &q {
				t.Errorf("%s: upstream meta %v authz %q uri %q", tc.name, u.meta, u.authz, u.uri)
			}
		}
		if tc.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tc.name)
		}
	}
}

func TestQueryKeyRemoved(t *testing.T) {
	mw, _ := New(Spec{Mode: authn.Strict, Location: &authn.Location{Kind: authn.Query, Name: "key"}, Keys: []Key{{Key: "secret"}}})
	u := &upstream{}
	mw(u).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://gw/p?key=secret&x=1", nil))
	if u.uri != "/p?x=1" {
		t.Fatalf("upstream saw %q", u.uri)
	}
}

func TestBadKeysRejectedAtLoad(t *testing.T) {
	for name, keys := range map[string][]Key{
		"none":      nil,
		"both":      {{Key: "a", Hash: hashOf("a")}},
		"neither":   {{}},
		"bad hash":  {{Hash: "sha256:zz"}},
		"md5":       {{Hash: "md5:00"}},
		"duplicate": {{Key: "a"}, {Hash: hashOf("a")}},
	} {
		if _, err := New(Spec{Keys: keys}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkMatch100Keys(b *testing.B) {
	var keys []Key
	for i := range 100 {
		keys = append(keys, Key{Key: "key-" + string(rune('a'+i%26)) + hex.EncodeToString([]byte{byte(i)})})
	}
	mw, _ := New(Spec{Mode: authn.Strict, Keys: keys})
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "http://gw/", nil)
	b.ReportAllocs()
	for b.Loop() {
		req.Header.Set("Authorization", "Bearer "+keys[50].Key)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
