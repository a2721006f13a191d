package e2e

import (
	"context"
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

// TestLLMAzure drives the gateway with the OpenAI and Anthropic SDKs
// against a fake Azure OpenAI resource: deployment paths with api-version,
// the v1 API, the api-key header, streams, tool calls, embeddings, and
// Azure's error bodies and retry headers.
func TestLLMAzure(t *testing.T) {
	az := llmtest.Azure(t, "az-key")
	az.Model = "gpt-4o-2024-08-06"
	_, base := llmGateway(t, fmt.Sprintf(`
  - name: azure-gpt
    provider: azure
    params: {model: gpt4o-deploy, apiKey: az-key, azureResourceName: myres, azureApiVersion: 2024-10-21, baseUrl: "http://%s"}
  - name: azure-v1
    provider: azureOpenAI
    params: {model: gpt4o-deploy, apiKey: az-key, azureResourceName: myres, azureApiVersion: v1, baseUrl: "http://%s"}
  - name: azure-missing
    provider: azure
    params: {model: missing, apiKey: az-key, azureResourceName: myres, baseUrl: "http://%s"}
`, az.Host(), az.Host(), az.Host()))
	oc := openAIClient(base)
	ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("client-key"), aoption.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	last := func() llmtest.Recorded { return az.Requests()[az.Count()-1] }
	chat := func(model, text string) (*openai.ChatCompletion, error) {
		return oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}})
	}

	t.Run("deployment path with api-version and api-key", func(t *testing.T) {
		resp, err := chat("azure-gpt", "hello azure")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != llmtest.Reply("hello azure") || resp.Model != "gpt-4o-2024-08-06" || resp.Usage.PromptTokens != 11 {
			t.Errorf("got %+v", resp)
		}
		up := last()
		if up.Path != "/openai/deployments/gpt4o-deploy/chat/completions?api-version=2024-10-21" || up.Header.Get("Api-Key") != "az-key" ||
			up.Header.Get("Authorization") != "" {
			t.Errorf("upstream saw %s %v", up.Path, up.Header)
		}
	})
	t.Run("v1 API", func(t *testing.T) {
		if _, err := chat("azure-v1", "v1"); err != nil {
			t.Fatal(err)
		}
		if up := last(); up.Path != "/openai/v1/chat/completions" || up.Body["model"] != "gpt4o-deploy" {
			t.Errorf("upstream saw %s model %v", up.Path, up.Body["model"])
		}
	})
	t.Run("stream with a tool call", func(t *testing.T) {
		az.Set(llmtest.Knobs{ToolCall: true})
		defer az.Set(llmtest.Knobs{})
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "azure-gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
			Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather"})}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if c := acc.Choices[0]; len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" || c.FinishReason != "tool_calls" {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("anthropic client to azure", func(t *testing.T) {
		m, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "azure-gpt", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi from claude land"))}})
		if err != nil || m.Content[0].Text != llmtest.Reply("hi from claude land") || m.Usage.InputTokens != 8 {
			t.Fatalf("%v %+v", err, m)
		}
	})
	t.Run("embeddings go to the deployment", func(t *testing.T) {
		e, err := oc.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "azure-gpt", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
		if err != nil || len(e.Data) != 1 {
			t.Fatalf("%v %+v", err, e)
		}
		if up := last(); up.Path != "/openai/deployments/gpt4o-deploy/embeddings?api-version=2024-10-21" {
			t.Errorf("upstream path %s", up.Path)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := chat("azure-missing", "x")
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 404 || oerr.Code != "DeploymentNotFound" {
			t.Errorf("missing deployment: %v", err)
		}
		az.Set(llmtest.Knobs{Fail: llmtest.Status(0, 400, llmtest.AzureError("content_filter", "The response was filtered"))})
		_, err = chat("azure-gpt", "x")
		if !errors.As(err, &oerr) || oerr.StatusCode != 400 || oerr.Code != "content_filter" {
			t.Errorf("content filter: %v", err)
		}
		az.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.AzureError("429", "Requests have exceeded call rate limit"), "X-Ms-Retry-After-Ms", "2000")})
		_, err = chat("azure-gpt", "x")
		if !errors.As(err, &oerr) || oerr.StatusCode != 429 || oerr.Response.Header.Get("Retry-After") != "2" {
			t.Errorf("rate limit: %v", err)
		}
		az.Set(llmtest.Knobs{})
	})
}
