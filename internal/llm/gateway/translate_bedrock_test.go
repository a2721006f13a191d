package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/llmtest"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/bedrock"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// A Converse answer, as the API reference shows it, with a tool named the
// way Bedrock requires (the request mapped "mcp.weather/get" to it).
const bedrockResponse = `{"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},
{"toolUse":{"toolUseId":"tooluse_1","name":"mcp_weather_get","input":{"city":"Paris"}}}]}},"stopReason":"tool_use",
"usage":{"inputTokens":16,"outputTokens":5,"totalTokens":25,"cacheReadInputTokens":4},"metrics":{"latencyMs":100}}`

// bedrockStream is a ConverseStream answer in event-stream framing.
func bedrockStream(exception bool) string {
	var b bytes.Buffer
	llmtest.BedrockEvent(&b, "messageStart", map[string]any{"role": "assistant"})
	llmtest.BedrockEvent(&b, "contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": "Hi"}, "p": "abc"})
	if exception {
		llmtest.BedrockException(&b, "throttlingException", "slow down")
		return b.String()
	}
	llmtest.BedrockEvent(&b, "contentBlockStop", map[string]any{"contentBlockIndex": 0})
	llmtest.BedrockEvent(&b, "contentBlockStart", map[string]any{"contentBlockIndex": 1, "start": map[string]any{"toolUse": map[string]any{"toolUseId": "tooluse_1", "name": "mcp_weather_get"}}})
	llmtest.BedrockEvent(&b, "contentBlockDelta", map[string]any{"contentBlockIndex": 1, "delta": map[string]any{"toolUse": map[string]any{"input": `{"city":`}}})
	llmtest.BedrockEvent(&b, "contentBlockDelta", map[string]any{"contentBlockIndex": 1, "delta": map[string]any{"toolUse": map[string]any{"input": `"Paris"}`}}})
	llmtest.BedrockEvent(&b, "contentBlockStop", map[string]any{"contentBlockIndex": 1})
	llmtest.BedrockEvent(&b, "messageStop", map[string]any{"stopReason": "tool_use"})
	llmtest.BedrockEvent(&b, "metadata", map[string]any{"usage": map[string]any{"inputTokens": 16, "outputTokens": 5, "totalTokens": 25, "cacheReadInputTokens": 4}, "metrics": map[string]any{"latencyMs": 100}})
	return b.String()
}

var testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session"}

func bedrockProvider() *bedrock.Provider {
	return bedrock.New(bedrock.Spec{Region: "us-east-1",
		Credentials: func(context.Context) (aws.Credentials, error) { return testCreds, nil }})
}

// renamed is a request whose tool name Bedrock would reject.
func renamed(t *testing.T, src string) *llm.Request {
	req, err := openai.Client{}.ParseRequest([]byte(strings.ReplaceAll(src, "get_weather", "mcp.weather/get")))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTranslationGoldenBedrock(t *testing.T) {
	up := bedrockProvider()
	t.Run("request openai to bedrock", func(t *testing.T) {
		req := renamed(t, openAIRequest)
		req.Model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
		call, err := up.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		if call.Path != "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream" || !call.FixedPath {
			t.Errorf("path %s", call.Path)
		}
		golden(t, "req-openai-to-bedrock.json", call.Body)
	})
	t.Run("request anthropic to bedrock", func(t *testing.T) {
		req, err := anthropic.Client{}.ParseRequest([]byte(anthropicRequest))
		if err != nil {
			t.Fatal(err)
		}
		req.Stream = false
		call, err := up.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "req-anthropic-to-bedrock.json", call.Body)
	})
	t.Run("image URLs are refused", func(t *testing.T) {
		req, _ := openai.Client{}.ParseRequest([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/cat.png"}}]}]}`))
		if _, err := up.BuildChat(req); err == nil {
			t.Error("want an error")
		}
	})
	t.Run("response bedrock to openai keeps the tool name the client used", func(t *testing.T) {
		call, _ := up.BuildChat(renamed(t, openAIRequest))
		resp, err := call.ParseChat([]byte(bedrockResponse))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "resp-bedrock-to-openai.json", openai.Client{}.WriteResponse(resp))
	})
	t.Run("response bedrock to anthropic", func(t *testing.T) {
		resp, err := up.ParseChat([]byte(bedrockResponse))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "resp-bedrock-to-anthropic.json", anthropic.Client{}.WriteResponse(resp))
	})
	t.Run("stream bedrock to openai", func(t *testing.T) {
		req := renamed(t, openAIRequest)
		req.IncludeUsage = true
		call, _ := up.BuildChat(req)
		golden(t, "stream-bedrock-to-openai.sse", relay(call.DecodeStream(strings.NewReader(bedrockStream(false))), openai.Client{}.NewEncoder(req)))
	})
	t.Run("stream bedrock to anthropic", func(t *testing.T) {
		golden(t, "stream-bedrock-to-anthropic.sse", relay(up.DecodeStream(strings.NewReader(bedrockStream(false))), anthropic.Client{}.NewEncoder(&llm.Request{Model: "m"})))
	})
	t.Run("in-band exception", func(t *testing.T) {
		e := relayErr(up.DecodeStream(strings.NewReader(bedrockStream(true))))
		if e == nil || e.Type != llm.ErrRateLimit || e.Message != "slow down" || e.Code != "throttlingException" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("a huge or truncated event is an error, not a hang", func(t *testing.T) {
		for _, in := range []string{"\x7f\xff\xff\xff\x00\x00\x00\x00rest", bedrockStream(false)[:30]} {
			dec := up.DecodeStream(strings.NewReader(in))
			var err error
			for err == nil {
				_, err = dec.Next()
			}
			if err.Error() == "EOF" {
				t.Errorf("%q: clean EOF", in[:8])
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		e := up.ParseError(400, http.Header{"X-Amzn-Errortype": {"ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"}},
			[]byte(`{"message":"Too many requests"}`))
		st, body := openai.Client{}.ErrorBody(e)
		golden(t, "err-bedrock-to-openai.json", body)
		if st != 429 {
			t.Errorf("status %d", st)
		}
		e = up.ParseError(400, nil, []byte(`{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`))
		if e.Status != 400 || e.Code != "ValidationException" || e.Retryable() {
			t.Errorf("validation %+v", e)
		}
	})
	t.Run("sigv4 signature verifies, and a changed body does not", func(t *testing.T) {
		body := []byte(`{"messages":[]}`)
		r, _ := http.NewRequest("POST", "http://127.0.0.1:9/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := up.Authorize(r, body, ""); err != nil {
			t.Fatal(err)
		}
		if r.Header.Get("X-Amz-Security-Token") != "session" {
			t.Error("session token not sent")
		}
		if err := llmtest.VerifySigV4(r, body, testCreds, "us-east-1", "bedrock"); err != nil {
			t.Error(err)
		}
		if err := llmtest.VerifySigV4(r, []byte(`{}`), testCreds, "us-east-1", "bedrock"); err == nil {
			t.Error("a changed body verified")
		}
		r2, _ := http.NewRequest("POST", "http://h/model/x/converse", nil)
		_ = up.Authorize(r2, nil, "bedrock-api-key")
		if r2.Header.Get("Authorization") != "Bearer bedrock-api-key" {
			t.Error("api key not sent as Bearer")
		}
	})
}
