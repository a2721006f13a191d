package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// extAuthzServer is a real Envoy ext_authz v3 gRPC server: it allows
// requests whose authorization header is "Bearer let-me-in" (telling the
// upstream who the user is) and denies the others with 401 and a JSON body.
type extAuthzServer struct {
	authv3.UnimplementedAuthorizationServer
}

func (extAuthzServer) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	if h.GetHeaders()["authorization"] == "Bearer let-me-in" {
		return &authv3.CheckResponse{Status: &status.Status{Code: int32(codes.OK)}, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-user", Value: "alice via " + h.GetPath()}}},
		}}}, nil
	}
	return &authv3.CheckResponse{Status: &status.Status{Code: int32(codes.PermissionDenied)}, HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
		Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
		Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "content-type", Value: "application/json"}}},
		Body:    `{"error":"grpc says no"}`,
	}}}, nil
}

func startExtAuthzGRPC(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, extAuthzServer{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// TestSecurityExtAuthz: Envoy ext_authz v3 over gRPC (a real gRPC server
// started here) and plain HTTP: allow with headers added upstream, denial
// status and body passed back, and an unreachable service with each
// failure mode.
func TestSecurityExtAuthz(t *testing.T) {
	grpcAddr := startExtAuthzGRPC(t)
	httpAuthz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer let-me-in" && strings.HasPrefix(r.URL.Path, "/verify/") {
			w.Header().Set("X-User", "bob")
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "http says no")
	}))
	defer httpAuthz.Close()
	dead := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	be := echoBackend(t, "be")
	port := freePort(t)
	route := func(name, extAuthz string) string {
		return fmt.Sprintf(`
    - name: %[1]s
      matches: [{path: {pathPrefix: /%[1]s}}]
      policies:
        extAuthz: %[2]s
      backends: [{host: %[3]s}]`, name, extAuthz, hostOf(be))
	}
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:`, port)+
		route("grpc", fmt.Sprintf(`{host: %s, protocol: {grpc: {context: {tenant: t1}}}}`, grpcAddr))+
		route("http", fmt.Sprintf(`{host: %s, protocol: {http: {path: '"/verify" + request.path', includeResponseHeaders: [x-user]}}}`, hostOf(httpAuthz)))+
		route("deaddeny", fmt.Sprintf(`{host: %s}`, dead))+
		route("deadstatus", fmt.Sprintf(`{host: %s, failureMode: {denyWithStatus: 503}}`, dead))+
		route("deadallow", fmt.Sprintf(`{host: %s, failureMode: allow}`, dead))+
		route("httpdead", fmt.Sprintf(`{host: %s, protocol: {http: {}}, failureMode: {denyWithStatus: 502}}`, dead))+"\n")

	in := []string{"Authorization", "Bearer let-me-in"}
	out := []string{"Authorization", "Bearer nope"}
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       int
		user, body string
	}{
		{"grpc allow adds upstream headers", "/grpc/a", in, 200, "alice via /grpc/a", ""},
		{"grpc ext_authz deny passes status and body", "/grpc/a", out, 401, "", `{"error":"grpc says no"}`},
		{"http allow copies response headers", "/http/b", in, 200, "bob", ""},
		{"http ext_authz deny passes status and body", "/http/b", out, 403, "", "http says no"},
		{"ext_authz unreachable, failureMode deny (default)", "/deaddeny", in, 403, "", ""},
		{"ext_authz unreachable, failureMode denyWithStatus", "/deadstatus", in, 503, "", ""},
		{"ext_authz unreachable, failureMode allow", "/deadallow", in, 200, "", ""},
		{"http ext_authz unreachable, denyWithStatus", "/httpdead", in, 502, "", ""},
	} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, tc.path), nil)
		req.Header.Set(tc.hdr[0], tc.hdr[1])
		req.Header.Set("X-User", "forged")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, resp.StatusCode, body, tc.want)
			continue
		}
		if tc.user != "" && !strings.Contains(string(body), `"X-User":["`+tc.user+`"]`) {
			t.Errorf("%s: backend saw %s", tc.name, body)
		}
		if tc.body != "" && string(body) != tc.body {
			t.Errorf("%s: body %q, want %q", tc.name, body, tc.body)
		}
	}
	_, metrics := get(t, "http://"+g.Stats+"/metrics")
	for _, want := range []string{`agentgateway_ext_authz_checks_total{bind="bind/`, `result="deny"`, `result="error"`, `result="allow"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
