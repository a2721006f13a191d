package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
)

// simBinary is llm-d-inference-sim, built by `make llmsim` from the
// tools/llmsim module into .cache/bin (or named by $LLMSIM_BIN).
func simBinary(t *testing.T) string {
	p := os.Getenv("LLMSIM_BIN")
	if p == "" {
		p, _ = filepath.Abs("../../.cache/bin/llm-d-inference-sim")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("llm-d-inference-sim not built (%v): make test runs `make llmsim` first", err)
		}
		t.Skipf("llm-d-inference-sim not built (run make llmsim): %v", err)
	}
	return p
}

// startSim runs llm-d-inference-sim in echo mode on a free port.
func startSim(t *testing.T, extra ...string) string {
	t.Helper()
	port := freePort(t)
	args := append([]string{"--model", "test-model", "--port", fmt.Sprint(port), "--mode", "echo", "--force-dummy-tokenizer"}, extra...)
	cmd := exec.Command(simBinary(t), args...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("llm-d-inference-sim logs:\n%s", logs.String())
		}
	})
	host := fmt.Sprintf("127.0.0.1:%d", port)
	eventually(t, "llm-d-inference-sim ready", func() bool {
		resp, err := http.Get("http://" + host + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return host
}

// TestLLMInferenceSim runs the SDK clients through the gateway against
// llm-d-inference-sim (a vLLM simulator with real OpenAI and Anthropic
// wire formats), including a primary that injects failures.
func TestLLMInferenceSim(t *testing.T) {
	sim := startSim(t)
	flaky := startSim(t, "--failure-injection-rate", "100", "--failure-types", "server_error")
	llmPort, poolPort := freePort(t), freePort(t)
	StartGateway(t, fmt.Sprintf(`llm:
  port: %d
  models:
  - name: test-model
    provider: openAI
    params: {baseUrl: "http://%s/v1"}
  - name: claude-sim
    provider: anthropic
    params: {model: test-model, baseUrl: "http://%s"}
binds:
- port: %d
  listeners:
  - routes:
    - backends:
      - ai:
          groups:
          - providers:
            - {name: flaky, hostOverride: "%s", provider: {openAI: {model: test-model}}}
          - providers:
            - {name: healthy, hostOverride: "%s", provider: {openAI: {model: test-model}}}
`, llmPort, sim, sim, poolPort, flaky, sim))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	oc := openAIClient(fmt.Sprintf("http://127.0.0.1:%d", llmPort))
	ac := anthropic.NewClient(aoption.WithBaseURL(fmt.Sprintf("http://127.0.0.1:%d", llmPort)), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	user := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo this back")}

	t.Run("openai non-stream", func(t *testing.T) {
		resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "test-model", Messages: user})
		if err != nil || resp.Choices[0].Message.Content != "echo this back" || resp.Usage.PromptTokens == 0 {
			t.Fatalf("%v %+v", err, resp)
		}
	})
	t.Run("openai stream with usage", func(t *testing.T) {
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "test-model", Messages: user,
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || acc.Choices[0].Message.Content != "echo this back" || acc.Usage.CompletionTokens == 0 {
			t.Fatalf("%v %+v", err, acc)
		}
	})
	t.Run("anthropic client, openai upstream (translated stream)", func(t *testing.T) {
		s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "test-model", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("echo this back"))}})
		var m anthropic.Message
		for s.Next() {
			if err := m.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil || len(m.Content) != 1 || m.Content[0].Text != "echo this back" || m.Usage.OutputTokens == 0 {
			t.Fatalf("%v %+v", err, m)
		}
	})
	t.Run("anthropic client, anthropic upstream", func(t *testing.T) {
		m, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sim", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("echo this back"))}})
		if err != nil || len(m.Content) != 1 || m.Content[0].Text != "echo this back" {
			t.Fatalf("%v %+v", err, m)
		}
	})
	t.Run("failing primary fails over", func(t *testing.T) {
		pc := openAIClient(fmt.Sprintf("http://127.0.0.1:%d", poolPort))
		for range 3 {
			resp, err := pc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "test-model", Messages: user})
			if err != nil || resp.Choices[0].Message.Content != "echo this back" {
				t.Fatalf("%v %+v", err, resp)
			}
		}
	})
}
