package bedrock

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/agentgw/agentgateway/internal/llm"
)

// MaxEventBytes caps one event-stream message (the decoder would otherwise
// trust the length in its prelude).
const MaxEventBytes = llm.MaxSSELine

var errEventTooLarge = errors.New("bedrock: event-stream message too large or malformed")

// decoder reads a ConverseStream answer: AWS event-stream messages whose
// :event-type is messageStart, contentBlockStart, contentBlockDelta,
// contentBlockStop, messageStop or metadata (JSON payloads), or whose
// :message-type is exception (:exception-type, {"message"}).
type decoder struct {
	r       *bufio.Reader
	dec     *eventstream.Decoder
	buf     []byte
	nm      *names
	model   string
	started bool
	toolOf  map[int]int // content block index → tool index
	tools   int
}

func newDecoder(r io.Reader, nm *names, model string) *decoder {
	return &decoder{r: bufio.NewReaderSize(r, 32<<10), dec: eventstream.NewDecoder(), nm: nm, model: model, toolOf: map[int]int{}}
}

type streamEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Start             *struct {
		ToolUse *toolUse `json:"toolUse"`
	} `json:"start"`
	Delta *struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
	} `json:"delta"`
	StopReason string `json:"stopReason"`
	Usage      *usage `json:"usage"`
	Message    string `json:"message"`
}

func header(m *eventstream.Message, name string) string {
	if v := m.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

// Next implements llm.EventReader.
func (d *decoder) Next() ([]llm.Event, error) {
	prelude, err := d.r.Peek(8)
	if err != nil {
		if err == io.EOF && len(prelude) == 0 {
			return nil, io.EOF
		}
		return nil, io.ErrUnexpectedEOF
	}
	total, headers := binary.BigEndian.Uint32(prelude), binary.BigEndian.Uint32(prelude[4:])
	if total > MaxEventBytes || total < 16 || headers > total-16 {
		return nil, errEventTooLarge
	}
	msg, err := d.dec.Decode(d.r, d.buf[:0])
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	d.buf = msg.Payload
	var out []llm.Event
	add := func(ev llm.Event) { ev.Dialect = llm.DialectBedrock; out = append(out, ev) }
	var e streamEvent
	_ = json.Unmarshal(msg.Payload, &e)
	switch header(&msg, ":message-type") {
	case "exception", "error":
		code := header(&msg, ":exception-type")
		if code == "" {
			code = header(&msg, ":error-code")
		}
		if e.Message == "" {
			e.Message = header(&msg, ":error-message")
		}
		le := &llm.Error{Type: llm.ErrAPI, Message: e.Message}
		if le.Message == "" {
			le.Message = "upstream stream error: " + code
		}
		applyCode(le, code)
		le.Status = 0
		if le.Type == llm.ErrInvalidRequest && !strings.HasPrefix(strings.ToLower(code), "validation") {
			le.Type = llm.ErrAPI
		}
		return []llm.Event{{Kind: llm.EvError, Err: le}}, nil
	}
	if !d.started {
		d.started = true
		add(llm.Event{Kind: llm.EvStart, Model: d.model})
	}
	switch header(&msg, ":event-type") {
	case "contentBlockStart":
		if e.Start != nil && e.Start.ToolUse != nil {
			i := d.tools
			d.tools++
			d.toolOf[e.ContentBlockIndex] = i
			add(llm.Event{Kind: llm.EvToolStart, Index: i, ToolCall: llm.ToolCall{ID: e.Start.ToolUse.ToolUseID, Name: d.nm.fromWire(e.Start.ToolUse.Name)}})
		}
	case "contentBlockDelta":
		if dl := e.Delta; dl != nil {
			switch {
			case dl.Text != nil && *dl.Text != "":
				add(llm.Event{Kind: llm.EvText, Text: *dl.Text})
			case dl.ToolUse != nil && dl.ToolUse.Input != "":
				if i, ok := d.toolOf[e.ContentBlockIndex]; ok {
					add(llm.Event{Kind: llm.EvToolArgs, Index: i, ToolCall: llm.ToolCall{Arguments: dl.ToolUse.Input}})
				}
			}
		}
	case "messageStop":
		add(llm.Event{Kind: llm.EvStop, StopReason: stopReason(e.StopReason)})
	case "metadata":
		if e.Usage != nil {
			add(llm.Event{Kind: llm.EvUsage, Usage: e.Usage.canonical()})
		}
		add(llm.Event{Kind: llm.EvDone})
	}
	if len(out) == 0 {
		add(llm.Event{Kind: llm.EvNone})
	}
	return out, nil
}
