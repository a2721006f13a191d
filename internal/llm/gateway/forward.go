package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// errTryNext makes the reverse proxy give up an answer that another
// target may do better (408, 429, 5xx) before anything was written.
var errTryNext = errors.New("try the next target")

// servePassthrough forwards the request untouched (apart from the
// credential) to the first available target (route type passthrough:
// opaque, no usage read).
func (h *Handler) servePassthrough(w http.ResponseWriter, r *http.Request) {
	targets := plan(h.spec.Backends)
	h.forward(w, r, nil, targets[:1], false, "")
}

// serveDetect serves the detect route type: the request goes out as it
// came (no translation) and token usage is read from the answer as it
// passes (JSON or SSE, OpenAI chat/responses/embeddings, Anthropic
// messages or Gemini shapes) for the gen_ai metrics and the access log.
// The request body is read (capped) to learn its model: on an llm: route
// the model selects the backend like any LLM request.
func (h *Handler) serveDetect(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > MaxBodyBytes {
			pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		b, err := readAllSized(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength, MaxBodyBytes)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			pipeline.Error(w, r, http.StatusBadRequest, "request body read error")
			return
		}
		body = b
	}
	asked := requestModel(r, llm.OpDetect, body)
	var targets []*Target
	if asked != "" && h.spec.ModelRouted {
		model := asked
		if a, ok := h.spec.Aliases[model]; ok {
			model = a
		}
		rp, e := h.route(r, model, body)
		if e != nil {
			writeError(w, r, openai.Client{}, e)
			return
		}
		if !rp.empty() {
			targets, _ = rp.targets()
		}
	}
	if targets == nil {
		targets = plan(h.spec.Backends)
	}
	if body == nil {
		body = []byte{}
	}
	h.forward(w, r, body, targets, true, asked)
}

// servePassthroughModel forwards a model request natively when its model
// is served by a passthrough model (llm.models[].passthrough), and
// reports whether it did.
func (h *Handler) servePassthroughModel(w http.ResponseWriter, r *http.Request, op llm.Op, _ llm.Format, body []byte) bool {
	asked := requestModel(r, op, body)
	if asked == "" {
		return false
	}
	model := asked
	if a, ok := h.spec.Aliases[model]; ok {
		model = a
	}
	rp, e := h.route(r, model, body)
	if e != nil || rp.empty() || rp.first().Passthrough == "" {
		return false // translated, or an error the op's handler reports
	}
	mode := rp.first().Passthrough
	rp.keepPassthrough()
	targets, _ := rp.targets()
	h.forward(w, r, body, targets, mode == llm.OpDetect, asked)
	return true
}

// keepPassthrough drops the backends that translate (a virtual model
// mixing both kinds forwards only to the passthrough ones).
func (p *routePlan) keepPassthrough() {
	if p.choices != nil {
		out := p.choices[:0:0]
		for _, c := range p.choices {
			if c.b.Passthrough != "" {
				out = append(out, c)
			}
		}
		p.choices = out
		return
	}
	var out []*Backend
	for _, b := range p.cands {
		if b.Passthrough != "" {
			out = append(out, b)
		}
	}
	p.cands = out
}

// requestModel is the model a request names: in a Gemini path, else the
// body's top-level "model" ("" when none).
func requestModel(r *http.Request, op llm.Op, body []byte) string {
	if m, _, ok := gemini.PathModel(strings.TrimSuffix(r.URL.Path, "/")); ok {
		return m
	}
	if op == llm.OpModels || len(body) == 0 {
		return ""
	}
	v, ok := llm.TopLevel(body, "model")
	if !ok {
		return ""
	}
	m, _ := llm.PeekString(v)
	return m
}

// forward sends the request natively to targets in order: a connect
// error, a 408, a 429 or a 5xx moves on to the next target before anything is
// written. body is the request body already read (nil: stream r.Body, one
// target only). With detect, usage is read from the answer as it passes.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, body []byte, targets []*Target, detect bool, asked string) {
	if body == nil {
		targets = targets[:1]
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
	}
	info := pipeline.InfoFrom(r.Context())
	for i, t := range targets {
		if i > 0 {
			info.Retries, info.Err = i, ""
		}
		if h.forwardOnce(w, r, body, t, i == len(targets)-1, detect, asked) || r.Context().Err() != nil {
			return
		}
	}
}

// forwardOnce proxies to t and reports whether an answer was written.
func (h *Handler) forwardOnce(w http.ResponseWriter, r *http.Request, body []byte, t *Target, last, detect bool, asked string) bool {
	info := pipeline.InfoFrom(r.Context())
	info.Backend, info.Endpoint = t.Name, t.Address
	answered := true
	start := time.Now()
	rp := &httputil.ReverseProxy{
		Transport: t.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = t.Scheme, t.Address
			pr.Out.Host = t.HostHeader
			pr.SetXForwarded()
			if body != nil {
				pr.Out.Body = io.NopCloser(bytes.NewReader(body))
				pr.Out.ContentLength = int64(len(body))
				pr.Out.GetBody = nil
				if len(body) == 0 {
					pr.Out.Body = nil
				}
			}
			if detect {
				pr.Out.Header.Del("Accept-Encoding") // let the transport decompress, so usage can be read
			}
			key := t.Key
			if t.PassthroughAuth {
				key = clientKey(pr.In.Header)
			}
			for _, k := range []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
				pr.Out.Header.Del(k)
			}
			if t.Header != nil {
				t.Header(pr.Out.Header)
			}
			_ = t.Provider.Authorize(pr.Out, body, key)
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
				t.health.failed(time.Now(), retryAfter(resp.Header))
				if !last {
					return errTryNext
				}
			} else {
				t.health.succeeded()
			}
			if detect && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
				acct := &usageRecord{h: h, r: r, t: t, asked: asked, sent: asked, op: detectOpName(r), start: start}
				resp.Body = newUsageTee(resp, func(u *llm.Usage, model string, first time.Time) {
					acct.respModel = model
					var ttft time.Duration
					if !first.IsZero() {
						ttft = first.Sub(start)
					}
					acct.finish(u, ttft, 0)
				})
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if errors.Is(err, errTryNext) {
				answered = false
				return
			}
			if r.Context().Err() == nil {
				t.health.failed(time.Now(), 0)
				if !last {
					answered = false
					return
				}
			}
			pipeline.Error(w, req, http.StatusBadGateway, "upstream connect error")
		},
	}
	rp.ServeHTTP(w, r)
	return answered
}

// detectOpName is the gen_ai operation of a detect request, from its path.
func detectOpName(r *http.Request) string {
	if DefaultOp(http.MethodPost, r.URL.Path) == llm.OpEmbeddings {
		return "embeddings"
	}
	return "chat"
}

// retryAfter reads a Retry-After header given in seconds (0: none).
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
