package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

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
