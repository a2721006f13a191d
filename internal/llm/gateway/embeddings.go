package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// embedConcurrency bounds the upstream calls one embeddings request has
// in flight (a provider that takes one input per call, or fewer inputs
// per call than the client sent).
const embedConcurrency = 4

// serveEmbeddings serves an OpenAI embeddings request: forwarded as is
// (with the configured model) to a provider that speaks OpenAI's dialect,
// translated for a provider that implements llm.Embedder (Gemini, Vertex
// AI, Bedrock), and accounted for.
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
	rp, e := h.route(r, model, body)
	if e != nil {
		writeError(w, r, f, e)
		return
	}
	if rp.empty() {
		writeError(w, r, f, &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "model_not_found",
			Message: fmt.Sprintf("model %q is not served by this gateway", asked)})
		return
	}
	var req *llm.EmbedRequest // parsed when a translating provider is tried
	targets, models := rp.targets()
	n := 0 // run tries targets in order: models[n] goes with targets[n]
	h.run(w, r, f, targets, func(t *Target) (bool, *llm.Error) {
		p := t.Provider
		sent := model
		if models != nil {
			sent = models[min(n, len(models)-1)]
			n++
		}
		if m := p.Model(); m != "" {
			sent = m
		}
		if path, ok := p.Path(llm.OpEmbeddings); ok && p.Dialect() == llm.DialectOpenAI {
			return h.forwardEmbeddings(w, r, t, raw, path, asked, sent)
		}
		emb, ok := p.(llm.Embedder)
		if !ok {
			return false, &llm.Error{Status: http.StatusNotImplemented, Type: llm.ErrInvalidRequest,
				Message: "embeddings are not supported for provider " + p.System() + " by this gateway"}
		}
		if req == nil {
			var err error
			if req, err = llm.ParseEmbedRequest(body); err != nil {
				return false, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "invalid request: " + err.Error()}
			}
		}
		return h.translateEmbeddings(w, r, t, emb, req, asked, sent)
	})
}

// forwardEmbeddings sends the client's body (model replaced) to an
// OpenAI-dialect provider and relays its answer.
func (h *Handler) forwardEmbeddings(w http.ResponseWriter, r *http.Request, t *Target, raw map[string]json.RawMessage, path, asked, sent string) (bool, *llm.Error) {
	p := t.Provider
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
}

// translateEmbeddings serves req through a provider's own embeddings API:
// its calls are sent (embedConcurrency at a time when there are several),
// their vectors joined in input order and rendered as OpenAI's answer.
// Any failed call fails the attempt (the others are cancelled), so the
// next provider can be tried.
func (h *Handler) translateEmbeddings(w http.ResponseWriter, r *http.Request, t *Target, emb llm.Embedder, req *llm.EmbedRequest, asked, sent string) (bool, *llm.Error) {
	cr := *req
	cr.Model = sent
	calls, err := emb.BuildEmbed(&cr)
	if err != nil {
		return false, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: err.Error()}
	}
	start := time.Now()
	results, e := sendEmbedCalls(r, t, calls)
	if e != nil {
		return e.Status == 499, e
	}
	vectors, tokens, respModel := llm.JoinEmbeddings(results)
	if respModel == "" {
		respModel = sent
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(llm.EmbedBody(respModel, vectors, tokens, req.Base64))
	acct := &usageRecord{h: h, r: r, t: t, asked: asked, sent: sent, respModel: respModel, op: "embeddings", start: start}
	var usage *llm.Usage
	if tokens >= 0 {
		usage = &llm.Usage{InputTokens: tokens}
	}
	acct.finish(usage, 0, 0)
	return true, nil
}

// sendEmbedCalls sends calls to t and parses their answers, in call
// order. The first failure cancels the calls still in flight and is
// returned.
func sendEmbedCalls(r *http.Request, t *Target, calls []llm.EmbedCall) ([]*llm.Embeddings, *llm.Error) {
	results := make([]*llm.Embeddings, len(calls))
	if len(calls) == 1 {
		res, e := embedCall(r, t, calls[0])
		results[0] = res
		return results, e
	}
	// Each call gets its own pipeline record (send writes to it); the
	// request's record names the target once.
	info := pipeline.InfoFrom(r.Context())
	info.Backend, info.Endpoint = t.Name, t.Address
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var (
		mu    sync.Mutex
		first *llm.Error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, embedConcurrency)
	for i, c := range calls {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cr := r.WithContext(pipeline.WithInfo(ctx, &pipeline.Info{}))
			res, e := embedCall(cr, t, c)
			mu.Lock()
			defer mu.Unlock()
			if e != nil {
				if first == nil {
					first = e
					cancel()
				}
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && r.Context().Err() != nil {
		// The client left before every call was started.
		first = &llm.Error{Status: 499, Type: llm.ErrAPI, Message: errClientGone.Error()}
	}
	return results, first
}

// embedCall sends one call and parses its answer.
func embedCall(r *http.Request, t *Target, c llm.EmbedCall) (*llm.Embeddings, *llm.Error) {
	p := t.Provider
	resp, cancel, e := send(r, t, c.Call, c.Call.Path, llm.DialectOpenAI)
	if e != nil {
		return nil, e
	}
	defer cancel(nil)
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, upstreamError(p, resp)
	}
	b, err := readAllSized(io.LimitReader(resp.Body, MaxResponseBytes+1), resp.ContentLength, MaxResponseBytes)
	if err != nil || len(b) > MaxResponseBytes {
		if r.Context().Err() != nil {
			return nil, &llm.Error{Status: 499, Type: llm.ErrAPI, Message: errClientGone.Error()}
		}
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream response truncated or too large"}
	}
	res, err := c.Parse(resp.Header, b)
	if err != nil {
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "invalid upstream response: " + err.Error()}
	}
	if len(res.Vectors) != c.Inputs {
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI,
			Message: fmt.Sprintf("invalid upstream response: %d embeddings for %d inputs", len(res.Vectors), c.Inputs)}
	}
	return res, nil
}
