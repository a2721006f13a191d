package gateway_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Inputs in each dialect (as the providers' docs show them).
const (
	openAIRequest = `{"model":"m","stream":true,"max_tokens":100,"temperature":0.5,"stop":["END"],
"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is in"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"sunny"}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
"tool_choice":"required","user":"u1","seed":7}`
	anthropicRequest = `{"model":"m","max_tokens":100,"system":[{"type":"text","text":"be brief"}],"stream":true,
"messages":[{"role":"user","content":[{"type":"text","text":"what is in"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
{"role":"assistant","content":[{"type":"text","text":"checking"},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"},{"type":"text","text":"thanks"}]}],
"tools":[{"name":"get_weather","description":"weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
"tool_choice":{"type":"tool","name":"get_weather"},"stop_sequences":["END"],"metadata":{"user_id":"u1"}}`
	openAIResponse = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,
"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":4}}}`
	anthropicResponse = `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Let me check."},
{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,
"usage":{"input_tokens":16,"output_tokens":5,"cache_read_input_tokens":4}}`
	openAIStream = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":5,\"total_tokens\":25}}\n\n" +
		"data: [DONE]\n\n"
	anthropicStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":16,\"output_tokens\":1,\"cache_read_input_tokens\":4}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

var volatile = regexp.MustCompile(`(msg_|chatcmpl-|toolu_|call_|resp_|fc_)[0-9a-f]{24}|"created(_at)?":\d+`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = volatile.ReplaceAll(got, []byte("<volatile>"))
	if json.Valid(got) {
		var buf bytes.Buffer
		_ = json.Indent(&buf, got, "", "  ")
		got = append(buf.Bytes(), '\n')
	}
	path := filepath.Join("testdata", "translate", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n%s", path, got)
	}
}

func relay(dec llm.EventReader, enc llm.Encoder) []byte {
	var out []byte
	for {
		evs, err := dec.Next()
		if err == io.EOF {
			return append(out, enc.Finish(nil)...)
		}
		if err != nil {
			return append(out, enc.Finish(&llm.Error{Type: llm.ErrAPI, Message: err.Error()})...)
		}
		for i := range evs {
			out = append(out, enc.Encode(&evs[i])...)
		}
	}
}

func TestTranslationGolden(t *testing.T) {
	oaiUp, antUp := openai.New(openai.Spec{}), anthropic.New(anthropic.Spec{})
	t.Run("request openai to anthropic", func(t *testing.T) {
		req, err := openai.Client{}.ParseRequest([]byte(openAIRequest))
		if err != nil {
			t.Fatal(err)
		}
		call, err := antUp.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "req-openai-to-anthropic.json", call.Body)
	})
	t.Run("request anthropic to openai", func(t *testing.T) {
		req, err := anthropic.Client{}.ParseRequest([]byte(anthropicRequest))
		if err != nil {
			t.Fatal(err)
		}
		call, err := oaiUp.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "req-anthropic-to-openai.json", call.Body)
	})
	t.Run("request openai passthrough keeps unknown fields", func(t *testing.T) {
		req, _ := openai.Client{}.ParseRequest([]byte(openAIRequest))
		req.Model = "upstream-model"
		call, _ := oaiUp.BuildChat(req)
		golden(t, "req-openai-passthrough.json", call.Body)
	})
	t.Run("response anthropic to openai", func(t *testing.T) {
		resp, err := antUp.ParseChat([]byte(anthropicResponse))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "resp-anthropic-to-openai.json", openai.Client{}.WriteResponse(resp))
	})
	t.Run("response openai to anthropic", func(t *testing.T) {
		resp, err := oaiUp.ParseChat([]byte(openAIResponse))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "resp-openai-to-anthropic.json", anthropic.Client{}.WriteResponse(resp))
	})
	t.Run("stream anthropic to openai", func(t *testing.T) {
		req := &llm.Request{Model: "m", IncludeUsage: true}
		golden(t, "stream-anthropic-to-openai.sse", relay(antUp.DecodeStream(strings.NewReader(anthropicStream)), openai.Client{}.NewEncoder(req)))
	})
	t.Run("stream openai to anthropic", func(t *testing.T) {
		req := &llm.Request{Model: "m"}
		golden(t, "stream-openai-to-anthropic.sse", relay(oaiUp.DecodeStream(strings.NewReader(openAIStream)), anthropic.Client{}.NewEncoder(req)))
	})
	t.Run("stream openai passthrough strips the usage chunk it added", func(t *testing.T) {
		req := &llm.Request{Model: "m", Dialect: llm.DialectOpenAI}
		golden(t, "stream-openai-passthrough.sse", relay(oaiUp.DecodeStream(strings.NewReader(openAIStream)), openai.Client{}.NewEncoder(req)))
	})
	t.Run("stream anthropic passthrough", func(t *testing.T) {
		req := &llm.Request{Model: "m", Dialect: llm.DialectAnthropic}
		got := relay(antUp.DecodeStream(strings.NewReader(anthropicStream)), anthropic.Client{}.NewEncoder(req))
		if string(got) != anthropicStream {
			t.Errorf("passthrough changed the stream:\n%s", got)
		}
	})
}

// FuzzTranslate feeds arbitrary bodies and streams to every client
// dialect's parser and encoder and every provider's translator and stream
// decoder (allFormats, allProviders): none may panic.
func FuzzTranslate(f *testing.F) {
	for _, s := range append(fuzzSeeds, openAIRequest, anthropicRequest, openAIResponse, anthropicResponse, openAIStream, anthropicStream, "{}", "null", "[]") {
		f.Add([]byte(s))
	}
	formats, ups := allFormats(), allProviders()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fm := range formats {
			if req, err := fm.ParseRequest(b); err == nil {
				for _, up := range ups {
					_, _ = up.BuildChat(req)
				}
			}
			fm.ErrorBody(&llm.Error{Status: 500, Message: string(b)})
		}
		for _, up := range ups {
			if resp, err := up.ParseChat(b); err == nil {
				for _, fm := range formats {
					fm.WriteResponse(resp)
					resp.Raw = nil
					fm.WriteResponse(resp)
				}
			}
			up.ParseError(429, nil, b)
			for _, fm := range formats {
				relay(up.DecodeStream(bytes.NewReader(b)), fm.NewEncoder(&llm.Request{Model: "m", IncludeUsage: true}))
			}
		}
	})
}
