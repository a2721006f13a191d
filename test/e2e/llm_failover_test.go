package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// failoverGateway serves one ai backend with two priority groups: an
// OpenAI primary at primaryHost and an Anthropic fallback.
func failoverGateway(t *testing.T, primaryHost string, fallback *llmtest.Fake) string {
	t.Helper()
	port := freePort(t)
	StartGateway(t, fmt.Sprintf(`binds:
- port: %d
  listeners:
  - routes:
    - backends:
      - ai:
          groups:
          - providers:
            - name: primary
              provider: {openAI: {model: gpt-primary}}
              hostOverride: %s
              policies: {backendAuth: {key: sk-upstream}}
          - providers:
            - name: fallback
              provider: {anthropic: {model: claude-fallback}}
              hostOverride: %s
              policies: {backendAuth: {key: ak-upstream}}
`, port, primaryHost, fallback.Host()))
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func ask(ctx context.Context, c openai.Client, text string) (*openai.ChatCompletion, error) {
	return c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}})
}

func TestLLMFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	t.Run("5xx fails over and the fallback's model answers; repeated failures eject the primary", func(t *testing.T) {
		primary := llmtest.OpenAI(t, "sk-upstream")
		primary.Set(llmtest.Knobs{Fail: llmtest.Status(0, 503, llmtest.OpenAIError("server_error", "", "down"))})
		fallback := llmtest.Anthropic(t, "ak-upstream")
		c := openAIClient(failoverGateway(t, primary.Host(), fallback))
		for i := range 7 {
			resp, err := ask(ctx, c, fmt.Sprint("q", i))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != "claude-fallback" || resp.Choices[0].Message.Content != llmtest.Reply(fmt.Sprint("q", i)) {
				t.Fatalf("got %+v", resp)
			}
		}
		if n := primary.Count(); n != 5 {
			t.Errorf("primary got %d attempts; want 5, then ejection", n)
		}
	})
	t.Run("429 with Retry-After fails over at once and ejects for that long", func(t *testing.T) {
		primary := llmtest.OpenAI(t, "sk-upstream")
		primary.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.OpenAIError("requests", "rate_limit_exceeded", "slow down"), "Retry-After", "30")})
		fallback := llmtest.Anthropic(t, "ak-upstream")
		c := openAIClient(failoverGateway(t, primary.Host(), fallback))
		for range 3 {
			s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "any",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream")}})
			acc := openai.ChatCompletionAccumulator{}
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil || acc.Choices[0].Message.Content != llmtest.Reply("stream") || acc.Model != "claude-fallback" {
				t.Fatalf("%v %+v", err, acc)
			}
		}
		if n := primary.Count(); n != 1 {
			t.Errorf("primary got %d attempts after Retry-After: 30; want 1", n)
		}
	})
	t.Run("connect error fails over", func(t *testing.T) {
		fallback := llmtest.Anthropic(t, "ak-upstream")
		c := openAIClient(failoverGateway(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), fallback))
		if resp, err := ask(ctx, c, "anyone?"); err != nil || resp.Model != "claude-fallback" {
			t.Fatalf("%v %+v", err, resp)
		}
	})
	t.Run("a 400 is not failed over", func(t *testing.T) {
		primary := llmtest.OpenAI(t, "sk-upstream")
		primary.Set(llmtest.Knobs{Fail: llmtest.Status(0, 400, llmtest.OpenAIError("invalid_request_error", "content_policy_violation", "no"))})
		fallback := llmtest.Anthropic(t, "ak-upstream")
		c := openAIClient(failoverGateway(t, primary.Host(), fallback))
		_, err := ask(ctx, c, "x")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "content_policy_violation" || fallback.Count() != 0 {
			t.Fatalf("got %v, fallback %d", err, fallback.Count())
		}
	})
	t.Run("every provider rate limited: 429 stays 429 with Retry-After", func(t *testing.T) {
		primary := llmtest.OpenAI(t, "sk-upstream")
		primary.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.OpenAIError("requests", "rate_limit_exceeded", "slow down"), "Retry-After", "7")})
		fallback := llmtest.Anthropic(t, "ak-upstream")
		fallback.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.AnthropicError("rate_limit_error", "slow down"), "Retry-After", "9")})
		c := openAIClient(failoverGateway(t, primary.Host(), fallback))
		_, err := ask(ctx, c, "x")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("Retry-After") != "9" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a stream broken after content ends with an error event", func(t *testing.T) {
		primary := llmtest.OpenAI(t, "sk-upstream")
		primary.Set(llmtest.Knobs{CutAfter: 3})
		fallback := llmtest.Anthropic(t, "ak-upstream")
		base := failoverGateway(t, primary.Host(), fallback)
		oc := openAIClient(base)
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "any",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tell me a long story")}})
		var text strings.Builder
		for s.Next() {
			if ch := s.Current(); len(ch.Choices) > 0 {
				text.WriteString(ch.Choices[0].Delta.Content)
			}
		}
		if s.Err() == nil || !strings.Contains(s.Err().Error(), "terminal event") || text.Len() == 0 {
			t.Fatalf("openai client: err %v after %q", s.Err(), text.String())
		}
		ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
		as := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("tell me a long story"))}})
		for as.Next() {
		}
		if as.Err() == nil || !strings.Contains(as.Err().Error(), "terminal event") {
			t.Fatalf("anthropic client: err %v", as.Err())
		}
	})
	t.Run("weighted backends share the load", func(t *testing.T) {
		a, b := llmtest.OpenAI(t, ""), llmtest.OpenAI(t, "")
		port := freePort(t)
		StartGateway(t, fmt.Sprintf(`binds:
- port: %d
  listeners:
  - routes:
    - backends:
      - weight: 3
        ai: {name: a, hostOverride: %s, provider: {openAI: {model: m}}}
      - weight: 1
        ai: {name: b, hostOverride: %s, provider: {openAI: {model: m}}}
`, port, a.Host(), b.Host()))
		c := openAIClient(fmt.Sprintf("http://127.0.0.1:%d", port))
		for range 40 {
			if _, err := ask(ctx, c, "x"); err != nil {
				t.Fatal(err)
			}
		}
		if a.Count() <= b.Count() || b.Count() == 0 {
			t.Errorf("weights 3:1 gave %d:%d", a.Count(), b.Count())
		}
	})
}
