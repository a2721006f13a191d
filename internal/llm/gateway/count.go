package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
)

// serveCountTokens answers /v1/messages/count_tokens: forwarded to a
// provider with a native endpoint (Anthropic), else estimated locally
// (about four characters per token; marked by the
// x-agentgateway-token-estimate header).
func (h *Handler) serveCountTokens(w http.ResponseWriter, r *http.Request, body []byte) {
	f := anthropic.Client{}
	req, err := f.ParseRequest(body)
	if err != nil {
		writeError(w, r, f, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "invalid request: " + err.Error()})
		return
	}
	asked := req.Model
	if a, ok := h.spec.Aliases[req.Model]; ok {
		req.Model = a
	}
	rp, e := h.route(r, req.Model, body)
	if e != nil {
		writeError(w, r, f, e)
		return
	}
	if rp.empty() {
		writeError(w, r, f, &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound,
			Message: fmt.Sprintf("model %q is not served by this gateway", asked)})
		return
	}
	targets, models := rp.targets()
	n := 0 // run tries targets in order: models[n] goes with targets[n]
	h.run(w, r, f, targets, func(t *Target) (bool, *llm.Error) {
		p := t.Provider
		model := req.Model
		if models != nil {
			model = models[min(n, len(models)-1)]
			n++
		}
		path, ok := p.Path(llm.OpCountTokens)
		if !ok || p.Dialect() != llm.DialectAnthropic {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Agentgateway-Token-Estimate", "true")
			b, _ := json.Marshal(map[string]int{"input_tokens": estimateTokens(req)})
			_, _ = w.Write(b)
			return true, nil
		}
		cr := *req
		cr.Model = model
		if m := p.Model(); m != "" {
			cr.Model = m
		}
		raw := map[string]json.RawMessage{}
		for k, v := range req.Raw {
			raw[k] = v
		}
		raw["model"], _ = json.Marshal(cr.Model)
		b, _ := json.Marshal(raw)
		call := &llm.Call{Method: http.MethodPost, Path: path, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
		resp, cancel, e := send(r, t, call, path, llm.DialectAnthropic)
		if e != nil {
			return e.Status == 499, e
		}
		defer cancel(nil)
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return false, upstreamError(p, resp)
		}
		out, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return false, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream response truncated"}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return true, nil
	})
}

// estimateTokens approximates a prompt's token count: four characters
// per token, plus a few tokens per message.
func estimateTokens(req *llm.Request) int {
	n := len(req.System)
	for _, m := range req.Messages {
		n += len(m.Text()) + 16
		for _, tc := range m.ToolCalls {
			n += len(tc.Name) + len(tc.Arguments)
		}
	}
	for _, t := range req.Tools {
		n += len(t.Name) + len(t.Description) + len(t.Parameters)
	}
	return max(1, n/4)
}
