package gateway_test

import (
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// Responses API inputs, as https://platform.openai.com/docs/api-reference/responses shows them.
const (
	responsesRequest = `{"model":"m","instructions":"be brief","stream":true,"max_output_tokens":100,"temperature":0.5,"store":false,"reasoning":{"effort":"low"},
"input":[{"role":"user","content":[{"type":"input_text","text":"what is in"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]},
{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
{"type":"function_call_output","call_id":"call_1","output":"sunny"}],
"tools":[{"type":"function","name":"get_weather","description":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],
"tool_choice":"required","user":"u1"}`
	responsesResponse = `{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"gpt-4.1","output":[
{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Let me check.","annotations":[]}]},
{"type":"function_call","id":"fc_1","call_id":"call_9","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}],
"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":25}}`
	responsesStream = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-4.1\",\"output\":[]}}\n\n" +
		"event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"msg_1\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n" +
		"event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":3,\"output_index\":1,\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_9\",\"name\":\"get_weather\",\"arguments\":\"\"}}\n\n" +
		"event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":4,\"item_id\":\"fc_1\",\"output_index\":1,\"delta\":\"{}\"}\n\n" +
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":5,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"model\":\"gpt-4.1\",\"output\":[],\"usage\":{\"input_tokens\":20,\"output_tokens\":5,\"total_tokens\":25}}}\n\n"
)

func TestTranslationGoldenResponses(t *testing.T) {
	chatUp, respUp, antUp := openai.New(openai.Spec{System: "groq"}), openai.New(openai.Spec{Responses: true}), anthropic.New(anthropic.Spec{})
	parse := func(t *testing.T) *llm.Request {
		req, err := openai.Responses{}.ParseRequest([]byte(responsesRequest))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	t.Run("request responses to chat completions", func(t *testing.T) {
		call, err := chatUp.BuildChat(parse(t))
		if err != nil {
			t.Fatal(err)
		}
		if call.Path != "/v1/chat/completions" {
			t.Errorf("path %s", call.Path)
		}
		golden(t, "req-responses-to-openai.json", call.Body)
	})
	t.Run("request responses to anthropic", func(t *testing.T) {
		call, err := antUp.BuildChat(parse(t))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "req-responses-to-anthropic.json", call.Body)
	})
	t.Run("request responses passthrough to openai", func(t *testing.T) {
		req := parse(t)
		req.Model = "gpt-4.1"
		call, err := respUp.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		if call.Path != "/v1/responses" || call.DecodeStream == nil {
			t.Errorf("path %s", call.Path)
		}
		golden(t, "req-responses-passthrough.json", call.Body)
	})
	t.Run("stateful keys and built-in tools are named", func(t *testing.T) {
		req, _ := openai.Responses{}.ParseRequest([]byte(`{"model":"m","input":"hi","previous_response_id":"resp_0"}`))
		if k := openai.Stateful(req); k != "previous_response_id" {
			t.Errorf("got %q", k)
		}
		req, _ = openai.Responses{}.ParseRequest([]byte(`{"model":"m","input":"hi","tools":[{"type":"web_search"}]}`))
		if k := openai.Stateful(req); k != "tools[].type web_search" {
			t.Errorf("got %q", k)
		}
	})
	t.Run("response chat to responses", func(t *testing.T) {
		resp, _ := chatUp.ParseChat([]byte(openAIResponse))
		golden(t, "resp-openai-to-responses.json", openai.Responses{}.WriteResponse(resp))
	})
	t.Run("response anthropic to responses", func(t *testing.T) {
		resp, _ := antUp.ParseChat([]byte(anthropicResponse))
		golden(t, "resp-anthropic-to-responses.json", openai.Responses{}.WriteResponse(resp))
	})
	t.Run("response passthrough", func(t *testing.T) {
		resp, err := openai.ParseResponses([]byte(responsesResponse))
		if err != nil {
			t.Fatal(err)
		}
		if string(openai.Responses{}.WriteResponse(resp)) != responsesResponse || resp.Usage.InputTokens != 20 || resp.Usage.CacheReadTokens != 4 ||
			len(resp.ToolCalls) != 1 || resp.StopReason != llm.StopToolCalls {
			t.Errorf("got %+v", resp)
		}
		golden(t, "resp-responses-to-anthropic.json", anthropic.Client{}.WriteResponse(resp))
	})
	t.Run("stream chat to responses", func(t *testing.T) {
		golden(t, "stream-openai-to-responses.sse", relay(chatUp.DecodeStream(strings.NewReader(openAIStream)), openai.Responses{}.NewEncoder(&llm.Request{Model: "m"})))
	})
	t.Run("stream anthropic to responses", func(t *testing.T) {
		golden(t, "stream-anthropic-to-responses.sse", relay(antUp.DecodeStream(strings.NewReader(anthropicStream)), openai.Responses{}.NewEncoder(&llm.Request{Model: "m"})))
	})
	t.Run("stream responses passthrough", func(t *testing.T) {
		got := relay(openai.NewResponsesDecoder(strings.NewReader(responsesStream)), openai.Responses{}.NewEncoder(&llm.Request{}))
		if string(got) != responsesStream {
			t.Errorf("passthrough changed the stream:\n%s", got)
		}
	})
	t.Run("a broken stream ends with an error event", func(t *testing.T) {
		enc := openai.Responses{}.NewEncoder(&llm.Request{Model: "m"})
		enc.Encode(&llm.Event{Kind: llm.EvText, Text: "x"})
		got := string(enc.Finish(&llm.Error{Type: llm.ErrAPI, Message: "upstream stream ended before its terminal event"}))
		if !strings.HasPrefix(got, "event: error\ndata: {") || !strings.Contains(got, `"type":"error"`) {
			t.Errorf("got %s", got)
		}
	})
}
