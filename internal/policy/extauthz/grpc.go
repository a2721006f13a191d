package extauthz

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type grpcChecker struct {
	client  authv3.AuthorizationClient
	include map[string]bool // nil: every header
	context map[string]string
	packRaw bool
}

func newGRPC(spec Spec) (*grpcChecker, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient(spec.Target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	g := &grpcChecker{client: authv3.NewAuthorizationClient(conn), context: spec.Context}
	if len(spec.IncludeRequestHeaders) > 0 {
		g.include = map[string]bool{}
		for _, h := range spec.IncludeRequestHeaders {
			g.include[strings.ToLower(h)] = true
		}
	}
	g.packRaw = spec.Body != nil && spec.Body.PackAsBytes
	return g, conn, nil
}

func (g *grpcChecker) check(ctx context.Context, r *http.Request, body []byte) (*decision, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	hdr := map[string]string{":authority": r.Host, ":method": r.Method, ":path": r.URL.RequestURI(), ":scheme": scheme}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if g.include != nil && !g.include[lk] {
			continue
		}
		hdr[lk] = strings.Join(vs, ",")
	}
	hreq := &authv3.AttributeContext_HttpRequest{
		Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Scheme: scheme,
		Query: r.URL.RawQuery, Protocol: r.Proto, Headers: hdr, Size: r.ContentLength,
	}
	if body != nil {
		if g.packRaw {
			hreq.RawBody = body
		} else {
			hreq.Body = string(body)
		}
	}
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:            peer(r.RemoteAddr),
		Request:           &authv3.AttributeContext_Request{Time: timestamppb.Now(), Http: hreq},
		ContextExtensions: g.context,
	}}
	resp, err := g.client.Check(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.GetStatus().GetCode() == int32(codes.OK) {
		d := &decision{allow: true, set: http.Header{}, add: http.Header{}, respAdd: http.Header{}}
		ok := resp.GetOkResponse()
		for _, o := range ok.GetHeaders() {
			k, v := o.GetHeader().GetKey(), o.GetHeader().GetValue()
			if !headerAllowed(k) {
				continue
			}
			if o.GetAppend().GetValue() { //nolint:staticcheck // authz servers still send the deprecated append flag; unset means overwrite, as in Envoy's ext_authz
				d.add.Add(k, v)
			} else {
				d.set.Set(k, v)
			}
		}
		for _, k := range ok.GetHeadersToRemove() {
			if headerAllowed(k) {
				d.remove = append(d.remove, k)
			}
		}
		for _, o := range ok.GetResponseHeadersToAdd() {
			if k := o.GetHeader().GetKey(); headerAllowed(k) {
				d.respAdd.Add(k, o.GetHeader().GetValue())
			}
		}
		return d, nil
	}
	if resp.GetErrorResponse() != nil {
		return nil, errStatus(resp.GetStatus().GetCode())
	}
	d := &decision{status: http.StatusForbidden, headers: http.Header{}}
	if den := resp.GetDeniedResponse(); den != nil {
		if c := int(den.GetStatus().GetCode()); c >= 200 && c <= 599 {
			d.status = c
		}
		for _, o := range den.GetHeaders() {
			if k := o.GetHeader().GetKey(); headerAllowed(k) {
				d.headers.Set(k, o.GetHeader().GetValue())
			}
		}
		d.body = []byte(den.GetBody())
	}
	return d, nil
}

type errStatus int32

func (e errStatus) Error() string { return "error response, gRPC status " + strconv.Itoa(int(e)) }

func peer(remote string) *authv3.AttributeContext_Peer {
	host, port, err := net.SplitHostPort(remote)
	if err != nil {
		return nil
	}
	p, _ := strconv.ParseUint(port, 10, 16)
	return &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)}},
	}}}
}
