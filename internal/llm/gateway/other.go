package gateway

import (
	"encoding/json"
	"net/http"
	"sort"
)

// serveModels answers GET /v1/models from the config: the model names of
// an llm: route (wildcards and internal models left out) and its virtual
// models, else each backend's model.
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
		if b.Internal {
			continue // served only through virtual models
		}
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
	for _, v := range h.spec.VirtualModels {
		add(v.Name, "agentgateway")
	}
	for alias := range h.spec.Aliases {
		add(alias, "agentgateway")
	}
	sort.Slice(out.Data, func(i, j int) bool { return out.Data[i].ID < out.Data[j].ID })
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
