package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// TestLLMAnthropic drives the gateway with the official Anthropic Go SDK
// and the OpenAI SDK, against a fake Anthropic and a fake OpenAI: native
// passthrough and translation both ways, streams and tool calls included.
func TestLLMAnthropic(t *testing.T) {
	ant := llmtest.Anthropic(t, "ak-upstream")
	oai := llmtest.OpenAI(t, "sk-upstream")
	_, base := llmGateway(t, fmt.Sprintf(`
  - name: claude
    provider: anthropic
    params: {model: claude-sonnet-4-5, apiKey: ak-upstream, baseUrl: "http://%s"}
  - name: gpt
    provider: openAI
    params: {model: gpt-4o, apiKey: sk-upstream, baseUrl: "http://%s/v1"}
`, ant.Host(), oai.Host()))
	ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("client-key"), aoption.WithMaxRetries(0))
	oc := openAIClient(base)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	weather := []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}
	msgs := func(s string) []anthropic.MessageParam {
		return []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(s))}
	}
	stream := func(t *testing.T, p anthropic.MessageNewParams) anthropic.Message {
		t.Helper()
		s := ac.Messages.NewStreaming(ctx, p)
		var m anthropic.Message
		for s.Next() {
			if err := m.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}

	for _, model := range []string{"claude", "gpt"} {
		t.Run("messages to "+model, func(t *testing.T) {
			m, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: model, MaxTokens: 100, Messages: msgs("hi " + model),
				System: []anthropic.TextBlockParam{{Text: "be brief"}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Content) != 1 || m.Content[0].Text != llmtest.Reply("hi "+model) || m.StopReason != "end_turn" {
				t.Fatalf("got %+v", m)
			}
			if m.Usage.InputTokens != 8 || m.Usage.CacheReadInputTokens != 3 {
				t.Errorf("usage %+v (want Anthropic's convention: input excludes cache reads)", m.Usage)
			}
		})
		t.Run("streamed messages to "+model, func(t *testing.T) {
			m := stream(t, anthropic.MessageNewParams{Model: model, MaxTokens: 100, Messages: msgs("stream " + model)})
			if len(m.Content) != 1 || m.Content[0].Text != llmtest.Reply("stream "+model) || m.StopReason != "end_turn" || m.Usage.OutputTokens == 0 {
				t.Fatalf("got %+v", m)
			}
		})
		t.Run("streamed tool call from "+model, func(t *testing.T) {
			ant.Set(llmtest.Knobs{ToolCall: true})
			oai.Set(llmtest.Knobs{ToolCall: true})
			defer ant.Set(llmtest.Knobs{})
			defer oai.Set(llmtest.Knobs{})
			m := stream(t, anthropic.MessageNewParams{Model: model, MaxTokens: 100, Messages: msgs("weather?"), Tools: weather})
			var tu *anthropic.ContentBlockUnion
			for i := range m.Content {
				if m.Content[i].Type == "tool_use" {
					tu = &m.Content[i]
				}
			}
			var in map[string]string
			if tu == nil || tu.Name != "get_weather" || json.Unmarshal(tu.Input, &in) != nil || in["city"] != "Paris" || m.StopReason != "tool_use" {
				t.Fatalf("got %+v", m)
			}
		})
	}
	t.Run("openai client to anthropic upstream", func(t *testing.T) {
		resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("bonjour")}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != llmtest.Reply("bonjour") || resp.Model != "claude-sonnet-4-5" ||
			resp.Usage.PromptTokens != 11 || resp.Usage.PromptTokensDetails.CachedTokens != 3 {
			t.Errorf("got %+v", resp)
		}
		last := ant.Requests()[ant.Count()-1]
		if last.Body["system"] != "be brief" || last.Header.Get("X-Api-Key") != "ak-upstream" || last.Path != "/v1/messages" {
			t.Errorf("upstream saw %s %v %v", last.Path, last.Body, last.Header)
		}
	})
	t.Run("openai client streams a tool call from anthropic", func(t *testing.T) {
		ant.Set(llmtest.Knobs{ToolCall: true})
		defer ant.Set(llmtest.Knobs{})
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object"}})},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		c := acc.Choices[0]
		if c.Message.Content != "Let me check." || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Arguments != `{"city": "Paris"}` ||
			c.FinishReason != "tool_calls" || acc.Usage.PromptTokens != 11 {
			t.Errorf("got %+v usage %+v", c, acc.Usage)
		}
	})
	t.Run("count tokens", func(t *testing.T) {
		n, err := ac.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude", Messages: msgs("count me")})
		if err != nil || n.InputTokens != 42 {
			t.Fatalf("native: %v %+v", err, n)
		}
		n, err = ac.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "gpt", Messages: msgs("count me")})
		if err != nil || n.InputTokens < 1 {
			t.Fatalf("estimate: %v %+v", err, n)
		}
	})
	t.Run("overloaded is 529 for anthropic clients and 503 for openai clients", func(t *testing.T) {
		ant.Set(llmtest.Knobs{Fail: llmtest.Status(0, 529, llmtest.AnthropicError("overloaded_error", "Overloaded"))})
		defer ant.Set(llmtest.Knobs{})
		_, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude", MaxTokens: 10, Messages: msgs("x")})
		var aerr *anthropic.Error
		if !errors.As(err, &aerr) || aerr.StatusCode != 529 {
			t.Fatalf("anthropic client: %v", err)
		}
		_, err = oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 503 {
			t.Fatalf("openai client: %v", err)
		}
	})
	t.Run("in-band overload before content is a real HTTP error", func(t *testing.T) {
		ant.Set(llmtest.Knobs{Fail: llmtest.AnthropicStreamError("overloaded_error")})
		defer ant.Set(llmtest.Knobs{})
		s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "claude", MaxTokens: 10, Messages: msgs("x")})
		for s.Next() {
		}
		var aerr *anthropic.Error
		if !errors.As(s.Err(), &aerr) || aerr.StatusCode != 529 {
			t.Fatalf("got %v", s.Err())
		}
	})
}
