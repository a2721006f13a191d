package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Limits of the detect usage reader.
const (
	maxScanJSON = 16 << 20 // a JSON answer larger than this is not parsed
	maxScanLine = 1 << 20  // an SSE line longer than this is skipped
)

// usageTee reads token usage and the answering model from a natively
// forwarded answer as it passes to the client: SSE streams line by line
// (only lines that mention usage or a first model are decoded), JSON
// answers from a bounded copy parsed at the end. It never holds back or
// changes a byte. done runs once, at EOF or Close.
type usageTee struct {
	body     io.ReadCloser
	sse      bool
	json     bool
	buf      []byte // JSON copy
	over     bool   // JSON copy gave up (too large)
	line     []byte // SSE partial line
	skipLine bool   // the current SSE line is too long
	usage    llm.Usage
	have     bool
	model    string
	first    time.Time
	done     func(u *llm.Usage, model string, first time.Time)
	finished bool
}

func newUsageTee(resp *http.Response, done func(*llm.Usage, string, time.Time)) io.ReadCloser {
	t := &usageTee{body: resp.Body, done: done}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	compressed := resp.Header.Get("Content-Encoding") != "" && !strings.EqualFold(resp.Header.Get("Content-Encoding"), "identity")
	switch {
	case compressed:
	case ct == "text/event-stream":
		t.sse = true
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		t.json = true
	}
	return t
}

func (t *usageTee) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if n > 0 {
		if t.first.IsZero() {
			t.first = time.Now()
		}
		t.scan(p[:n])
	}
	if err != nil {
		t.finish()
	}
	return n, err
}

func (t *usageTee) Close() error {
	t.finish()
	return t.body.Close()
}

func (t *usageTee) scan(b []byte) {
	switch {
	case t.json:
		if t.over {
			return
		}
		if len(t.buf)+len(b) > maxScanJSON {
			t.over, t.buf = true, nil
			return
		}
		t.buf = append(t.buf, b...)
	case t.sse:
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				t.appendLine(b)
				return
			}
			t.appendLine(b[:i])
			if !t.skipLine {
				t.sseLine(t.line)
			}
			t.line, t.skipLine = t.line[:0], false
			b = b[i+1:]
		}
	}
}

func (t *usageTee) appendLine(b []byte) {
	if t.skipLine {
		return
	}
	if len(t.line)+len(b) > maxScanLine {
		t.line, t.skipLine = t.line[:0], true
		return
	}
	t.line = append(t.line, b...)
}

var (
	dataPrefix = []byte("data:")
	usageKey   = []byte(`"usage`) // usage, usageMetadata
	modelKey   = []byte(`"model`) // model, modelVersion
)

func (t *usageTee) sseLine(l []byte) {
	l = bytes.TrimSuffix(l, []byte("\r"))
	if !bytes.HasPrefix(l, dataPrefix) {
		return
	}
	d := bytes.TrimSpace(l[len(dataPrefix):])
	if len(d) == 0 || d[0] != '{' {
		return
	}
	if bytes.Contains(d, usageKey) || (t.model == "" && bytes.Contains(d, modelKey)) {
		t.parse(d)
	}
}

func (t *usageTee) finish() {
	if t.finished {
		return
	}
	t.finished = true
	if t.json && !t.over && len(t.buf) > 0 {
		t.parse(t.buf)
		t.buf = nil
	}
	var u *llm.Usage
	if t.have {
		u = &t.usage
	}
	t.done(u, t.model, t.first)
}

// usageJSON is the union of the usage objects of OpenAI chat completions
// and embeddings (prompt/completion tokens), the Responses API and
// Anthropic messages (input/output tokens).
type usageJSON struct {
	PromptTokens        *int `json:"prompt_tokens"`
	CompletionTokens    *int `json:"completion_tokens"`
	InputTokens         *int `json:"input_tokens"`
	OutputTokens        *int `json:"output_tokens"`
	CacheReadInputToks  *int `json:"cache_read_input_tokens"`
	PromptTokensDetails *struct {
		CachedTokens *int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	InputTokensDetails *struct {
		CachedTokens *int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
}

// geminiUsage is Gemini's usageMetadata.
type geminiUsage struct {
	PromptTokenCount     *int `json:"promptTokenCount"`
	CandidatesTokenCount *int `json:"candidatesTokenCount"`
	CachedContentTokens  *int `json:"cachedContentTokenCount"`
}

type modelUsage struct {
	Model string     `json:"model"`
	Usage *usageJSON `json:"usage"`
}

// usageDoc holds the places usage appears in: top level (OpenAI chat,
// embeddings, responses, Anthropic message and message_delta), message
// (Anthropic message_start), response (Responses API stream events) and
// usageMetadata (Gemini).
type usageDoc struct {
	modelUsage
	Message       *modelUsage  `json:"message"`
	Response      *modelUsage  `json:"response"`
	UsageMetadata *geminiUsage `json:"usageMetadata"`
	ModelVersion  string       `json:"modelVersion"`
}

func (t *usageTee) parse(b []byte) {
	var d usageDoc
	if json.Unmarshal(b, &d) != nil {
		return
	}
	t.take(&d.modelUsage)
	if d.Message != nil {
		t.take(d.Message)
	}
	if d.Response != nil {
		t.take(d.Response)
	}
	if g := d.UsageMetadata; g != nil {
		t.set(&t.usage.InputTokens, g.PromptTokenCount)
		t.set(&t.usage.OutputTokens, g.CandidatesTokenCount)
		t.set(&t.usage.CacheReadTokens, g.CachedContentTokens)
	}
	if t.model == "" {
		t.model = d.ModelVersion
	}
}

// take merges one usage object: fields present override earlier values
// (Anthropic's message_delta carries the final output count).
func (t *usageTee) take(m *modelUsage) {
	if t.model == "" {
		t.model = m.Model
	}
	u := m.Usage
	if u == nil {
		return
	}
	t.set(&t.usage.InputTokens, u.PromptTokens)
	t.set(&t.usage.InputTokens, u.InputTokens)
	t.set(&t.usage.OutputTokens, u.CompletionTokens)
	t.set(&t.usage.OutputTokens, u.OutputTokens)
	t.set(&t.usage.CacheReadTokens, u.CacheReadInputToks)
	if d := u.PromptTokensDetails; d != nil {
		t.set(&t.usage.CacheReadTokens, d.CachedTokens)
	}
	if d := u.InputTokensDetails; d != nil {
		t.set(&t.usage.CacheReadTokens, d.CachedTokens)
	}
}

func (t *usageTee) set(dst *int, v *int) {
	if v != nil {
		*dst, t.have = *v, true
	}
}
