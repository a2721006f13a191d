package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// benchRequest is shaped like the load harness's 1 KiB chat request.
var benchRequest = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely."},` +
	`{"role":"user","content":"` + strings.Repeat("Summarise the following paragraph in one sentence please. ", 14) + `"}],` +
	`"temperature":0.2,"max_tokens":128,"user":"bench"}`)

var benchResponse = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("This is a short benchmark answer. ", 26) +
	`","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":230,"completion_tokens":180,"total_tokens":410,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},` +
	`"system_fingerprint":"fp_bench"}`)

func withStream(b []byte) []byte {
	return append(append([]byte{}, b[:len(b)-1]...), `,"stream":true}`...)
}

func benchStream() string {
	var b strings.Builder
	chunk := func(delta, finish string) {
		b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":` +
			delta + `,"finish_reason":` + finish + `}]}` + "\n\n")
	}
	chunk(`{"role":"assistant","content":""}`, "null")
	for i := 0; i < 8; i++ {
		chunk(`{"content":"token number `+strings.Repeat("x", 40)+` "}`, "null")
	}
	chunk(`{}`, `"stop"`)
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":230,"completion_tokens":8,"total_tokens":238}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

func mustJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// The byte-edited body equals the map-built one as JSON.
func TestPeekRequestBuildBodyMatchesFullParse(t *testing.T) {
	for _, in := range []string{
		string(benchRequest),
		string(withStream(benchRequest)),
		`{"model":"a","stream":true,"stream_options":{"include_usage":true},"messages":[]}`,
		`{"model":"a","stream":true,"stream_options":{"include_usage":false},"messages":[]}`,
		`{"model":"a","stream":true,"stream_options":null,"messages":[]}`,
		`{"model":"a","stream":true,"stream_options":{"x":1},"messages":[]}`,
		` { "messages" : [ {"content":"\"model\": 1 }"} ] , "model" : "a" , "stream":false } `,
		`{"model":"a","model":"b","messages":[]}`,
		`{"model":"a"}`,
	} {
		for _, target := range []string{"rewritten/<&>\"x", "a"} {
			full, err := openai.Client{}.ParseRequest([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			peek, err := openai.Client{}.PeekRequest([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if peek.Model != full.Model || peek.Stream != full.Stream || peek.IncludeUsage != full.IncludeUsage {
				t.Errorf("%s: peek %+v, full %+v", in, peek, full)
			}
			full.Model, peek.Model = target, target
			a, err := openai.BuildBody(full)
			if err != nil {
				t.Fatal(err)
			}
			b, err := openai.BuildBody(peek)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(mustJSON(t, a), mustJSON(t, b)) {
				t.Errorf("%s → %q:\nfull %s\npeek %s", in, target, a, b)
			}
		}
	}
	for _, bad := range []string{`[]`, `null`, `{"messages":[]}`, `{"model":`, `"x"`, `{"Model":"a"}`, `{"model":"a","MODEL":"b"}`,
		`{"model":"a","stream":"yes"}`, `{"mod\u0065l":"a"}`, `{"model":1}`} {
		if _, err := (openai.Client{}).PeekRequest([]byte(bad)); err == nil {
			t.Errorf("PeekRequest(%s): no error", bad)
		}
	}
}

func TestPeekResponseMatchesParse(t *testing.T) {
	for _, in := range [][]byte{benchResponse, []byte(openAIResponse), []byte(`{"model":"m","usage":null}`), []byte(`{}`)} {
		full, err := openai.ParseResponse(in)
		if err != nil {
			t.Fatal(err)
		}
		peek, err := openai.PeekResponse(in)
		if err != nil {
			t.Fatal(err)
		}
		if peek.Model != full.Model || !reflect.DeepEqual(peek.Usage, full.Usage) || !bytes.Equal(peek.Raw, full.Raw) {
			t.Errorf("%s: peek %+v, full %+v", in, peek, full)
		}
		if !bytes.Equal(openai.Client{}.WriteResponse(peek), in) {
			t.Errorf("%s: not passed through", in)
		}
	}
	for _, bad := range []string{`[]`, `{"model":`, `{"usage":"x"}`} {
		if _, err := openai.PeekResponse([]byte(bad)); err == nil {
			t.Errorf("PeekResponse(%s): no error", bad)
		}
	}
}

// relay decodes a stream and encodes it for a same-dialect client, as the
// gateway does; it returns the client bytes and the usage seen.
func relaySame(t testing.TB, in string, passthrough, includeUsage bool) ([]byte, *llm.Usage, bool) {
	d := openai.NewDecoder(strings.NewReader(in))
	if passthrough {
		d.Passthrough()
	}
	defer d.Release()
	enc := openai.Client{}.NewEncoder(&llm.Request{Model: "m", IncludeUsage: includeUsage})
	var (
		out     []byte
		usage   *llm.Usage
		stopped bool
	)
	for {
		evs, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if evs[i].Kind == llm.EvUsage {
				usage = llm.MergeUsage(usage, evs[i].Usage)
			}
			if evs[i].Kind == llm.EvStop {
				stopped = true
			}
			out = append(out, enc.Encode(&evs[i])...)
		}
	}
	return append(out, enc.Finish(nil)...), usage, stopped
}

func TestStreamPassthroughMatchesDecode(t *testing.T) {
	for _, in := range []string{benchStream(), openAIStream,
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\ndata: {not json}\n\n" +
			"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\" : \"length\"}],\"usage\" : {\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\n",
	} {
		for _, iu := range []bool{false, true} {
			a, ua, sa := relaySame(t, in, false, iu)
			b, ub, sb := relaySame(t, in, true, iu)
			if !bytes.Equal(a, b) || !reflect.DeepEqual(ua, ub) || sa != sb {
				t.Errorf("include_usage=%v:\ndecoded %s %+v %v\npassthrough %s %+v %v", iu, a, ua, sa, b, ub, sb)
			}
		}
	}
}

func TestSetTopLevel(t *testing.T) {
	for _, c := range []struct{ in, key, val, want string }{
		{`{}`, "model", `"x"`, `{"model":"x"}`},
		{` { } `, "model", `"x"`, ` {"model":"x"} `},
		{`{"a":1}`, "model", `"x"`, `{"a":1,"model":"x"}`},
		{`{"model":"a","b":{"model":"c"}}`, "model", `"x"`, `{"model":"x","b":{"model":"c"}}`},
		{`{"s":"\"model\":","model" : null}`, "model", `"x"`, `{"s":"\"model\":","model" : "x"}`},
		{`{"model":1,"model":[1,{"a":"]"}]}`, "model", `"x"`, `{"model":"x","model":"x"}`},
	} {
		if got := string(llm.SetTopLevel([]byte(c.in), c.key, []byte(c.val))); got != c.want {
			t.Errorf("SetTopLevel(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	if !llm.HasKeyValue([]byte(`{"a":{"usage" : {}}}`), "usage") || llm.HasKeyValue([]byte(`{"usage":null}`), "usage") ||
		llm.HasKeyValue([]byte(`{"a":"\"usage\": 1"}`), "usagex") {
		t.Error("HasKeyValue")
	}
}

// Benchmarks: full decode/encode (the translation path) against the
// same-dialect passthrough, so regressions show in allocations.

func BenchmarkOpenAIRequest(b *testing.B) {
	for _, stream := range []bool{false, true} {
		body := benchRequest
		name := "chat"
		if stream {
			body, name = withStream(benchRequest), "stream"
		}
		b.Run(name+"/path=full", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req, err := openai.Client{}.ParseRequest(body)
				if err != nil {
					b.Fatal(err)
				}
				req.Model = "upstream-model"
				if _, err := openai.BuildBody(req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/path=passthrough", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req, err := openai.Client{}.PeekRequest(body)
				if err != nil {
					b.Fatal(err)
				}
				req.Model = "upstream-model"
				if _, err := openai.BuildBody(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("path=to-anthropic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := openai.Client{}.ParseRequest(benchRequest)
			if _, err := anthropic.BuildBody(req, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpenAIResponse(b *testing.B) {
	b.Run("path=full", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchResponse)))
		for b.Loop() {
			r, err := openai.ParseResponse(benchResponse)
			if err != nil {
				b.Fatal(err)
			}
			_ = openai.Client{}.WriteResponse(r)
		}
	})
	b.Run("path=passthrough", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchResponse)))
		for b.Loop() {
			r, err := openai.PeekResponse(benchResponse)
			if err != nil {
				b.Fatal(err)
			}
			_ = openai.Client{}.WriteResponse(r)
		}
	})
	b.Run("path=to-anthropic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, _ := openai.ParseResponse(benchResponse)
			_ = anthropic.Client{}.WriteResponse(r)
		}
	})
}

func BenchmarkOpenAIStream(b *testing.B) {
	in := benchStream()
	for _, pt := range []bool{false, true} {
		name := "path=full"
		if pt {
			name = "path=passthrough"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				relaySame(b, in, pt, false)
			}
		})
	}
}

func TestAnthropicPeekMatchesFullParse(t *testing.T) {
	for _, in := range []string{anthropicRequest, `{"model":"a","max_tokens":5,"messages":[]}`, `{"max_tokens":5,"model":"a"}`} {
		full, err := anthropic.Client{}.ParseRequest([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		peek, err := anthropic.Client{}.PeekRequest([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if peek.Model != full.Model || peek.Stream != full.Stream || peek.IncludeUsage != full.IncludeUsage {
			t.Errorf("%s: peek %+v, full %+v", in, peek, full)
		}
		for _, withModel := range []bool{true, false} {
			full.Model, peek.Model = "up", "up"
			a, _ := anthropic.BuildBody(full, withModel)
			b, err := anthropic.BuildBody(peek, withModel)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(mustJSON(t, a), mustJSON(t, b)) {
				t.Errorf("withModel=%v\nfull %s\npeek %s", withModel, a, b)
			}
		}
	}
	full, _ := anthropic.ParseResponse([]byte(anthropicResponse))
	peek, err := anthropic.PeekResponse([]byte(anthropicResponse))
	if err != nil || peek.Model != full.Model || !reflect.DeepEqual(peek.Usage, full.Usage) {
		t.Errorf("PeekResponse: %+v %v, want %+v", peek, err, full)
	}
	relayA := func(pt bool) ([]byte, *llm.Usage) {
		d := anthropic.NewDecoder(strings.NewReader(anthropicStream))
		if pt {
			d.Passthrough()
		}
		enc := anthropic.Client{}.NewEncoder(&llm.Request{Model: "m"})
		var out []byte
		var u *llm.Usage
		for {
			evs, err := d.Next()
			if err != nil {
				break
			}
			for i := range evs {
				if evs[i].Kind == llm.EvUsage {
					u = llm.MergeUsage(u, evs[i].Usage)
				}
				out = append(out, enc.Encode(&evs[i])...)
			}
		}
		return append(out, enc.Finish(nil)...), u
	}
	a, ua := relayA(false)
	b, ub := relayA(true)
	if !bytes.Equal(a, b) || !reflect.DeepEqual(ua, ub) {
		t.Errorf("stream:\ndecoded %s\npassthrough %s", a, b)
	}
}
