package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

const bedrockModel = "anthropic.claude-3-5-sonnet-20240620-v1:0"

func bedrockGateway(t *testing.T, host, auth string) (*Gateway, string) {
	t.Helper()
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`binds:
- port: %d
  listeners:
  - routes:
    - backends:
      - ai:
          name: bedrock
          hostOverride: %s
          provider: {bedrock: {model: "%s", region: us-east-1}}
%s`, port, host, bedrockModel, auth))
	return g, fmt.Sprintf("http://127.0.0.1:%d", port)
}

// TestLLMBedrock drives the gateway with the OpenAI and Anthropic SDKs
// against a fake Bedrock runtime that verifies every SigV4 signature:
// Converse and ConverseStream (AWS event-stream framing), tool calls with
// names Bedrock would reject, tool results, stop reasons, usage, errors
// and in-band exceptions.
func TestLLMBedrock(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret/test+key", SessionToken: "sess-token"}
	br := llmtest.Bedrock(t, creds, "us-east-1")
	g, base := bedrockGateway(t, br.Host(), `          policies:
            backendAuth: {aws: {accessKeyId: AKIDTEST, secretAccessKey: "secret/test+key", sessionToken: sess-token}}
`)
	oc := openAIClient(base)
	ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("client-key"), aoption.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	last := func() llmtest.Recorded { return br.Requests()[br.Count()-1] }
	mcpTool := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "mcp.weather/get", Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})}

	t.Run("openai client, signed converse", func(t *testing.T) {
		resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello bedrock")}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != llmtest.Reply("hello bedrock") || resp.Model != bedrockModel || resp.Choices[0].FinishReason != "stop" ||
			resp.Usage.PromptTokens != 11 || resp.Usage.PromptTokensDetails.CachedTokens != 3 {
			t.Errorf("got %+v", resp)
		}
		up := last()
		if up.Path != "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse" || up.Header.Get("X-Amz-Security-Token") != "sess-token" ||
			fmt.Sprint(up.Body["system"]) != "[map[text:be brief]]" {
			t.Errorf("upstream saw %s %v %v", up.Path, up.Header, up.Body)
		}
	})
	t.Run("openai client streams a tool call under its own tool name", func(t *testing.T) {
		br.Set(llmtest.Knobs{ToolCall: true})
		defer br.Set(llmtest.Knobs{})
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "any", Tools: mcpTool,
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		c := acc.Choices[0]
		if c.Message.Content != "Let me check." || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "mcp.weather/get" ||
			c.Message.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || c.FinishReason != "tool_calls" || acc.Usage.PromptTokens != 11 {
			t.Errorf("got %+v usage %+v", c, acc.Usage)
		}
		up := last()
		if !strings.HasSuffix(up.Path, "/converse-stream") || !strings.Contains(fmt.Sprint(up.Body["toolConfig"]), "name:mcp_weather_get") {
			t.Errorf("upstream saw %s %v", up.Path, up.Body["toolConfig"])
		}
	})
	t.Run("tool results go back as toolResult blocks", func(t *testing.T) {
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any", Tools: mcpTool,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?"),
				{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "tooluse_fake1",
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "mcp.weather/get", Arguments: `{"city":"Paris"}`}}}}}},
				openai.ToolMessage(`{"sky":"clear"}`, "tooluse_fake1")}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(last().Body["messages"])
		for _, want := range []string{`"toolUse":{"input":{"city":"Paris"},"name":"mcp_weather_get","toolUseId":"tooluse_fake1"}`,
			`"toolResult":{"content":[{"json":{"sky":"clear"}}],"toolUseId":"tooluse_fake1"}`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("upstream messages lack %s:\n%s", want, b)
			}
		}
	})
	t.Run("anthropic client: stream and tool call", func(t *testing.T) {
		s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 100,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream bedrock"))}})
		var m anthropic.Message
		for s.Next() {
			if err := m.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil || len(m.Content) != 1 || m.Content[0].Text != llmtest.Reply("stream bedrock") || m.StopReason != "end_turn" ||
			m.Usage.InputTokens != 8 || m.Usage.CacheReadInputTokens != 3 {
			t.Fatalf("%v %+v", err, m)
		}
		br.Set(llmtest.Knobs{ToolCall: true})
		defer br.Set(llmtest.Knobs{})
		msg, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 100,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
			Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
				InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}})
		if err != nil || len(msg.Content) != 2 || msg.Content[1].Name != "get_weather" || msg.Content[1].ID != "tooluse_fake1" || msg.StopReason != "tool_use" {
			t.Fatalf("%v %+v", err, msg)
		}
		if mt := fmt.Sprint(last().Body["inferenceConfig"]); mt != "map[maxTokens:100]" {
			t.Errorf("inferenceConfig %s", mt)
		}
	})
	t.Run("throttling is 429, validation stays 400", func(t *testing.T) {
		br.Set(llmtest.Knobs{Fail: llmtest.BedrockError(0, 429, "ThrottlingException", "Too many requests, please wait before trying again.")})
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 429 || oerr.Code != "ThrottlingException" {
			t.Errorf("throttling: %v", err)
		}
		br.Set(llmtest.Knobs{Fail: llmtest.BedrockError(0, 400, "ValidationException", "The model returned the following errors: bad")})
		_, err = ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 5, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}})
		var aerr *anthropic.Error
		if !errors.As(err, &aerr) || aerr.StatusCode != 400 || !strings.Contains(aerr.Error(), "invalid_request_error") {
			t.Errorf("validation: %v", err)
		}
		br.Set(llmtest.Knobs{})
	})
	t.Run("an in-band exception before content is a real HTTP error", func(t *testing.T) {
		br.Set(llmtest.Knobs{Fail: llmtest.BedrockStreamException("throttlingException")})
		defer br.Set(llmtest.Knobs{})
		s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 5, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}})
		for s.Next() {
		}
		var aerr *anthropic.Error
		if !errors.As(s.Err(), &aerr) || aerr.StatusCode != 429 {
			t.Fatalf("got %v", s.Err())
		}
	})
	t.Run("a stream cut after content ends with an error event", func(t *testing.T) {
		br.Set(llmtest.Knobs{CutAfter: 2})
		defer br.Set(llmtest.Knobs{})
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "any", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("cut")}})
		n := 0
		for s.Next() {
			n++
		}
		if s.Err() == nil || n == 0 {
			t.Fatalf("got %d chunks, err %v", n, s.Err())
		}
	})
	if m := metricsText(t, g); !strings.Contains(m, `gen_ai_system="aws.bedrock"`) {
		t.Errorf("metrics lack aws.bedrock")
	}
	t.Run("credentials from the environment", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
		t.Setenv("AWS_SESSION_TOKEN", creds.SessionToken)
		_, base := bedrockGateway(t, br.Host(), "")
		ec := openAIClient(base)
		resp, err := ec.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("env")}})
		if err != nil || resp.Choices[0].Message.Content != llmtest.Reply("env") {
			t.Fatalf("%v %+v", err, resp)
		}
	})
}
