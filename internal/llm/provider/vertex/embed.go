package vertex

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Embeddings on Vertex AI, the text embeddings API
// (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api):
// POST …/publishers/google/models/{m}:predict with {instances: [{content}],
// parameters: {outputDimensionality}} → {predictions: [{embeddings:
// {values, statistics: {token_count, truncated}}}]}. gemini-embedding
// models take one instance per request, the others (text-embedding-005,
// text-multilingual-embedding-002) up to maxPredictInstances.

const maxPredictInstances = 250

type predictInstance struct {
	Content string `json:"content"`
}

type predictParameters struct {
	OutputDimensionality int `json:"outputDimensionality,omitempty"`
}

type predictRequest struct {
	Instances  []predictInstance  `json:"instances"`
	Parameters *predictParameters `json:"parameters,omitempty"`
}

// BuildEmbed implements llm.Embedder.
func (p *Gemini) BuildEmbed(req *llm.EmbedRequest) ([]llm.EmbedCall, error) {
	if req.Tokens {
		return nil, llm.ErrEmbedTokens(p.System())
	}
	per := maxPredictInstances
	if strings.HasPrefix(strings.ToLower(req.Model), "gemini-embedding") {
		per = 1
	}
	var params *predictParameters
	if req.Dimensions > 0 {
		params = &predictParameters{OutputDimensionality: req.Dimensions}
	}
	path := p.modelPath("google", req.Model, "predict")
	var calls []llm.EmbedCall
	for start := 0; start < len(req.Input); start += per {
		chunk := req.Input[start:min(start+per, len(req.Input))]
		w := predictRequest{Instances: make([]predictInstance, len(chunk)), Parameters: params}
		for i, s := range chunk {
			w.Instances[i] = predictInstance{Content: s}
		}
		b, _ := json.Marshal(w)
		calls = append(calls, llm.EmbedCall{Inputs: len(chunk), Parse: ParsePredict,
			Call: &llm.Call{Method: http.MethodPost, Path: path, Header: http.Header{"Content-Type": {"application/json"}}, Body: b, FixedPath: true}})
	}
	return calls, nil
}

// ParsePredict reads a text embeddings predict answer; the input token
// count is the sum of the predictions' statistics.token_count.
func ParsePredict(_ http.Header, body []byte) (*llm.Embeddings, error) {
	var w struct {
		Predictions []struct {
			Embeddings *struct {
				Values     []float64 `json:"values"`
				Statistics *struct {
					TokenCount      *float64 `json:"token_count"`
					TokenCountCamel *float64 `json:"tokenCount"`
				} `json:"statistics"`
			} `json:"embeddings"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	out := &llm.Embeddings{}
	counted := false
	for _, pr := range w.Predictions {
		e := pr.Embeddings
		if e == nil || e.Values == nil {
			return nil, errors.New("a prediction without embeddings.values in the answer")
		}
		out.Vectors = append(out.Vectors, e.Values)
		if s := e.Statistics; s != nil {
			n := s.TokenCount
			if n == nil {
				n = s.TokenCountCamel
			}
			if n != nil && *n >= 0 && *n < 1e9 {
				out.InputTokens += int(*n)
				counted = true
			}
		}
	}
	if !counted {
		out.InputTokens = -1
	}
	return out, nil
}
