package gemini

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Client is the Gemini-native client dialect (generateContent). Its
// requests are forwarded only to Gemini-speaking providers (Gemini, Vertex
// AI Gemini models), as agentgateway does: the body and stream pass
// through untouched, usage is read from them.
type Client struct{}

// Dialect implements llm.Format.
func (Client) Dialect() llm.Dialect { return llm.DialectGemini }

// PathModel extracts the model and the stream flag of a native path
// (…/models/{model}:generateContent or :streamGenerateContent).
func PathModel(p string) (model string, stream, ok bool) {
	i := strings.LastIndex(p, "/models/")
	if i < 0 {
		return "", false, false
	}
	rest := p[i+len("/models/"):]
	m, method, found := strings.Cut(rest, ":")
	if !found || m == "" {
		return "", false, false
	}
	switch method {
	case "generateContent":
		return m, false, true
	case "streamGenerateContent":
		return m, true, true
	}
	return "", false, false
}

// ParseRequest implements llm.Format. The model and stream flag come from
// the path (the gateway sets them).
func (Client) ParseRequest(body []byte) (*llm.Request, error) {
	raw, err := llm.RawObject(body)
	if err != nil {
		return nil, err
	}
	var w request
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	req := &llm.Request{Dialect: llm.DialectGemini, Raw: raw, IncludeUsage: true}
	if s := w.SystemInstruction; s != nil {
		var sys []string
		for _, p := range s.Parts {
			sys = append(sys, p.Text)
		}
		req.System = strings.Join(sys, "\n\n")
	}
	for _, c := range w.Contents {
		m := llm.Message{Role: llm.RoleUser}
		if c.Role == "model" {
			m.Role = llm.RoleAssistant
		}
		for _, p := range c.Parts {
			switch {
			case p.FunctionCall != nil:
				m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: p.FunctionCall.ID, Name: p.FunctionCall.Name, Arguments: argsText(p.FunctionCall.Args)})
			case p.FunctionResponse != nil:
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: p.FunctionResponse.Name,
					Parts: []llm.Part{{Type: llm.PartText, Text: string(p.FunctionResponse.Response)}}})
			case p.InlineData != nil:
				m.Parts = append(m.Parts, llm.Part{Type: llm.PartImage, MediaType: p.InlineData.MimeType, Data: p.InlineData.Data})
			case p.FileData != nil:
				m.Parts = append(m.Parts, llm.Part{Type: llm.PartImage, MediaType: p.FileData.MimeType, URL: p.FileData.FileURI})
			case p.Text != "":
				m.Parts = append(m.Parts, llm.Part{Type: llm.PartText, Text: p.Text})
			}
		}
		if len(m.Parts) > 0 || len(m.ToolCalls) > 0 {
			req.Messages = append(req.Messages, m)
		}
	}
	for _, t := range w.Tools {
		for _, fd := range t.FunctionDeclarations {
			params := fd.ParametersJSONSchema
			if len(params) == 0 {
				params = fd.Parameters
			}
			req.Tools = append(req.Tools, llm.Tool{Name: fd.Name, Description: fd.Description, Parameters: params})
		}
	}
	if g := w.GenerationConfig; g != nil {
		req.Temperature, req.TopP, req.Stop = g.Temperature, g.TopP, g.StopSequences
		if g.MaxOutputTokens != nil {
			req.MaxTokens = *g.MaxOutputTokens
		}
	}
	return req, nil
}

// ErrNotGemini refuses a native Gemini request for another provider.
var ErrNotGemini = errors.New("gemini-native requests (generateContent) are served only by Gemini and Vertex AI Gemini providers")

// WriteResponse implements llm.Format: only a Gemini answer is written.
func (Client) WriteResponse(resp *llm.Response) []byte {
	if resp.Dialect == llm.DialectGemini && resp.Raw != nil {
		return resp.Raw
	}
	_, b := Client{}.ErrorBody(&llm.Error{Status: http.StatusBadRequest, Message: ErrNotGemini.Error()})
	return b
}

// ErrorBody implements llm.Format: a google.rpc.Status.
func (Client) ErrorBody(e *llm.Error) (int, []byte) {
	status := e.Status
	if status == 529 {
		status = http.StatusServiceUnavailable
	}
	if status < 400 || status > 599 {
		status = llm.StatusForType(e.Type)
		if status == 529 {
			status = http.StatusServiceUnavailable
		}
	}
	name := statusName(status)
	if e.Type == llm.ErrRateLimit {
		name = "RESOURCE_EXHAUSTED"
	}
	b, _ := json.Marshal(errorBody{Error: &rpcStatus{Code: status, Message: e.Message, Status: name}})
	return status, b
}

// NewEncoder implements llm.Format.
func (Client) NewEncoder(*llm.Request) llm.Encoder { return encoder{} }

// encoder relays Gemini chunks as they came.
type encoder struct{}

func (encoder) Encode(ev *llm.Event) []byte {
	if ev.Dialect != llm.DialectGemini || ev.Raw == nil {
		return nil
	}
	return llm.AppendSSE(nil, "", ev.Raw)
}

func (encoder) Finish(err *llm.Error) []byte {
	if err == nil {
		return nil
	}
	_, b := Client{}.ErrorBody(err)
	return llm.AppendSSE(nil, "", b)
}
