package gemini

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Embeddings on the Gemini API (https://ai.google.dev/api/embeddings):
// one string goes to models/{m}:embedContent
// ({content: {parts: [{text}]}, outputDimensionality} → {embedding:
// {values}}), an array to models/{m}:batchEmbedContents ({requests:
// [{model: "models/{m}", content, outputDimensionality}]} → {embeddings:
// [{values}]}) in batches of at most MaxEmbedBatch. The API reports no
// token counts for embeddings.

// MaxEmbedBatch is the most requests one batchEmbedContents call takes.
const MaxEmbedBatch = 100

type embedText struct {
	Text string `json:"text"`
}

type embedContent struct {
	Parts []embedText `json:"parts"`
}

type embedRequest struct {
	Model                string       `json:"model,omitempty"`
	Content              embedContent `json:"content"`
	OutputDimensionality int          `json:"outputDimensionality,omitempty"`
}

type embedValues struct {
	Values []float64 `json:"values"`
}

// BuildEmbed implements llm.Embedder.
func (p *Provider) BuildEmbed(req *llm.EmbedRequest) ([]llm.EmbedCall, error) {
	if req.Tokens {
		return nil, llm.ErrEmbedTokens(p.System())
	}
	m := strings.TrimPrefix(req.Model, "models/")
	base := p.s.Base + "/models/" + llm.EscapePathSegment(m)
	h := func() http.Header { return http.Header{"Content-Type": {"application/json"}} }
	if len(req.Input) == 1 {
		b, _ := json.Marshal(embedRequest{Content: embedContent{Parts: []embedText{{req.Input[0]}}}, OutputDimensionality: req.Dimensions})
		return []llm.EmbedCall{{Inputs: 1, Parse: ParseEmbedContent,
			Call: &llm.Call{Method: http.MethodPost, Path: base + ":embedContent", Header: h(), Body: b, FixedPath: true}}}, nil
	}
	var calls []llm.EmbedCall
	for start := 0; start < len(req.Input); start += MaxEmbedBatch {
		chunk := req.Input[start:min(start+MaxEmbedBatch, len(req.Input))]
		w := struct {
			Requests []embedRequest `json:"requests"`
		}{Requests: make([]embedRequest, len(chunk))}
		for i, s := range chunk {
			w.Requests[i] = embedRequest{Model: "models/" + m, Content: embedContent{Parts: []embedText{{s}}}, OutputDimensionality: req.Dimensions}
		}
		b, _ := json.Marshal(w)
		calls = append(calls, llm.EmbedCall{Inputs: len(chunk), Parse: ParseBatchEmbedContents,
			Call: &llm.Call{Method: http.MethodPost, Path: base + ":batchEmbedContents", Header: h(), Body: b, FixedPath: true}})
	}
	return calls, nil
}

// ParseEmbedContent reads an embedContent answer.
func ParseEmbedContent(_ http.Header, body []byte) (*llm.Embeddings, error) {
	var w struct {
		Embedding *embedValues `json:"embedding"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.Embedding == nil || w.Embedding.Values == nil {
		return nil, errors.New("no embedding in the answer")
	}
	return &llm.Embeddings{Vectors: [][]float64{w.Embedding.Values}, InputTokens: -1}, nil
}

// ParseBatchEmbedContents reads a batchEmbedContents answer.
func ParseBatchEmbedContents(_ http.Header, body []byte) (*llm.Embeddings, error) {
	var w struct {
		Embeddings []embedValues `json:"embeddings"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	out := &llm.Embeddings{InputTokens: -1}
	for _, e := range w.Embeddings {
		if e.Values == nil {
			return nil, errors.New("an embedding without values in the answer")
		}
		out.Vectors = append(out.Vectors, e.Values)
	}
	return out, nil
}
