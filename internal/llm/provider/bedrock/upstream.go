package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Spec configures a Bedrock upstream.
type Spec struct {
	Model  string // model id, inference profile id or ARN ("" = the client's)
	Region string
	Host   string // "" = bedrock-runtime.<region>.amazonaws.com:443
	// Credentials signs requests with SigV4 (when no API key is set).
	Credentials func(ctx context.Context) (aws.Credentials, error)
	// GuardrailIdentifier and GuardrailVersion apply a Bedrock guardrail.
	GuardrailIdentifier, GuardrailVersion string
}

// Provider is a Bedrock Converse upstream.
type Provider struct {
	s      Spec
	signer *v4.Signer
}

// New returns a provider.
func New(s Spec) *Provider {
	if s.Host == "" {
		s.Host = "bedrock-runtime." + s.Region + ".amazonaws.com:443"
	}
	return &Provider{s: s, signer: v4.NewSigner()}
}

// System implements llm.Provider.
func (p *Provider) System() string { return "aws.bedrock" }

// Dialect implements llm.Provider.
func (p *Provider) Dialect() llm.Dialect { return llm.DialectBedrock }

// DefaultHost implements llm.Provider.
func (p *Provider) DefaultHost() string { return p.s.Host }

// Model implements llm.Provider.
func (p *Provider) Model() string { return p.s.Model }

// Path implements llm.Provider: Bedrock has no model-free path the
// gateway uses.
func (p *Provider) Path(llm.Op) (string, bool) { return "", false }

// BuildChat implements llm.Provider. The call keeps the request's tool-name
// mapping and model for its answer.
func (p *Provider) BuildChat(req *llm.Request) (*llm.Call, error) {
	nm := newNames()
	body, err := p.buildBody(req, nm)
	if err != nil {
		return nil, err
	}
	path := "/model/" + llm.EscapePathSegment(req.Model) + "/converse"
	h := http.Header{"Content-Type": {"application/json"}}
	if req.Stream {
		path += "-stream"
		h.Set("Accept", "application/vnd.amazon.eventstream")
	}
	model := req.Model
	return &llm.Call{Method: http.MethodPost, Path: path, Header: h, Body: body, Stream: req.Stream, FixedPath: true,
		ParseChat:    func(b []byte) (*llm.Response, error) { return parseResponse(b, nm, model) },
		DecodeStream: func(r io.Reader) llm.EventReader { return newDecoder(r, nm, model) },
	}, nil
}

var imageFormats = map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"}

func (p *Provider) buildBody(req *llm.Request, nm *names) ([]byte, error) {
	w := converseRequest{Messages: []message{}}
	if req.System != "" {
		w.System = []block{{Text: req.System}}
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		role, bs, err := wireBlocks(m, nm)
		if err != nil {
			return nil, err
		}
		if len(bs) == 0 {
			continue
		}
		// Converse wants alternating turns: consecutive same-role ones merge.
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, bs...)
			continue
		}
		w.Messages = append(w.Messages, message{Role: role, Content: bs})
	}
	ic := &inferenceConfig{Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	if req.MaxTokens > 0 {
		n := req.MaxTokens
		ic.MaxTokens = &n
	}
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		w.InferenceConfig = ic
	}
	if len(req.Tools) > 0 {
		tc := &toolConfig{}
		for _, t := range req.Tools {
			schema := t.Parameters
			if len(schema) == 0 || string(schema) == "null" {
				schema = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			tc.Tools = append(tc.Tools, toolDef{ToolSpec: toolSpec{Name: nm.toWire(t.Name), Description: t.Description, InputSchema: inputSchema{JSON: schema}}})
		}
		switch req.ToolChoice {
		case "", "none": // Converse has no "none": the model decides
		case "auto":
			tc.ToolChoice = json.RawMessage(`{"auto":{}}`)
		case "required":
			tc.ToolChoice = json.RawMessage(`{"any":{}}`)
		default:
			tc.ToolChoice, _ = json.Marshal(map[string]any{"tool": map[string]string{"name": nm.toWire(req.ToolChoice)}})
		}
		w.ToolConfig = tc
	}
	if p.s.GuardrailIdentifier != "" {
		w.GuardrailConfig = &guardrailConfig{GuardrailIdentifier: p.s.GuardrailIdentifier, GuardrailVersion: p.s.GuardrailVersion}
	}
	return json.Marshal(w)
}

func wireBlocks(m *llm.Message, nm *names) (string, []block, error) {
	if m.Role == llm.RoleTool {
		c := toolResultContent{Text: m.Text()}
		var obj map[string]any
		if json.Unmarshal([]byte(c.Text), &obj) == nil && obj != nil {
			c = toolResultContent{JSON: json.RawMessage(c.Text)}
		}
		return "user", []block{{ToolResult: &toolResult{ToolUseID: sanitize(m.ToolCallID), Content: []toolResultContent{c}}}}, nil
	}
	var bs []block
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				bs = append(bs, block{Text: p.Text})
			}
		case llm.PartImage:
			f, ok := imageFormats[strings.ToLower(p.MediaType)]
			if p.Data == "" || !ok {
				return "", nil, errors.New("bedrock takes images as inline png, jpeg, gif or webp data (a data: URL), not " + orURL(p))
			}
			bs = append(bs, block{Image: &image{Format: f, Source: imageSource{Bytes: p.Data}}})
		}
	}
	for _, tc := range m.ToolCalls {
		id := tc.ID
		if id == "" {
			id = llm.NewID("tooluse_")
		}
		bs = append(bs, block{ToolUse: &toolUse{ToolUseID: sanitize(id), Name: nm.toWire(tc.Name), Input: inputOf(tc.Arguments)}})
	}
	if m.Role == llm.RoleAssistant {
		return "assistant", bs, nil
	}
	return "user", bs, nil
}

func orURL(p llm.Part) string {
	if p.URL != "" {
		return "a URL"
	}
	return fmt.Sprintf("%q data", p.MediaType)
}

func inputOf(arguments string) json.RawMessage {
	var v map[string]any
	if json.Unmarshal([]byte(arguments), &v) != nil || v == nil {
		return json.RawMessage("{}")
	}
	return json.RawMessage(arguments)
}

// ParseChat implements llm.Provider (without a request's name mapping).
func (p *Provider) ParseChat(body []byte) (*llm.Response, error) {
	return parseResponse(body, nil, p.s.Model)
}

func parseResponse(body []byte, nm *names, model string) (*llm.Response, error) {
	var w converseResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	resp := &llm.Response{Model: model, Usage: w.Usage.canonical(), StopReason: stopReason(w.StopReason), Dialect: llm.DialectBedrock, Raw: body}
	if m := w.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.ToolUse != nil:
				args := string(b.ToolUse.Input)
				if len(b.ToolUse.Input) == 0 {
					args = "{}"
				}
				resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.ToolUse.ToolUseID, Name: nm.fromWire(b.ToolUse.Name), Arguments: args})
			default:
				resp.Text += b.Text
			}
		}
	}
	if resp.StopReason == "" {
		resp.StopReason = llm.StopEnd
	}
	return resp, nil
}

// ParseError implements llm.Provider.
func (p *Provider) ParseError(status int, h http.Header, body []byte) *llm.Error {
	return ParseError(status, h, body)
}

// Authorize implements llm.Provider: a Bedrock API key as a Bearer token
// when one is configured, else a SigV4 signature over the body.
func (p *Provider) Authorize(r *http.Request, body []byte, key string) error {
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	}
	if p.s.Credentials == nil {
		return errors.New("bedrock: no AWS credentials")
	}
	creds, err := p.s.Credentials(r.Context())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return p.signer.SignHTTP(r.Context(), creds, r, hex.EncodeToString(sum[:]), "bedrock", p.s.Region, time.Now())
}

// DecodeStream implements llm.Provider (without a request's name mapping).
func (p *Provider) DecodeStream(r io.Reader) llm.EventReader { return newDecoder(r, nil, p.s.Model) }
