package extauthz

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// authServer allows x-user: alice, denies everyone else with 401, and
// records the last request.
type authServer struct {
	authv3.UnimplementedAuthorizationServer
	mu   sync.Mutex
	last *authv3.CheckRequest
	slow time.Duration
}

func hv(k, v string, appendIt bool) *corev3.HeaderValueOption {
	o := &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}}
	if appendIt {
		o.Append = wrapperspb.Bool(true) //nolint:staticcheck // the field servers send
	}
	return o
}

func (s *authServer) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	s.mu.Lock()
	s.last = req
	s.mu.Unlock()
	time.Sleep(s.slow)
	h := req.GetAttributes().GetRequest().GetHttp().GetHeaders()
	switch h["x-user"] {
	case "alice":
		return &authv3.CheckResponse{Status: &status.Status{Code: int32(codes.OK)}, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers:              []*corev3.HeaderValueOption{hv("x-auth-user", "alice", false), hv("x-tag", "b", true), hv("host", "evil", false)},
			HeadersToRemove:      []string{"x-drop"},
			ResponseHeadersToAdd: []*corev3.HeaderValueOption{hv("x-authz", "checked", false)},
		}}}, nil
	case "broken":
		return &authv3.CheckResponse{Status: &status.Status{Code: int32(codes.Unavailable)}, HttpResponse: &authv3.CheckResponse_ErrorResponse{ErrorResponse: &authv3.DeniedHttpResponse{}}}, nil
	}
	return &authv3.CheckResponse{Status: &status.Status{Code: int32(codes.PermissionDenied)}, HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized}, Body: `{"error":"who are you"}`,
		Headers: []*corev3.HeaderValueOption{hv("content-type", "application/json", false), hv("www-authenticate", "Custom", false)},
	}}}, nil
}

func startGRPC(t *testing.T, s *authServer) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, s)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

type seen struct {
	hits int
	hdr  http.Header
	body string
}

func run(t *testing.T, spec Spec, hdr ...string) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	p, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	s := &seen{}
	h := p.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits++
		s.hdr = r.Header.Clone()
		b := new(strings.Builder)
		_, _ = copyBody(b, r)
		s.body = b.String()
	}))
	req := httptest.NewRequest("POST", "http://gw/api/x?q=1", strings.NewReader("payload"))
	req.RemoteAddr = "10.0.0.7:5555"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, s
}

func TestGRPC(t *testing.T) {
	srv := &authServer{}
	addr := startGRPC(t, srv)
	spec := Spec{Target: addr, Protocol: GRPC, Context: map[string]string{"route": "r1"}, Body: &Body{MaxBytes: 100}}

	rec, s := run(t, spec, "X-User", "alice", "X-Drop", "1", "X-Tag", "a")
	if rec.Code != 200 || s.hits != 1 {
		t.Fatalf("allow: %d", rec.Code)
	}
	if s.hdr.Get("X-Auth-User") != "alice" || strings.Join(s.hdr.Values("X-Tag"), ",") != "a,b" || s.hdr.Get("X-Drop") != "" || rec.Header().Get("X-Authz") != "checked" {
		t.Errorf("allow edits: upstream %v, response %v", s.hdr, rec.Header())
	}
	if s.body != "payload" {
		t.Errorf("body after the check: %q", s.body)
	}
	srv.mu.Lock()
	a := srv.last.GetAttributes()
	srv.mu.Unlock()
	hr := a.GetRequest().GetHttp()
	if hr.GetMethod() != "POST" || hr.GetPath() != "/api/x?q=1" || hr.GetBody() != "payload" || hr.GetHeaders()[":authority"] != "gw" ||
		a.GetContextExtensions()["route"] != "r1" || a.GetSource().GetAddress().GetSocketAddress().GetAddress() != "10.0.0.7" {
		t.Errorf("check request: %v", a)
	}

	rec, s = run(t, spec, "X-User", "mallory")
	if rec.Code != 401 || s.hits != 0 || rec.Body.String() != `{"error":"who are you"}` || rec.Header().Get("Www-Authenticate") != "Custom" {
		t.Errorf("deny: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

func TestFailureModes(t *testing.T) {
	srv := &authServer{slow: 300 * time.Millisecond}
	slow := startGRPC(t, srv)
	for _, proto := range []Protocol{GRPC, HTTP} {
		for _, tc := range []struct {
			name   string
			spec   Spec
			want   int
			passed bool
		}{
			{"unreachable, deny", Spec{Target: deadAddr(t)}, 403, false},
			{"unreachable, denyWithStatus", Spec{Target: deadAddr(t), FailureStatus: 503}, 503, false},
			{"unreachable, allow", Spec{Target: deadAddr(t), FailOpen: true}, 200, true},
		} {
			tc.spec.Protocol = proto
			rec, s := run(t, tc.spec, "X-User", "alice")
			if rec.Code != tc.want || (s.hits == 1) != tc.passed {
				t.Errorf("%v %s: %d (passed %v)", proto, tc.name, rec.Code, s.hits == 1)
			}
		}
	}
	rec, _ := run(t, Spec{Target: slow, Protocol: GRPC, Timeout: 50 * time.Millisecond}, "X-User", "alice")
	if rec.Code != 403 {
		t.Errorf("timeout: %d", rec.Code)
	}
	rec, _ = run(t, Spec{Target: slow, Protocol: GRPC, FailureStatus: 502}, "X-User", "broken")
	if rec.Code != 502 {
		t.Errorf("error response: %d", rec.Code)
	}
}

func TestHTTP(t *testing.T) {
	var got *http.Request
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		if r.Header.Get("Authorization") == "Bearer good" {
			w.Header().Set("X-Auth-User", "alice")
			w.Header().Set("X-Other", "no")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", `Bearer realm="x"`)
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"denied":true}`))
	}))
	defer authz.Close()
	spec := Spec{Target: strings.TrimPrefix(authz.URL, "http://"), Protocol: HTTP, Path: `"/check" + request.path`,
		AddRequestHeaders: map[string]string{"x-original-method": "request.method"}, IncludeResponseHeaders: []string{"x-auth-user"}}
	rec, s := run(t, spec, "Authorization", "Bearer good", "Cookie", "secret=1")
	if rec.Code != 200 || s.hdr.Get("X-Auth-User") != "alice" || s.hdr.Get("X-Other") != "" {
		t.Fatalf("allow: %d %v", rec.Code, s.hdr)
	}
	if got.Method != "POST" || got.URL.Path != "/check/api/x" || got.Header.Get("X-Original-Method") != "POST" || got.Header.Get("Cookie") != "" {
		t.Errorf("check request: %s %s %v", got.Method, got.URL, got.Header)
	}
	rec, s = run(t, spec, "Authorization", "Bearer bad")
	if rec.Code != 401 || s.hits != 0 || rec.Body.String() != `{"denied":true}` || rec.Header().Get("Www-Authenticate") != `Bearer realm="x"` {
		t.Errorf("deny: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	if _, err := New(Spec{Target: "h:1", Protocol: HTTP, Path: "request.path +"}); err == nil {
		t.Error("bad CEL path accepted")
	}
}

func TestBodyLimit(t *testing.T) {
	addr := startGRPC(t, &authServer{})
	rec, _ := run(t, Spec{Target: addr, Body: &Body{MaxBytes: 3}}, "X-User", "alice")
	if rec.Code != 413 {
		t.Errorf("body over the limit: %d", rec.Code)
	}
	rec, s := run(t, Spec{Target: addr, Body: &Body{MaxBytes: 3, AllowPartial: true}}, "X-User", "alice")
	if rec.Code != 200 || s.body != "payload" {
		t.Errorf("partial: %d %q", rec.Code, s.body)
	}
}

func copyBody(w *strings.Builder, r *http.Request) (int64, error) {
	if r.Body == nil {
		return 0, nil
	}
	return io.Copy(w, r.Body)
}
