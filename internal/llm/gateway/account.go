package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// usageRecord accounts for one answered LLM call: the gen_ai_* metrics and
// the access-log fields llm.provider, llm.request.model,
// llm.response.model, llm.usage.input_tokens and llm.usage.output_tokens.
type usageRecord struct {
	h         *Handler
	r         *http.Request
	t         *Target
	asked     string // model the client asked for
	sent      string // model sent upstream
	respModel string // model that answered
	op        string // gen_ai operation name
	start     time.Time
}

func (a *usageRecord) finish(u *llm.Usage, ttft, tpot time.Duration) {
	info := pipeline.InfoFrom(a.r.Context())
	system := a.t.Provider.System()
	resp := a.respModel
	if resp == "" {
		resp = a.sent
	}
	info.AddField("llm.provider", system)
	info.AddField("llm.request.model", a.asked)
	info.AddField("llm.response.model", resp)
	in, out := -1, -1
	if u != nil {
		in, out = u.InputTokens, u.OutputTokens
		info.AddField("llm.usage.input_tokens", strconv.Itoa(in))
		info.AddField("llm.usage.output_tokens", strconv.Itoa(out))
		if u.CacheReadTokens > 0 {
			info.AddField("llm.usage.cache_read_tokens", strconv.Itoa(u.CacheReadTokens))
		}
	}
	if a.op == "embeddings" {
		out = -1
	}
	a.h.spec.Metrics.ObserveCall(telemetry.GenAILabels{
		Operation: a.op, System: system, RequestModel: a.asked, ResponseModel: resp,
	}, in, out, time.Since(a.start), ttft, tpot)
}
