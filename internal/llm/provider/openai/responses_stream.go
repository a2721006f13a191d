package openai

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/agentgw/agentgateway/internal/llm"
)

// NewEncoder implements llm.Format: Responses streaming events
// (response.created, response.output_item.added, response.output_text.delta,
// response.function_call_arguments.delta, …, response.completed).
func (Responses) NewEncoder(req *llm.Request) llm.Encoder {
	return &respEncoder{model: req.Model, created: nowUnix()}
}

type respEncoder struct {
	model, id   string
	created     int64
	seq         int
	started     bool
	passthrough bool
	items       []map[string]any // output items so far
	open        int              // index of the open item, -1 none
	text        string           // text of the open message item
	args        map[int]string   // tool index → arguments so far
	itemOf      map[int]int      // tool index → output index
	stop        llm.StopReason
	usage       *llm.Usage
}

func (e *respEncoder) event(name string, v map[string]any) []byte {
	v["type"] = name
	v["sequence_number"] = e.seq
	e.seq++
	b, _ := json.Marshal(v)
	return llm.AppendSSE(nil, name, b)
}

func (e *respEncoder) start(ev *llm.Event) []byte {
	if e.started {
		return nil
	}
	e.started, e.open, e.args, e.itemOf = true, -1, map[int]string{}, map[int]int{}
	e.id = llm.NewID("resp_")
	if ev.Model != "" {
		e.model = ev.Model
	}
	o := responseObject(e.id, e.model, e.created, "in_progress", nil)
	out := e.event("response.created", map[string]any{"response": o})
	return append(out, e.event("response.in_progress", map[string]any{"response": o})...)
}

func (e *respEncoder) closeItem() []byte {
	if e.open < 0 {
		return nil
	}
	i := e.open
	it := e.items[i]
	e.open = -1
	var out []byte
	if it["type"] == "message" {
		id := it["id"]
		out = e.event("response.output_text.done", map[string]any{"item_id": id, "output_index": i, "content_index": 0, "text": e.text})
		out = append(out, e.event("response.content_part.done", map[string]any{"item_id": id, "output_index": i, "content_index": 0, "part": textPart(e.text)})...)
		it["content"] = []any{textPart(e.text)}
	} else {
		out = e.event("response.function_call_arguments.done", map[string]any{"item_id": it["id"], "output_index": i, "arguments": it["arguments"]})
	}
	it["status"] = "completed"
	return append(out, e.event("response.output_item.done", map[string]any{"output_index": i, "item": it})...)
}

func (e *respEncoder) openItem(it map[string]any) []byte {
	out := e.closeItem()
	e.items = append(e.items, it)
	e.open = len(e.items) - 1
	return append(out, e.event("response.output_item.added", map[string]any{"output_index": e.open, "item": it})...)
}

// Encode implements llm.Encoder.
func (e *respEncoder) Encode(ev *llm.Event) []byte {
	if ev.Dialect == llm.DialectResponses {
		e.passthrough = true
		if ev.Raw == nil {
			return nil
		}
		return llm.AppendSSE(nil, ev.RawName, ev.Raw)
	}
	switch ev.Kind {
	case llm.EvStart:
		return e.start(ev)
	case llm.EvText:
		out := e.start(ev)
		if e.open < 0 || e.items[e.open]["type"] != "message" {
			out = append(out, e.openItem(messageItem(llm.NewID("msg_"), "", "in_progress"))...)
			e.text = ""
			out = append(out, e.event("response.content_part.added", map[string]any{"item_id": e.items[e.open]["id"], "output_index": e.open,
				"content_index": 0, "part": textPart("")})...)
		}
		e.text += ev.Text
		return append(out, e.event("response.output_text.delta", map[string]any{"item_id": e.items[e.open]["id"], "output_index": e.open,
			"content_index": 0, "delta": ev.Text})...)
	case llm.EvToolStart:
		out := e.start(ev)
		out = append(out, e.openItem(callItem(llm.NewID("fc_"), ev.ToolCall, "in_progress"))...)
		e.itemOf[ev.Index] = e.open
		return out
	case llm.EvToolArgs:
		i, ok := e.itemOf[ev.Index]
		if !ok {
			return nil
		}
		it := e.items[i]
		it["arguments"] = it["arguments"].(string) + ev.ToolCall.Arguments
		return e.event("response.function_call_arguments.delta", map[string]any{"item_id": it["id"], "output_index": i, "delta": ev.ToolCall.Arguments})
	case llm.EvStop:
		e.stop = ev.StopReason
	case llm.EvUsage:
		e.usage = llm.MergeUsage(e.usage, ev.Usage)
	}
	return nil
}

// Finish implements llm.Encoder: response.completed (or
// response.incomplete), or an `error` event for a broken stream.
func (e *respEncoder) Finish(err *llm.Error) []byte {
	if err != nil {
		code := err.Code
		if code == "" {
			code = err.Type
		}
		return e.event("error", map[string]any{"code": code, "message": err.Message, "param": nil})
	}
	if e.passthrough {
		return nil
	}
	out := e.start(&llm.Event{})
	out = append(out, e.closeItem()...)
	status := statusOf(e.stop)
	o := responseObject(e.id, e.model, e.created, status, e.usage)
	output := make([]any, len(e.items))
	for i, it := range e.items {
		output[i] = it
	}
	o["output"] = output
	incomplete(o, e.stop)
	name := "response.completed"
	if status == "incomplete" {
		name = "response.incomplete"
	}
	return append(out, e.event(name, map[string]any{"response": o})...)
}

// ParseResponses parses a Responses API answer (OpenAI passthrough).
func ParseResponses(body []byte) (*llm.Response, error) {
	var w respObject
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	return w.canonical(body), nil
}

type respObject struct {
	ID                string `json:"id"`
	Model             string `json:"model"`
	CreatedAt         int64  `json:"created_at"`
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		Type      string `json:"type"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
		Content   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage *struct {
		InputTokens        int `json:"input_tokens"`
		OutputTokens       int `json:"output_tokens"`
		InputTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
}

func (w *respObject) canonical(raw []byte) *llm.Response {
	r := &llm.Response{ID: w.ID, Model: w.Model, Created: w.CreatedAt, StopReason: llm.StopEnd, Dialect: llm.DialectResponses, Raw: raw}
	for _, o := range w.Output {
		switch o.Type {
		case "message":
			for _, c := range o.Content {
				if c.Type == "output_text" {
					r.Text += c.Text
				}
			}
		case "function_call":
			r.ToolCalls = append(r.ToolCalls, llm.ToolCall{ID: o.CallID, Name: o.Name, Arguments: o.Arguments})
			r.StopReason = llm.StopToolCalls
		}
	}
	if d := w.IncompleteDetails; d != nil {
		r.StopReason = llm.StopLength
		if d.Reason == "content_filter" {
			r.StopReason = llm.StopFilter
		}
	}
	if u := w.Usage; u != nil {
		r.Usage = &llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
			CacheReadTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
	}
	return r
}

// ResponsesDecoder reads a Responses API stream (OpenAI passthrough):
// every event is kept raw for the client; text, tool-call, usage and
// terminal events are also read for accounting and the commit point.
type ResponsesDecoder struct {
	sse    *llm.SSEReader
	toolOf map[int]int // output index → tool index
	tools  int
}

// NewResponsesDecoder returns a decoder of a Responses stream.
func NewResponsesDecoder(r io.Reader) *ResponsesDecoder {
	return &ResponsesDecoder{sse: llm.NewSSEReader(r, 0), toolOf: map[int]int{}}
}

type respEvent struct {
	Type        string      `json:"type"`
	Response    *respObject `json:"response"`
	Delta       string      `json:"delta"`
	OutputIndex int         `json:"output_index"`
	Item        *struct {
		Type   string `json:"type"`
		CallID string `json:"call_id"`
		Name   string `json:"name"`
	} `json:"item"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Next implements llm.EventReader.
func (d *ResponsesDecoder) Next() ([]llm.Event, error) {
	sev, err := d.sse.Next()
	if err != nil {
		return nil, err
	}
	raw := bytes.Clone(sev.Data)
	var e respEvent
	if json.Unmarshal(bytes.TrimSpace(sev.Data), &e) != nil {
		return []llm.Event{{Kind: llm.EvNone}}, nil
	}
	name := sev.Name
	if name == "" {
		name = e.Type
	}
	var out []llm.Event
	add := func(ev llm.Event) { ev.Dialect = llm.DialectResponses; out = append(out, ev) }
	switch e.Type {
	case "response.created":
		if e.Response != nil {
			add(llm.Event{Kind: llm.EvStart, ID: e.Response.ID, Model: e.Response.Model})
		}
	case "response.output_text.delta":
		add(llm.Event{Kind: llm.EvText, Text: e.Delta})
	case "response.output_item.added":
		if e.Item != nil && e.Item.Type == "function_call" {
			d.toolOf[e.OutputIndex] = d.tools
			add(llm.Event{Kind: llm.EvToolStart, Index: d.tools, ToolCall: llm.ToolCall{ID: e.Item.CallID, Name: e.Item.Name}})
			d.tools++
		}
	case "response.function_call_arguments.delta":
		if i, ok := d.toolOf[e.OutputIndex]; ok {
			add(llm.Event{Kind: llm.EvToolArgs, Index: i, ToolCall: llm.ToolCall{Arguments: e.Delta}})
		}
	case "response.completed", "response.incomplete":
		if e.Response != nil {
			r := e.Response.canonical(nil)
			if r.Usage != nil {
				add(llm.Event{Kind: llm.EvUsage, Usage: r.Usage})
			}
			add(llm.Event{Kind: llm.EvStop, StopReason: r.StopReason})
		}
		add(llm.Event{Kind: llm.EvDone})
	case "response.failed", "error":
		msg := e.Message
		if msg == "" {
			msg = "upstream response failed"
		}
		return []llm.Event{{Kind: llm.EvError, Err: &llm.Error{Type: llm.ErrAPI, Code: e.Code, Message: msg}}}, nil
	}
	if len(out) == 0 {
		add(llm.Event{Kind: llm.EvNone})
	}
	out[0].Raw, out[0].RawName = raw, name
	return out, nil
}
