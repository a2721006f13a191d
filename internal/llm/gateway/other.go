package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"sort"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// serveModels answers GET /v1/models from the config: the model names of
// an llm: route (wildcards left out), else each backend's model.
func (h *Handler) serveModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	seen := map[string]bool{}
	add := func(id, owner string) {
		if id == "" || seen[id] || id == "*" || (len(id) > 1 && id[len(id)-2:] == "/*") {
			return
		}
		seen[id] = true
		out.Data = append(out.Data, model{ID: id, Object: "model", OwnedBy: owner})
	}
	for _, b := range h.spec.Backends {
		t := b.Tiers[0][0]
		if h.spec.ModelRouted {
			add(b.Name, t.Provider.System())
			continue
		}
		for _, tier := range b.Tiers {
			for _, t := range tier {
				add(t.Provider.Model(), t.Provider.System())
			}
		}
	}
	for alias := range h.spec.Aliases {
		add(alias, "agentgateway")
	}
	sort.Slice(out.Data, func(i, j int) bool { return out.Data[i].ID < out.Data[j].ID })
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// servePassthrough forwards the request untouched (apart from the
// credential) to the first available target.
func (h *Handler) servePassthrough(w http.ResponseWriter, r *http.Request) {
	targets := plan(h.spec.Backends)
	t := targets[0]
	info := pipeline.InfoFrom(r.Context())
	info.Backend, info.Endpoint = t.Name, t.Address
	rp := &httputil.ReverseProxy{
		Transport: t.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = t.Scheme, t.Address
			pr.Out.Host = t.HostHeader
			pr.SetXForwarded()
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
			_ = t.Provider.Authorize(pr.Out, nil, key)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			pipeline.Error(w, r, http.StatusBadGateway, "upstream connect error")
		},
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	}
	rp.ServeHTTP(w, r)
}

// serveEmbeddings forwards an OpenAI embeddings request to a provider that
// speaks OpenAI's dialect (with the configured model), and accounts for
// its usage.
func (h *Handler) serveEmbeddings(w http.ResponseWriter, r *http.Request, body []byte) {
	f := openai.Client{}
	raw, err := llm.RawObject(body)
	var asked string
	if err == nil {
		_ = json.Unmarshal(raw["model"], &asked)
	}
	if err != nil || asked == "" {
		writeError(w, r, f, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "invalid request: a JSON object with a model is required"})
		return
	}
	model := asked
	if a, ok := h.spec.Aliases[model]; ok {
		model = a
	}
	cands := h.candidates(model)
	if len(cands) == 0 {
		writeError(w, r, f, &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "model_not_found",
			Message: fmt.Sprintf("model %q is not served by this gateway", asked)})
		return
	}
	h.run(w, r, f, plan(cands), func(t *Target) (bool, *llm.Error) {
		p := t.Provider
		path, ok := p.Path(llm.OpEmbeddings)
		if !ok || p.Dialect() != llm.DialectOpenAI {
			return false, &llm.Error{Status: http.StatusNotImplemented, Type: llm.ErrInvalidRequest,
				Message: "embeddings are not supported for provider " + p.System() + " by this gateway"}
		}
		sent := model
		if m := p.Model(); m != "" {
			sent = m
		}
		raw["model"], _ = json.Marshal(sent)
		b, _ := json.Marshal(raw)
		start := time.Now()
		call := &llm.Call{Method: http.MethodPost, Path: path, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
		resp, cancel, e := send(r, t, call, path, llm.DialectOpenAI)
		if e != nil {
			return e.Status == 499, e
		}
		defer cancel(nil)
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return false, upstreamError(p, resp)
		}
		out, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
		if err != nil || len(out) > MaxResponseBytes {
			return false, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream response truncated or too large"}
		}
		var u struct {
			Model string `json:"model"`
			Usage *struct {
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
		}
		_ = json.Unmarshal(out, &u)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		acct := &usageRecord{h: h, r: r, t: t, asked: asked, sent: sent, respModel: u.Model, op: "embeddings", start: start}
		var usage *llm.Usage
		if u.Usage != nil {
			usage = &llm.Usage{InputTokens: u.Usage.PromptTokens}
		}
		acct.finish(usage, 0, 0)
		return true, nil
	})
}
