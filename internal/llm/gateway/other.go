package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"sort"

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
