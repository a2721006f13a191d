package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

func chat(ctx context.Context, c openai.Client, model, text string, opts ...option.RequestOption) (*openai.ChatCompletion, error) {
	return c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, opts...)
}

// lastModel is the model the fake was last asked for ("" if none).
func lastModel(f *llmtest.Fake) string {
	rs := f.Requests()
	if len(rs) == 0 {
		return ""
	}
	m, _ := rs[len(rs)-1].Body["model"].(string)
	return m
}

// TestLLMVirtualModels drives llm.virtualModels, models[].matches and
// visibility: internal through the gateway with the OpenAI SDK against
// two fake OpenAI providers.
func TestLLMVirtualModels(t *testing.T) {
	a := llmtest.OpenAI(t, "sk-a")
	b := llmtest.OpenAI(t, "sk-b")
	port := freePort(t)
	StartGateway(t, fmt.Sprintf(`llm:
  port: %d
  models:
  - name: model-a
    provider: openAI
    params: {model: upstream-a, apiKey: sk-a, baseUrl: "http://%s/v1"}
  - name: model-b
    provider: openAI
    visibility: internal
    params: {model: upstream-b, apiKey: sk-b, baseUrl: "http://%s/v1"}
  - name: tiered
    provider: openAI
    params: {model: tier-gold, apiKey: sk-a, baseUrl: "http://%s/v1"}
    matches: [{headers: [{name: x-tier, value: {exact: gold}}]}]
  - name: tiered
    provider: openAI
    params: {model: tier-silver, apiKey: sk-b, baseUrl: "http://%s/v1"}
    matches: [{headers: [{name: x-tier, value: {regex: "silver|bronze"}}]}]
  virtualModels:
  - name: split
    routing:
      weighted:
        targets:
        - {model: model-a, weight: 1}
        - {model: model-b, weight: 1}
  - name: ha
    routing:
      failover:
        targets:
        - {model: model-a, priority: 0}
        - {model: model-b, priority: 1}
  - name: by-cost
    routing:
      conditional:
        targets:
        - {when: 'has(llmRequest.metadata) && llmRequest.metadata.cost_tier == "premium"', model: model-b}
        - {when: 'request.headers["x-team"] == "research"', model: model-b}
        - {model: model-a}
`, port, a.Host(), b.Host(), a.Host(), b.Host()))
	c := openAIClient(fmt.Sprintf("http://127.0.0.1:%d", port))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("weighted virtual model reaches both providers", func(t *testing.T) {
		a0, b0 := a.Count(), b.Count()
		for i := range 40 { // both sides getting nothing in 40 even draws: 2^-39
			resp, err := chat(ctx, c, "split", fmt.Sprint("w", i))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != "upstream-a" && resp.Model != "upstream-b" {
				t.Fatalf("answered by %q", resp.Model)
			}
		}
		if a.Count() == a0 || b.Count() == b0 || a.Count()-a0+b.Count()-b0 != 40 {
			t.Errorf("a got %d, b got %d", a.Count()-a0, b.Count()-b0)
		}
	})
	t.Run("failover virtual model moves past a failing provider", func(t *testing.T) {
		a.Set(llmtest.Knobs{Fail: llmtest.Status(0, 503, llmtest.OpenAIError("server_error", "", "down"))})
		defer a.Set(llmtest.Knobs{})
		a0 := a.Count()
		resp, err := chat(ctx, c, "ha", "anyone?")
		if err != nil || resp.Model != "upstream-b" || resp.Choices[0].Message.Content != llmtest.Reply("anyone?") {
			t.Fatalf("%v %+v", err, resp)
		}
		if a.Count() != a0+1 || lastModel(b) != "upstream-b" {
			t.Errorf("primary attempts %d, fallback asked for %q", a.Count()-a0, lastModel(b))
		}
	})
	t.Run("failover virtual model streams from the fallback", func(t *testing.T) {
		a.Set(llmtest.Knobs{Fail: llmtest.Status(0, 500, llmtest.OpenAIError("server_error", "", "down"))})
		defer a.Set(llmtest.Knobs{})
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "ha",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream")}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || acc.Model != "upstream-b" || acc.Choices[0].Message.Content != llmtest.Reply("stream") {
			t.Fatalf("%v %+v", err, acc)
		}
	})
	t.Run("conditional virtual model", func(t *testing.T) {
		tests := []struct {
			name   string
			params openai.ChatCompletionNewParams
			opts   []option.RequestOption
			want   string
		}{
			{"metadata selects premium", openai.ChatCompletionNewParams{Metadata: shared.Metadata{"cost_tier": "premium"}}, nil, "upstream-b"},
			{"header selects research", openai.ChatCompletionNewParams{}, []option.RequestOption{option.WithHeader("X-Team", "research")}, "upstream-b"},
			{"fallback", openai.ChatCompletionNewParams{Metadata: shared.Metadata{"cost_tier": "economy"}}, nil, "upstream-a"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := tt.params
				p.Model = "by-cost"
				p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage("route me")}
				resp, err := c.Chat.Completions.New(ctx, p, tt.opts...)
				if err != nil || resp.Model != tt.want {
					t.Fatalf("%v %+v", err, resp)
				}
			})
		}
	})
	t.Run("models told apart by header matches", func(t *testing.T) {
		for tier, want := range map[string]string{"gold": "tier-gold", "bronze": "tier-silver"} {
			resp, err := chat(ctx, c, "tiered", "which?", option.WithHeader("x-tier", tier))
			if err != nil || resp.Model != want {
				t.Fatalf("x-tier %s: %v %+v", tier, err, resp)
			}
		}
		_, err := chat(ctx, c, "tiered", "which?")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("without a header: %v", err)
		}
	})
	t.Run("internal model is hidden and not served directly", func(t *testing.T) {
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if got := strings.Join(ids, ","); got != "by-cost,ha,model-a,split,tiered" {
			t.Errorf("models %s", got)
		}
		_, err = chat(ctx, c, "model-b", "direct")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("direct request to an internal model: %v", err)
		}
	})
}

// TestLLMDetectUsage checks that passthrough: detect (and the detect route
// type) forward natively yet still report token usage in the gen_ai
// metrics and the access log, for JSON answers and SSE streams; opaque
// reports none.
func TestLLMDetectUsage(t *testing.T) {
	up := llmtest.OpenAI(t, "sk-up")
	llmPort, bindPort := freePort(t), freePort(t)
	g := StartGateway(t, fmt.Sprintf(`llm:
  port: %d
  models:
  - name: raw-json
    provider: openAI
    passthrough: detect
    params: {apiKey: sk-up, baseUrl: "http://%s/v1"}
  - name: raw-stream
    provider: openAI
    passthrough: detect
    params: {apiKey: sk-up, baseUrl: "http://%s/v1"}
  - name: raw-opaque
    provider: openAI
    passthrough: opaque
    params: {apiKey: sk-up, baseUrl: "http://%s/v1"}
binds:
- port: %d
  listeners:
  - routes:
    - backends:
      - ai:
          name: up
          hostOverride: %s
          provider: {openAI: {}}
          policies:
            backendAuth: {key: sk-up}
            ai: {routes: {"*": detect}}
`, llmPort, up.Host(), up.Host(), up.Host(), bindPort, up.Host()))
	c := openAIClient(fmt.Sprintf("http://127.0.0.1:%d", llmPort))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	t.Run("non-stream", func(t *testing.T) {
		resp, err := chat(ctx, c, "raw-json", "native")
		if err != nil || resp.Usage.PromptTokens != 11 {
			t.Fatalf("%v %+v", err, resp)
		}
		last := up.Requests()[up.Count()-1]
		// forwarded natively: the SDK's own User-Agent, not the gateway's
		if last.Path != "/v1/chat/completions" || last.Body["model"] != "raw-json" || strings.HasPrefix(last.Header.Get("User-Agent"), "agentgateway") ||
			last.Header.Get("Authorization") != "Bearer sk-up" {
			t.Errorf("upstream saw %s %v %v", last.Path, last.Header, last.Body)
		}
	})
	t.Run("stream", func(t *testing.T) {
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "raw-stream",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream natively")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || acc.Choices[0].Message.Content != llmtest.Reply("stream natively") || acc.Usage.PromptTokens == 0 {
			t.Fatalf("%v %+v", err, acc)
		}
		if ua := up.Requests()[up.Count()-1].Header.Get("User-Agent"); strings.HasPrefix(ua, "agentgateway") {
			t.Errorf("stream was not forwarded natively (User-Agent %q)", ua)
		}
	})
	t.Run("opaque", func(t *testing.T) {
		if _, err := chat(ctx, c, "raw-opaque", "quiet"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("detect route type on a bind", func(t *testing.T) {
		bc := openAIClient(fmt.Sprintf("http://127.0.0.1:%d", bindPort))
		resp, err := bc.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "emb-detect",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("vector please")}})
		if err != nil || len(resp.Data) != 1 {
			t.Fatalf("%v %+v", err, resp)
		}
	})
	t.Run("metrics and access log", func(t *testing.T) {
		m := metricsText(t, g)
		for _, want := range []string{
			`agentgateway_gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_request_model="raw-json",gen_ai_response_model="raw-json",gen_ai_system="openai",gen_ai_token_type="input"}`,
			`agentgateway_gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_request_model="raw-json",gen_ai_response_model="raw-json",gen_ai_system="openai",gen_ai_token_type="output"}`,
			`agentgateway_gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_request_model="raw-stream",gen_ai_response_model="raw-stream",gen_ai_system="openai",gen_ai_token_type="output"}`,
			`agentgateway_gen_ai_client_token_usage_count{gen_ai_operation_name="embeddings",gen_ai_request_model="emb-detect",gen_ai_response_model="emb-detect",gen_ai_system="openai",gen_ai_token_type="input"}`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s\n%s", want, grep(m, "gen_ai_client_token_usage_count"))
			}
		}
		if strings.Contains(m, `gen_ai_request_model="raw-opaque"`) {
			t.Error("opaque passthrough reported usage")
		}
		g.WaitLog("llm.request.model=raw-stream")
		if !strings.Contains(g.Logs(), "llm.provider=openai llm.request.model=raw-json llm.response.model=raw-json llm.usage.input_tokens=11") {
			t.Errorf("access log lacks llm fields:\n%s", g.Logs())
		}
	})
}
