package gateway

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
)

type scanned struct {
	u     *llm.Usage
	model string
	calls int
}

// scan passes body through a usageTee, reading it oneByte at a time when
// asked, and checks that the bytes come out unchanged.
func scan(t testing.TB, contentType, encoding, body string, oneByte bool) scanned {
	t.Helper()
	var got scanned
	resp := &http.Response{Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(strings.NewReader(body))}
	if encoding != "" {
		resp.Header.Set("Content-Encoding", encoding)
	}
	tee := newUsageTee(resp, func(u *llm.Usage, model string, _ time.Time) {
		got.u, got.model = u, model
		got.calls++
	})
	var r io.Reader = tee
	if oneByte {
		r = iotest.OneByteReader(tee)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	_ = tee.Close()
	if !bytes.Equal(out, []byte(body)) {
		t.Fatalf("the tee changed the body")
	}
	return got
}

func TestUsageTee(t *testing.T) {
	u := func(in, out, cached int) *llm.Usage {
		return &llm.Usage{InputTokens: in, OutputTokens: out, CacheReadTokens: cached}
	}
	tests := []struct {
		name, ct, enc, body string
		want                *llm.Usage
		model               string
	}{
		{"openai chat json", "application/json", "",
			`{"id":"c","model":"gpt-x","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":3}}}`,
			u(11, 7, 3), "gpt-x"},
		{"openai embeddings json", "application/json; charset=utf-8", "",
			`{"object":"list","model":"emb","data":[],"usage":{"prompt_tokens":5,"total_tokens":5}}`, u(5, 0, 0), "emb"},
		{"anthropic messages json", "application/json", "",
			`{"type":"message","model":"claude","content":[],"usage":{"input_tokens":9,"output_tokens":4,"cache_read_input_tokens":2}}`,
			u(9, 4, 2), "claude"},
		{"openai chat sse with usage chunk", "text/event-stream", "",
			"data: {\"model\":\"gpt-x\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n" +
				"data: {\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}\r\n\r\n" +
				"data: [DONE]\n\n", u(12, 3, 0), "gpt-x"},
		{"openai chat sse without usage", "text/event-stream", "",
			"data: {\"model\":\"gpt-x\",\"choices\":[]}\n\ndata: [DONE]\n\n", nil, "gpt-x"},
		{"anthropic messages sse", "text/event-stream", "",
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\",\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"\\\"usage\\\"\"}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", u(25, 15, 0), "claude"},
		{"responses sse", "text/event-stream", "",
			"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-r\",\"usage\":null}}\n\n" +
				"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-r\",\"usage\":{\"input_tokens\":8,\"output_tokens\":6,\"input_tokens_details\":{\"cached_tokens\":1}}}}\n\n",
			u(8, 6, 1), "gpt-r"},
		{"gemini json", "application/json", "",
			`{"candidates":[],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2},"modelVersion":"gemini-x"}`, u(4, 2, 0), "gemini-x"},
		{"compressed: not read", "application/json", "gzip", `{"usage":{"prompt_tokens":1}}`, nil, ""},
		{"not json: not read", "text/plain", "", `{"usage":{"prompt_tokens":1}}`, nil, ""},
		{"broken json", "application/json", "", `{"usage":{"prompt_tokens":`, nil, ""},
		{"sse line without trailing newline", "text/event-stream", "", `data: {"usage":{"prompt_tokens":1}}`, nil, ""},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			if oneByte {
				name += "/one byte reads"
			}
			t.Run(name, func(t *testing.T) {
				got := scan(t, tt.ct, tt.enc, tt.body, oneByte)
				if got.calls != 1 {
					t.Fatalf("done ran %d times", got.calls)
				}
				if (got.u == nil) != (tt.want == nil) || (got.u != nil && *got.u != *tt.want) || got.model != tt.model {
					t.Errorf("got %+v %q, want %+v %q", got.u, got.model, tt.want, tt.model)
				}
			})
		}
	}
}

func TestUsageTeeLimits(t *testing.T) {
	long := "data: {\"x\":\"" + strings.Repeat("a", maxScanLine) + "\",\"usage\":{\"prompt_tokens\":9}}\n\n" +
		"data: {\"usage\":{\"completion_tokens\":2}}\n\n"
	if got := scan(t, "text/event-stream", "", long, false); got.u == nil || got.u.InputTokens != 0 || got.u.OutputTokens != 2 {
		t.Errorf("long line: %+v", got.u)
	}
	big := `{"pad":"` + strings.Repeat("b", maxScanJSON) + `","usage":{"prompt_tokens":9}}`
	if got := scan(t, "application/json", "", big, false); got.u != nil {
		t.Errorf("oversized JSON was parsed: %+v", got.u)
	}
}

func FuzzUsageTee(f *testing.F) {
	f.Add("text/event-stream", "data: {\"usage\":{\"prompt_tokens\":1}}\n\n")
	f.Add("application/json", `{"model":"m","usage":{"input_tokens":1,"output_tokens":2}}`)
	f.Add("text/event-stream", "data: {\"message\":{\"usage\":{\"input_tokens\":3}}}\r\n")
	f.Fuzz(func(t *testing.T, ct, body string) {
		got := scan(t, ct, "", body, len(body)%2 == 0)
		if got.calls != 1 {
			t.Fatalf("done ran %d times", got.calls)
		}
	})
}
