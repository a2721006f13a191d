package extauthz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/cel"
)

type httpChecker struct {
	base       string // http://host:port
	client     *http.Client
	path       *cel.Program
	include    []string
	add        map[string]*cel.Program
	respHeader []string
}

func newHTTP(spec Spec) (*httpChecker, error) {
	h := &httpChecker{base: "http://" + spec.Target, include: spec.IncludeRequestHeaders, respHeader: spec.IncludeResponseHeaders}
	if strings.Contains(spec.Target, "://") {
		u, err := url.Parse(spec.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("host: want host:port or an http(s) URL")
		}
		h.base = u.Scheme + "://" + u.Host
	}
	if len(h.include) == 0 {
		h.include = []string{"Authorization"}
	}
	if spec.Path != "" {
		prg, err := cel.CompileString(spec.Path)
		if err != nil {
			return nil, errors.New("protocol.http.path: " + err.Error())
		}
		h.path = prg
	}
	var err error
	if h.add, err = celHeaders(spec.AddRequestHeaders); err != nil {
		return nil, errors.New("protocol.http." + err.Error())
	}
	h.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: spec.Timeout},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is the service's answer, passed back
		},
	}
	return h, nil
}

func (h *httpChecker) check(ctx context.Context, r *http.Request, body []byte) (*decision, error) {
	path := r.URL.RequestURI()
	var act *cel.Activation
	if h.path != nil || len(h.add) > 0 {
		act = cel.NewActivation(r)
	}
	if h.path != nil {
		p, err := h.path.EvalString(act)
		if err != nil {
			return nil, errors.New("path expression: " + err.Error())
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		path = p
	}
	var rb io.Reader = http.NoBody
	if body != nil {
		rb = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, h.base+path, rb) //nolint:gosec // the ext_authz service is the operator's; the path is the request's, as Envoy sends it
	if err != nil {
		return nil, err
	}
	for _, k := range h.include {
		if vs := r.Header.Values(k); len(vs) > 0 {
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	for k, prg := range h.add {
		v, err := prg.EvalString(act)
		if err != nil {
			return nil, errors.New("addRequestHeaders." + k + ": " + err.Error())
		}
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req) //nolint:gosec // see above
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		d := &decision{allow: true, set: http.Header{}}
		for _, k := range h.respHeader {
			if vs := resp.Header.Values(k); len(vs) > 0 && headerAllowed(k) {
				d.set[http.CanonicalHeaderKey(k)] = vs
			}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDeniedBody))
		return d, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDeniedBody))
	if err != nil {
		return nil, err
	}
	d := &decision{status: resp.StatusCode, headers: http.Header{}, body: b}
	for k, vs := range resp.Header {
		switch strings.ToLower(k) {
		case "content-length", "connection", "keep-alive", "transfer-encoding", "date", "server":
			continue
		}
		d.headers[k] = vs
	}
	return d, nil
}
