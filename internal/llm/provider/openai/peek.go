package openai

import (
	"bytes"
	"unicode/utf8"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Targeted reads of what the gateway accounts for (usage, model, the
// first content token, finish_reason) in answers relayed unchanged to a
// client of this dialect, without encoding/json. Every field of the wire
// types a chunk or usage object may carry is checked for the type
// encoding/json would accept, so a body it would reject (or read
// differently: a case-folded key, a repeated object) takes the full decode
// and both paths agree on every input (TestPeekChunkMatchesDecode).

var (
	usageKeys   = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
	detailsKeys = []string{"cached_tokens", "reasoning_tokens"}
	chunkKeys   = []string{"id", "object", "created", "model", "choices", "usage", "error"}
	choiceKeys  = []string{"index", "message", "delta", "finish_reason"}
	deltaKeys   = []string{"role", "content", "name", "tool_calls", "tool_call_id"}
)

// peekUsage reads a usage object (valid JSON); ok=false: decode it in full.
func peekUsage(b []byte) (*llm.Usage, bool) {
	var v [5][]byte
	if !llm.Members(b, usageKeys, v[:]) {
		return nil, false
	}
	in, ok1 := llm.PeekInt(v[0])
	out, ok2 := llm.PeekInt(v[1])
	_, ok3 := llm.PeekInt(v[2])
	cached, ok4 := peekDetails(v[3], 0)
	reasoning, ok5 := peekDetails(v[4], 1)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return nil, false
	}
	return &llm.Usage{InputTokens: in, OutputTokens: out, CacheReadTokens: cached, ReasoningTokens: reasoning}, true
}

// peekDetails reads a tokenDetails object and returns its member i.
func peekDetails(b []byte, i int) (int, bool) {
	if llm.IsNull(b) {
		return 0, true
	}
	var v [2][]byte
	if !llm.Members(b, detailsKeys, v[:]) {
		return 0, false
	}
	a, ok1 := llm.PeekInt(v[0])
	c, ok2 := llm.PeekInt(v[1])
	if i == 0 {
		return a, ok1 && ok2
	}
	return c, ok1 && ok2
}

// isString reports whether v is a JSON string, null or absent.
func isString(v []byte) bool { return llm.IsNull(v) || v[0] == '"' }

// peekChunk decodes a chunk relayed as it came (passthrough) without
// encoding/json: ok=false when it is not the plain shape (an error, tool
// calls, a message, a type encoding/json would reject), then Next decodes
// it in full. The events are valid until the next call.
func (d *Decoder) peekChunk(data, raw []byte) ([]llm.Event, bool) {
	var v [7][]byte
	if !llm.Valid(data) || !llm.Members(data, chunkKeys, v[:]) || !llm.IsNull(v[6]) ||
		!isString(v[0]) || !isString(v[1]) || !isString(v[3]) {
		return nil, false
	}
	if _, ok := llm.PeekInt(v[2]); !ok {
		return nil, false
	}
	var usage *llm.Usage
	if !llm.IsNull(v[5]) {
		u, ok := peekUsage(v[5])
		if !ok {
			return nil, false
		}
		usage = u
	}
	var (
		text, finish []byte
		nChoices     int
		zero         int // choices with index 0: only the plain case of one is read here
	)
	if !llm.IsNull(v[4]) && !llm.Elements(v[4], func(c []byte) bool {
		nChoices++
		var cv [4][]byte
		if !llm.Members(c, choiceKeys, cv[:]) || !llm.IsNull(cv[1]) || !isString(cv[3]) {
			return false
		}
		idx, ok := llm.PeekInt(cv[0])
		if !ok {
			return false
		}
		var dv [5][]byte
		if !llm.IsNull(cv[2]) && (!llm.Members(cv[2], deltaKeys, dv[:]) || !llm.IsNull(dv[3]) ||
			!isString(dv[0]) || !isString(dv[2]) || !isString(dv[4])) {
			return false
		}
		if idx == 0 {
			zero++
			if len(dv[1]) > 0 && dv[1][0] == '"' {
				text = dv[1]
			}
			finish = cv[3]
		}
		return true
	}) {
		return nil, false
	}
	if zero > 1 {
		return nil, false
	}
	id, ok1 := d.cached(&d.id, v[0])
	model, ok2 := d.cached(&d.model, v[3])
	if !ok1 || !ok2 {
		return nil, false
	}
	var t, f string    // decoded before any state changes: a failure here decodes in full
	if len(text) > 2 { // a non-empty string
		if t, ok1 = peekString(text); !ok1 {
			return nil, false
		}
	}
	if !llm.IsNull(finish) && len(finish) > 2 {
		if f, ok1 = peekString(finish); !ok1 {
			return nil, false
		}
	}
	if d.evs == nil {
		d.evs = make([]llm.Event, 0, 4) // start, text, stop, usage
	}
	out := d.evs[:0]
	add := func(e llm.Event) {
		e.Dialect, e.ID, e.Model = llm.DialectOpenAI, id, model
		if e.IsContent() {
			d.content = true
		}
		out = append(out, e)
	}
	if !d.started {
		d.started = true
		add(llm.Event{Kind: llm.EvStart})
	}
	if t != "" {
		add(llm.Event{Kind: llm.EvText, Text: t})
	}
	if f != "" {
		add(llm.Event{Kind: llm.EvStop, StopReason: stopReason(f)})
	}
	if usage != nil {
		add(llm.Event{Kind: llm.EvUsage, Usage: usage})
	}
	if len(out) == 0 {
		add(llm.Event{Kind: llm.EvNone})
	}
	out[0].Raw = raw
	if usage != nil && nChoices == 0 {
		for i := range out {
			out[i].UsageOnly = true
		}
	}
	d.evs = out[:0]
	return out, true
}

// cached decodes a string member, reusing *last when the bytes are the
// same as the previous chunk's (id and model repeat in every chunk).
func (d *Decoder) cached(last *string, v []byte) (string, bool) {
	if llm.IsNull(v) {
		return "", true
	}
	if len(v) >= 2 && string(v[1:len(v)-1]) == *last && bytes.IndexByte(v, '\\') < 0 {
		return *last, true
	}
	s, ok := peekString(v)
	if ok {
		*last = s
	}
	return s, ok
}

// peekString is llm.PeekString for strings encoding/json reads the same:
// invalid UTF-8 (which it replaces) decodes in full.
func peekString(v []byte) (string, bool) {
	if !utf8.Valid(v) {
		return "", false
	}
	return llm.PeekString(v)
}
