package backend

import "net/http"

// RoundTripper returns the shared keep-alive transport for an upstream
// with these TLS settings (nil: plain TCP) and HTTP version policy, for
// protocol layers that build their own upstream requests (the LLM
// gateway translates bodies, so it cannot use Upstream's reverse proxy).
// Its key must be passed to Retain like an Upstream's.
func (t *Transports) RoundTripper(tlsSpec *TLSSpec, http1, http2 bool) (http.RoundTripper, TransportKey, error) {
	proto := protoAuto
	switch {
	case http1:
		proto = protoHTTP1
	case http2:
		proto = protoHTTP2
	}
	return t.get(tlsSpec, proto)
}
