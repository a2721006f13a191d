package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Building upstream requests without http.NewRequestWithContext: the URL
// is parsed once per target and path (not per call), the request is one
// copy of a stack template, the body reader holds a reference on a pooled
// body until the transport closes it (docs/performance.md).

// targetURL is a target's parsed URL for one path.
type targetURL struct {
	scheme, address, path string
	u                     *url.URL
}

// urlFor returns t's URL for path: the cached one when the path is the
// last one asked for (the chat path, every call), else parsed and cached.
// The URL is shared: callers copy it before anything may modify it.
func (t *Target) urlFor(path string) (*url.URL, error) {
	if c := t.url.Load(); c != nil && c.path == path && c.address == t.Address && c.scheme == t.Scheme {
		return c.u, nil
	}
	u, err := url.Parse(t.Scheme + "://" + t.Address + path)
	if err != nil {
		return nil, err
	}
	t.url.Store(&targetURL{scheme: t.Scheme, address: t.Address, path: path, u: u})
	return u, nil
}

// cacheURL primes t's URL cache with the path its chat calls use (at
// route compile time).
func (t *Target) cacheURL() {
	path := t.PathOverride
	if path == "" {
		path, _ = t.Provider.Path(llm.OpCompletions)
	}
	if path != "" {
		_, _ = t.urlFor(path)
	}
}

// newUpstreamRequest is http.NewRequestWithContext for a known target.
// Only OpenAI-dialect providers (header credentials) get the shared URL;
// others (Bedrock's SigV4 signer rewrites the query) get a copy.
func newUpstreamRequest(ctx context.Context, t *Target, method, path string, body []byte, pooled *llm.BodyBuf) (*http.Request, error) {
	u, err := t.urlFor(path)
	if err != nil {
		return nil, err
	}
	if t.Provider.Dialect() != llm.DialectOpenAI {
		c := *u
		u = &c
	}
	tmpl := http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: u.Host}
	req := tmpl.WithContext(ctx)
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, noBody
		return req, nil
	}
	req.ContentLength = int64(len(body))
	req.Body = newReqBody(body, pooled)
	req.GetBody = func() (io.ReadCloser, error) { return newReqBody(body, pooled), nil }
	return req, nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// reqBody reads an upstream request body; it holds a reference on the
// pooled buffer (if any) until the transport closes it.
type reqBody struct {
	r      bytes.Reader
	buf    *llm.BodyBuf
	closed atomic.Bool
}

func newReqBody(b []byte, buf *llm.BodyBuf) *reqBody {
	buf.Retain()
	rb := &reqBody{buf: buf}
	rb.r.Reset(b)
	return rb
}

func (b *reqBody) Read(p []byte) (int, error) { return b.r.Read(p) }

// WriteTo lets io.Copy write the body in one go.
func (b *reqBody) WriteTo(w io.Writer) (int64, error) { return b.r.WriteTo(w) }

// Close implements io.Closer; the first call drops the reference.
func (b *reqBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.buf.Release()
	}
	return nil
}

// noCancel is the cancel of an attempt that needs no context of its own.
func noCancel(error) {}
