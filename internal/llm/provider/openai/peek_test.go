package openai

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
)

// chunkCases are stream chunks the targeted read must agree on with the
// full decode: plain ones it reads itself and odd ones it hands over.
var chunkCases = []string{
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"a\"b\u00e9"},"finish_reason":null}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
	`{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}`,
	`{"id":"c1","model":"m","usage":{"prompt_tokens":3,"completion_tokens":4}}`,
	`{"id":"c1","model":"m","choices":null,"usage":null}`,
	`{"id":"c1","model":"m","choices":[{"index":1,"delta":{"content":"other choice"}},{"index":0,"delta":{"content":"x"}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"x"}},{"index":0,"delta":{"content":"y"}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"part"}]}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":5,"content":"x"}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":"0","delta":{"content":"x"}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0.0,"delta":{"content":"x"}}]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"Delta":{"content":"x"}}]}`,
	`{"id":"c1","MODEL":"m","choices":[]}`,
	`{"id":"c1","model":7,"choices":[]}`,
	`{"id":"c1","model":"m","created":"now","choices":[]}`,
	`{"id":"c1","model":"m","choices":[null]}`,
	`{"id":"c1","model":"m","choices":{}}`,
	`{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":1.5}}`,
	`{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":1e2}}`,
	`{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":"1"}}`,
	`{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens_details":{"reasoning_tokens":2}}}`,
	`{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":99999999999999999999}}`,
	`{"id":"c1","model":"m","choices":[],"usage":[]}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"message":{"content":"x"}}]}`,
	`{"error":{"message":"boom","type":"server_error"}}`,
	`{"id":"c1","model":"m","error":null,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"tool_calls"}]}`,
	`{"id":"c1","model":"m","error":"x","choices":[]}`,
	`{"id":"c\u0031","model":"m\u00e9","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"\u0073top"}]}`,
	`{"id":"c1","model":"m","choices":[{"index":-0,"delta":null,"finish_reason":""}]}`,
	`{}`,
	`{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"x"}}]} trailing`,
}

// decodeAll runs chunks through a passthrough decoder and returns a copy
// of every event.
func decodeAll(t testing.TB, chunks []string, noPeek bool) [][]llm.Event {
	var in strings.Builder
	for _, c := range chunks {
		in.WriteString("data: " + c + "\n\n")
	}
	d := NewDecoder(strings.NewReader(in.String()))
	d.Passthrough()
	d.noPeek = noPeek
	defer d.Release()
	var out [][]llm.Event
	for {
		evs, err := d.Next()
		if err != nil {
			return out
		}
		cp := make([]llm.Event, len(evs))
		for i, e := range evs {
			e.Raw = append([]byte(nil), e.Raw...)
			cp[i] = e
		}
		out = append(out, cp)
	}
}

func TestPeekChunkMatchesDecode(t *testing.T) {
	for _, c := range chunkCases {
		// Each alone (the first chunk of a stream) and after a first one.
		for _, chunks := range [][]string{{c}, {chunkCases[0], c}} {
			peek, full := decodeAll(t, chunks, false), decodeAll(t, chunks, true)
			if !reflect.DeepEqual(peek, full) {
				t.Errorf("%s:\npeek %+v\nfull %+v", c, peek, full)
			}
		}
	}
}

func TestPeekUsageMatchesDecode(t *testing.T) {
	for _, in := range []string{
		`{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}`,
		`{"prompt_tokens":-4,"completion_tokens":null}`,
		`{"prompt_tokens_details":{"cached_tokens":5,"reasoning_tokens":0},"completion_tokens_details":{"reasoning_tokens":6}}`,
		`{"prompt_tokens_details":null}`, `{}`,
	} {
		u, ok := peekUsage([]byte(in))
		var w wireUsage
		if err := json.Unmarshal([]byte(in), &w); err != nil || !ok || !reflect.DeepEqual(u, w.canonical()) {
			t.Errorf("%s: peek %+v %v, json %+v %v", in, u, ok, w.canonical(), err)
		}
	}
	for _, in := range []string{`{"prompt_tokens":1.0}`, `{"Prompt_Tokens":1}`, `{"prompt_tokens_details":5}`, `[]`} {
		if _, ok := peekUsage([]byte(in)); ok {
			t.Errorf("%s: read by peek, want the full decode", in)
		}
	}
}

func FuzzPeekChunk(f *testing.F) {
	for _, c := range chunkCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		if strings.ContainsAny(c, "\r\n") {
			return
		}
		chunks := []string{chunkCases[0], c}
		if peek, full := decodeAll(t, chunks, false), decodeAll(t, chunks, true); !reflect.DeepEqual(peek, full) {
			t.Errorf("%q:\npeek %+v\nfull %+v", c, peek, full)
		}
	})
}
