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

// llmGateway starts the gateway on an llm: config (models given as YAML
// list items) and returns its base URL.
func llmGateway(t *testing.T, models string) (*Gateway, string) {
	t.Helper()
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf("llm:\n  port: %d\n  models:\n%s", port, models))
	return g, fmt.Sprintf("http://127.0.0.1:%d", port)
}

func openAIClient(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("client-key"), option.WithMaxRetries(0))
}

// metricsText scrapes the gateway's Prometheus endpoint.
func metricsText(t *testing.T, g *Gateway) string {
	t.Helper()
	_, body := get(t, "http://"+g.Stats+"/metrics")
	return body
}

func TestLLMOpenAIChat(t *testing.T) {
	up := llmtest.OpenAI(t, "sk-upstream")
	g, base := llmGateway(t, fmt.Sprintf(`
  - name: gpt-4o-mini
    provider: openAI
    params: {model: gpt-4o-mini-2024-07-18, apiKey: sk-upstream, baseUrl: "http://%s/v1"}
  - name: "team/*"
    provider: openAI
    params: {apiKey: sk-upstream, baseUrl: "http://%s/v1"}
`, up.Host(), up.Host()))
	c := openAIClient(base)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	t.Run("non-stream", func(t *testing.T) {
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("ping")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != llmtest.Reply("ping") {
			t.Errorf("content %q", got)
		}
		if resp.Model != "gpt-4o-mini-2024-07-18" || resp.Usage.PromptTokens != 11 || resp.SystemFingerprint != "fp_fake" { //nolint:staticcheck // still on the wire
			t.Errorf("model %q usage %+v fingerprint %q", resp.Model, resp.Usage, resp.SystemFingerprint) //nolint:staticcheck // still on the wire
		}
		last := up.Requests()[up.Count()-1]
		if last.Header.Get("Authorization") != "Bearer sk-upstream" || last.Body["model"] != "gpt-4o-mini-2024-07-18" || last.Path != "/v1/chat/completions" {
			t.Errorf("upstream saw %v %v %s", last.Header.Get("Authorization"), last.Body["model"], last.Path)
		}
	})
	t.Run("stream without usage", func(t *testing.T) {
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream please")},
		})
		acc := openai.ChatCompletionAccumulator{}
		chunks := 0
		for s.Next() {
			ch := s.Current()
			acc.AddChunk(ch)
			chunks++
			if ch.JSON.Usage.Valid() && ch.Usage.TotalTokens > 0 {
				t.Errorf("client got a usage chunk it did not ask for: %s", ch.RawJSON())
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != llmtest.Reply("stream please") || chunks < 5 {
			t.Errorf("content %q in %d chunks", got, chunks)
		}
		last := up.Requests()[up.Count()-1]
		if so, _ := last.Body["stream_options"].(map[string]any); so["include_usage"] != true {
			t.Errorf("gateway did not ask upstream for usage: %v", last.Body)
		}
	})
	t.Run("stream with usage and wildcard model", func(t *testing.T) {
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "team/llama", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Usage.PromptTokens != 11 || acc.Model != "team/llama" {
			t.Errorf("usage %+v model %q", acc.Usage, acc.Model)
		}
	})
	t.Run("streamed tool call", func(t *testing.T) {
		up.Set(llmtest.Knobs{ToolCall: true})
		defer up.Set(llmtest.Knobs{})
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})},
		})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		tc := acc.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != `{"city":"Paris"}` || acc.Choices[0].FinishReason != "tool_calls" {
			t.Errorf("tool calls %+v finish %q", tc, acc.Choices[0].FinishReason)
		}
	})
	t.Run("models from config", func(t *testing.T) {
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != "gpt-4o-mini" {
			t.Errorf("models %+v", page.Data)
		}
	})
	t.Run("unknown model is a 404 in OpenAI's shape", func(t *testing.T) {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "nope", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("upstream 400 keeps its code", func(t *testing.T) {
		up.Set(llmtest.Knobs{Fail: llmtest.Status(1, 400, llmtest.OpenAIError("invalid_request_error", "context_length_exceeded", "too long"))})
		defer up.Set(llmtest.Knobs{})
		before := up.Count()
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
			t.Fatalf("got %v", err)
		}
		if up.Count()-before != 1 {
			t.Errorf("a 400 was retried: %d attempts", up.Count()-before)
		}
	})
	t.Run("metrics and access log", func(t *testing.T) {
		m := metricsText(t, g)
		for _, want := range []string{
			`agentgateway_gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_request_model="gpt-4o-mini",gen_ai_response_model="gpt-4o-mini-2024-07-18",gen_ai_system="openai",gen_ai_token_type="input"}`,
			`agentgateway_gen_ai_server_time_to_first_token_count{`,
			`agentgateway_gen_ai_server_time_per_output_token_count{`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		g.WaitLog("llm.usage.output_tokens=")
		if !strings.Contains(g.Logs(), "llm.provider=openai llm.request.model=gpt-4o-mini llm.response.model=gpt-4o-mini-2024-07-18 llm.usage.input_tokens=11") {
			t.Errorf("access log lacks llm fields:\n%s", g.Logs())
		}
	})
}
