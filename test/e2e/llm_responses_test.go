package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// TestLLMResponses drives /v1/responses with the official openai-go
// Responses client: passthrough to OpenAI (fields the gateway does not
// know kept), and translation to chat completions (an OpenAI-compatible
// preset) and to Anthropic messages, streams and tool calls included.
func TestLLMResponses(t *testing.T) {
	oai := llmtest.OpenAI(t, "sk-upstream")
	ant := llmtest.Anthropic(t, "ak-upstream")
	g, base := llmGateway(t, fmt.Sprintf(`
  - name: gpt-4.1
    provider: openAI
    params: {apiKey: sk-upstream, baseUrl: "http://%s/v1"}
  - name: compat
    provider: groq
    params: {model: llama-3.3-70b, apiKey: sk-upstream, baseUrl: "http://%s/v1"}
  - name: claude
    provider: anthropic
    params: {model: claude-sonnet-4-5, apiKey: ak-upstream, baseUrl: "http://%s"}
`, oai.Host(), oai.Host(), ant.Host()))
	oc := openAIClient(base)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	in := func(s string) responses.ResponseNewParamsInputUnion {
		return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
	}
	lastOAI := func() llmtest.Recorded { return oai.Requests()[oai.Count()-1] }
	stream := func(t *testing.T, p responses.ResponseNewParams) (text string, done responses.Response, types []string) {
		t.Helper()
		s := oc.Responses.NewStreaming(ctx, p)
		for s.Next() {
			ev := s.Current()
			types = append(types, ev.Type)
			switch ev.Type {
			case "response.output_text.delta":
				text += ev.Delta
			case "response.completed":
				done = ev.Response
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return text, done, types
	}

	t.Run("passthrough to openai", func(t *testing.T) {
		r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4.1", Input: in("pass me"), Store: openai.Bool(false)})
		if err != nil {
			t.Fatal(err)
		}
		if r.OutputText() != llmtest.Reply("pass me") || r.Usage.InputTokens != 11 || r.Usage.InputTokensDetails.CachedTokens != 3 {
			t.Errorf("got %+v", r)
		}
		if up := lastOAI(); up.Path != "/v1/responses" || up.Body["store"] != false || up.Header.Get("Authorization") != "Bearer sk-upstream" {
			t.Errorf("upstream saw %s %v", up.Path, up.Body)
		}
		text, done, _ := stream(t, responses.ResponseNewParams{Model: "gpt-4.1", Input: in("pass stream")})
		if text != llmtest.Reply("pass stream") || done.Usage.OutputTokens == 0 {
			t.Errorf("stream got %q %+v", text, done.Usage)
		}
	})
	for _, model := range []string{"compat", "claude"} {
		t.Run("translated to "+model, func(t *testing.T) {
			r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: model, Input: in("translate me"), Instructions: openai.String("be brief")})
			if err != nil {
				t.Fatal(err)
			}
			if r.OutputText() != llmtest.Reply("translate me") || r.Status != "completed" || r.Usage.InputTokens != 11 || r.Usage.InputTokensDetails.CachedTokens != 3 {
				t.Errorf("got %+v", r)
			}
			text, done, types := stream(t, responses.ResponseNewParams{Model: model, Input: in("stream me")})
			if text != llmtest.Reply("stream me") || done.OutputText() != text || done.Usage.TotalTokens == 0 {
				t.Errorf("stream got %q %+v", text, done)
			}
			if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
				t.Errorf("event order %v", types)
			}
		})
	}
	t.Run("tool call and tool output translated to chat completions", func(t *testing.T) {
		oai.Set(llmtest.Knobs{ToolCall: true})
		defer oai.Set(llmtest.Knobs{})
		tools := []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "get_weather",
			Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}
		s := oc.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "compat", Input: in("weather?"), Tools: tools})
		var args, name string
		for s.Next() {
			ev := s.Current()
			switch ev.Type {
			case "response.function_call_arguments.delta":
				args += ev.Delta
			case "response.output_item.added":
				if ev.Item.Type == "function_call" {
					name = ev.Item.Name
				}
			}
		}
		if err := s.Err(); err != nil || name != "get_weather" || args != `{"city":"Paris"}` {
			t.Fatalf("%v name %q args %q", err, name, args)
		}
		out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny")
		out.OfFunctionCallOutput.CallID = openai.String("call_fake1")
		r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "compat", Tools: tools, Input: responses.ResponseNewParamsInputUnion{
			OfInputItemList: responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage("weather?", responses.EasyInputMessageRoleUser),
				responses.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_fake1", "get_weather"), out}}})
		if err != nil || len(r.Output) != 1 || r.Output[0].Type != "function_call" || r.Output[0].Name != "get_weather" {
			t.Fatalf("%v %+v", err, r)
		}
		msgs := fmt.Sprint(lastOAI().Body["messages"])
		if !strings.Contains(msgs, "role:tool tool_call_id:call_fake1") || !strings.Contains(msgs, "name:get_weather") || lastOAI().Path != "/v1/chat/completions" {
			t.Errorf("upstream saw %s %s", lastOAI().Path, msgs)
		}
	})
	t.Run("previous_response_id needs the openai upstream", func(t *testing.T) {
		_, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "compat", Input: in("x"), PreviousResponseID: openai.String("resp_0")})
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 400 || !strings.Contains(oerr.Message, "previous_response_id") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("upstream errors reach the client in OpenAI's shape", func(t *testing.T) {
		ant.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.AnthropicError("rate_limit_error", "slow down"))})
		defer ant.Set(llmtest.Knobs{})
		_, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: in("x")})
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 429 || oerr.Type != "rate_limit_error" {
			t.Errorf("got %v", err)
		}
	})
	if m := metricsText(t, g); !strings.Contains(m, `gen_ai_request_model="compat"`) {
		t.Errorf("metrics lack the translated calls")
	}
}
