// Package direct implements the directResponse route policy: the gateway
// answers with a fixed status, body and headers; nothing is forwarded.
//
// Without a configured Content-Type no Content-Type is sent (Go's content
// sniffing is turned off), as in agentgateway. HEAD requests and statuses
// that forbid a body (204, 304) get no body. A CEL bodyExpression is not
// supported yet and is rejected by New.
package direct

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/phttp"
)

// Header is one configured response header.
type Header = phttp.Header

// Spec is the directResponse policy.
type Spec struct {
	Status         int // 200–599
	Body           []byte
	Headers        []Header
	BodyExpression string // CEL; not supported yet
}

// New compiles spec into a middleware that answers every request.
func New(spec Spec) (pipeline.Middleware, error) {
	h, err := Compile(spec)
	if err != nil {
		return nil, err
	}
	return func(http.Handler) http.Handler { return h }, nil
}

// Handler is a compiled direct response.
type Handler struct {
	status  int
	body    []byte
	headers []kv // set in order; a repeated name adds values
	noBody  bool
}

type kv struct {
	key string
	val []string
}

// Compile validates spec.
func Compile(spec Spec) (*Handler, error) {
	if spec.BodyExpression != "" {
		return nil, errors.New("directResponse.bodyExpression: CEL expressions are not supported yet; use body")
	}
	if spec.Status < 200 || spec.Status > 599 {
		return nil, fmt.Errorf("directResponse.status: %d is not between 200 and 599", spec.Status)
	}
	h := &Handler{status: spec.Status, body: spec.Body}
	h.noBody = spec.Status == http.StatusNoContent || spec.Status == http.StatusNotModified
	if h.noBody && len(spec.Body) > 0 {
		return nil, fmt.Errorf("directResponse: status %d cannot have a body", spec.Status)
	}
	hasType := false
	for _, hd := range spec.Headers {
		if err := phttp.CheckHeader(hd.Name, hd.Value); err != nil {
			return nil, fmt.Errorf("directResponse.headers: %w", err)
		}
		key := textproto.CanonicalMIMEHeaderKey(hd.Name)
		switch key {
		case "Content-Length", "Transfer-Encoding", "Connection":
			return nil, fmt.Errorf("directResponse.headers: %s is set by the gateway", key)
		case "Content-Type":
			hasType = true
		}
		merged := false
		for i := range h.headers {
			if h.headers[i].key == key {
				h.headers[i].val = append(h.headers[i].val, hd.Value)
				merged = true
			}
		}
		if !merged {
			h.headers = append(h.headers, kv{key: key, val: []string{hd.Value}})
		}
	}
	for i := range h.headers {
		v := h.headers[i].val
		h.headers[i].val = v[:len(v):len(v)]
	}
	if !hasType {
		h.headers = append(h.headers, kv{key: "Content-Type", val: nil}) // no sniffing
	}
	if !h.noBody {
		h.headers = append(h.headers, kv{key: "Content-Length", val: []string{strconv.Itoa(len(spec.Body))}})
	}
	return h, nil
}

// ServeHTTP writes the response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for _, e := range h.headers {
		hdr[e.key] = e.val
	}
	w.WriteHeader(h.status)
	if !h.noBody && len(h.body) > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(h.body)
	}
}
