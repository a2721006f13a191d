package bedrock

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Embeddings on Bedrock go through InvokeModel
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html,
// POST /model/{modelId}/invoke, signed like Converse), in the model's own
// body format, chosen by the model id:
//
//   - Amazon Titan Text Embeddings
//     (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html):
//     one text per call, {inputText, dimensions, normalize} →
//     {embedding, inputTextTokenCount}; v1 (G1) takes inputText only.
//     An array input becomes one call per text (sent concurrently by the
//     gateway, a few at a time).
//   - Cohere Embed v3 and v4
//     (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html):
//     {texts, input_type: "search_document", embedding_types: ["float"],
//     output_dimension (v4)} → {embeddings: [[…]]} or {embeddings:
//     {float: [[…]]}}, at most MaxCohereTexts texts per call; the token
//     count comes from the X-Amzn-Bedrock-Input-Token-Count header.

// MaxCohereTexts is the most texts one Cohere Embed call takes.
const MaxCohereTexts = 96

// embedKind is the body format of an embeddings model.
type embedKind int

const (
	embedUnknown embedKind = iota
	embedTitanV1
	embedTitanV2
	embedCohereV3
	embedCohereV4
)

// embedKindOf tells the format from a model id, an inference profile id
// ("us.cohere.embed-v4:0") or an ARN that contains one.
func embedKindOf(model string) embedKind {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "amazon.titan-embed-text-v1"), strings.Contains(m, "amazon.titan-embed-g1-text"):
		return embedTitanV1
	case strings.Contains(m, "amazon.titan-embed-text"):
		return embedTitanV2
	case strings.Contains(m, "cohere.embed-v4"):
		return embedCohereV4
	case strings.Contains(m, "cohere.embed"):
		return embedCohereV3
	}
	return embedUnknown
}

type titanRequest struct {
	InputText  string `json:"inputText"`
	Dimensions int    `json:"dimensions,omitempty"`
	Normalize  *bool  `json:"normalize,omitempty"`
}

type cohereRequest struct {
	Texts           []string `json:"texts"`
	InputType       string   `json:"input_type"`
	EmbeddingTypes  []string `json:"embedding_types"`
	OutputDimension int      `json:"output_dimension,omitempty"`
}

// BuildEmbed implements llm.Embedder.
func (p *Provider) BuildEmbed(req *llm.EmbedRequest) ([]llm.EmbedCall, error) {
	if req.Tokens {
		return nil, llm.ErrEmbedTokens(p.System())
	}
	kind := embedKindOf(req.Model)
	if kind == embedUnknown {
		return nil, errors.New("bedrock model " + strconv.Quote(req.Model) +
			" is not an embeddings model the gateway can translate to (amazon.titan-embed-text-*, cohere.embed-*)")
	}
	if req.Dimensions > 0 && (kind == embedTitanV1 || kind == embedCohereV3) {
		return nil, errors.New("dimensions is not supported by bedrock model " + strconv.Quote(req.Model))
	}
	path := "/model/" + llm.EscapePathSegment(req.Model) + "/invoke"
	call := func(body any) *llm.Call {
		b, _ := json.Marshal(body)
		return &llm.Call{Method: http.MethodPost, Path: path, Body: b, FixedPath: true,
			Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}}
	}
	var calls []llm.EmbedCall
	switch kind {
	case embedTitanV1, embedTitanV2:
		for _, s := range req.Input {
			w := titanRequest{InputText: s}
			if kind == embedTitanV2 {
				t := true
				w.Dimensions, w.Normalize = req.Dimensions, &t
			}
			calls = append(calls, llm.EmbedCall{Call: call(w), Inputs: 1, Parse: ParseTitanEmbed})
		}
	default:
		for start := 0; start < len(req.Input); start += MaxCohereTexts {
			chunk := req.Input[start:min(start+MaxCohereTexts, len(req.Input))]
			w := cohereRequest{Texts: chunk, InputType: "search_document", EmbeddingTypes: []string{"float"}}
			if kind == embedCohereV4 {
				w.OutputDimension = req.Dimensions
			}
			calls = append(calls, llm.EmbedCall{Call: call(w), Inputs: len(chunk), Parse: ParseCohereEmbed})
		}
	}
	return calls, nil
}

// ParseTitanEmbed reads a Titan Text Embeddings answer.
func ParseTitanEmbed(_ http.Header, body []byte) (*llm.Embeddings, error) {
	var w struct {
		Embedding           []float64 `json:"embedding"`
		InputTextTokenCount *float64  `json:"inputTextTokenCount"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.Embedding == nil {
		return nil, errors.New("no embedding in the answer")
	}
	out := &llm.Embeddings{Vectors: [][]float64{w.Embedding}, InputTokens: -1}
	if n := w.InputTextTokenCount; n != nil && *n >= 0 && *n < 1e9 {
		out.InputTokens = int(*n)
	}
	return out, nil
}

// ParseCohereEmbed reads a Cohere Embed answer: embeddings as an array
// (response_type embeddings_floats) or by type ({"float": …},
// embeddings_by_type).
func ParseCohereEmbed(h http.Header, body []byte) (*llm.Embeddings, error) {
	var w struct {
		Embeddings json.RawMessage `json:"embeddings"`
		Meta       *struct {
			BilledUnits *struct {
				InputTokens *float64 `json:"input_tokens"`
			} `json:"billed_units"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	out := &llm.Embeddings{InputTokens: -1}
	var byType struct {
		Float [][]float64 `json:"float"`
	}
	switch {
	case json.Unmarshal(w.Embeddings, &out.Vectors) == nil && out.Vectors != nil:
	case json.Unmarshal(w.Embeddings, &byType) == nil && byType.Float != nil:
		out.Vectors = byType.Float
	default:
		return nil, errors.New("no float embeddings in the answer")
	}
	for _, v := range out.Vectors {
		if v == nil {
			return nil, errors.New("a null embedding in the answer")
		}
	}
	if n, err := strconv.Atoi(h.Get("X-Amzn-Bedrock-Input-Token-Count")); err == nil && n >= 0 {
		out.InputTokens = n
	} else if m := w.Meta; m != nil && m.BilledUnits != nil && m.BilledUnits.InputTokens != nil {
		if n := *m.BilledUnits.InputTokens; n >= 0 && n < 1e9 {
			out.InputTokens = int(n)
		}
	}
	return out, nil
}
