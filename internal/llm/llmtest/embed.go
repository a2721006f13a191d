package llmtest

import (
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
)

// Embedding fakes. Every fake embeds a text the same way (FakeVector), so
// tests can compare what a client got through any provider.

// FakeDims is the vector size the fakes answer with when none is asked.
const FakeDims = 8

// FakeVector is the vector the fakes return for text: dims values derived
// from its FNV hash, each a multiple of 1/1024 (exact in float32, so float
// and base64 answers compare equal).
func FakeVector(text string, dims int) []float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	seed := h.Sum64()
	v := make([]float64, dims)
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float64(int64(seed>>53)-512) / 1024
	}
	return v
}

// FakeTokens is the token count the fakes report for text (one per word).
func FakeTokens(text string) int { return len(strings.Fields(text)) }

func numField(m map[string]any, k string) int {
	n, _ := m[k].(float64)
	return int(n)
}

// geminiEmbed serves the Gemini API's models/{m}:embedContent and
// :batchEmbedContents (https://ai.google.dev/api/embeddings): content.parts
// text, outputDimensionality; answers {embedding: {values}} and
// {embeddings: [{values}]} (no token counts). A batch takes at most 100
// requests, each naming the path's model as models/{m}.
func (f *Fake) geminiEmbed(w http.ResponseWriter, r *http.Request, model, method string, body map[string]any) {
	if !strings.HasPrefix(r.URL.Path, "/v1beta/models/") {
		writeJSON(w, 404, geminiErr(404, "NOT_FOUND", "unknown path "+r.URL.Path))
		return
	}
	one := func(req map[string]any) (map[string]any, bool) {
		c, _ := req["content"].(map[string]any)
		parts, _ := c["parts"].([]any)
		if len(parts) == 0 {
			return nil, false
		}
		var text string
		for _, p := range parts {
			pm, _ := p.(map[string]any)
			text += str(pm, "text")
		}
		dims := FakeDims
		if d := numField(req, "outputDimensionality"); d > 0 {
			dims = d
		}
		return map[string]any{"values": FakeVector(text, dims)}, true
	}
	if method == "embedContent" {
		e, ok := one(body)
		if !ok {
			writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "* EmbedContentRequest.content: contents.parts must not be empty."))
			return
		}
		writeJSON(w, 200, map[string]any{"embedding": e})
		return
	}
	reqs, _ := body["requests"].([]any)
	if len(reqs) == 0 || len(reqs) > 100 {
		writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch"))
		return
	}
	var out []any
	for _, rq := range reqs {
		rm, _ := rq.(map[string]any)
		if str(rm, "model") != "models/"+model {
			writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "Model in the request "+str(rm, "model")+" does not match the model in the URL models/"+model))
			return
		}
		e, ok := one(rm)
		if !ok {
			writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests[0].content: contents.parts must not be empty."))
			return
		}
		out = append(out, e)
	}
	writeJSON(w, 200, map[string]any{"embeddings": out})
}

// vertexPredict serves Vertex AI's text embeddings API
// (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api):
// POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predict
// with instances[{content}] and parameters.outputDimensionality; answers
// predictions[{embeddings: {values, statistics: {token_count,
// truncated}}}]. gemini-embedding models take one instance per request.
func (f *Fake) vertexPredict(w http.ResponseWriter, r *http.Request, model string, body map[string]any) {
	if !strings.HasPrefix(r.URL.Path, "/v1/projects/") || !strings.Contains(r.URL.Path, "/publishers/google/models/") {
		writeJSON(w, 404, geminiErr(404, "NOT_FOUND", "unknown path "+r.URL.Path))
		return
	}
	insts, _ := body["instances"].([]any)
	if len(insts) == 0 || (strings.HasPrefix(model, "gemini-embedding") && len(insts) > 1) || len(insts) > 250 {
		writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "Unable to submit request because the model does not take "+strconv.Itoa(len(insts))+" instances per request."))
		return
	}
	params, _ := body["parameters"].(map[string]any)
	dims := FakeDims
	if d := numField(params, "outputDimensionality"); d > 0 {
		dims = d
	}
	var preds []any
	for _, in := range insts {
		im, _ := in.(map[string]any)
		text := str(im, "content")
		preds = append(preds, map[string]any{"embeddings": map[string]any{"values": FakeVector(text, dims),
			"statistics": map[string]any{"token_count": FakeTokens(text), "truncated": false}}})
	}
	writeJSON(w, 200, map[string]any{"predictions": preds, "metadata": map[string]any{"billableCharacterCount": 1}})
}

// bedrockInvoke serves InvokeModel
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html,
// POST /model/{modelId}/invoke) for embeddings models: Titan Text
// Embeddings v2
// (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html:
// {inputText, dimensions, normalize} → {embedding, inputTextTokenCount,
// embeddingsByType}) and Cohere Embed
// (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html:
// {texts, input_type, embedding_types} → {id, embeddings: {float: […]},
// response_type: embeddings_by_type, texts}, or embeddings as an array
// without embedding_types). The X-Amzn-Bedrock-Input-Token-Count header
// carries the token count.
func (f *Fake) bedrockInvoke(w http.ResponseWriter, model string, body map[string]any) {
	switch {
	case strings.Contains(model, "amazon.titan-embed-text"):
		text, ok := body["inputText"].(string)
		if !ok {
			bedrockErr(w, 400, "ValidationException", "Malformed input request: #: required key [inputText] not found")
			return
		}
		dims := 1024
		if d := numField(body, "dimensions"); d > 0 {
			if d != 256 && d != 512 && d != 1024 {
				bedrockErr(w, 400, "ValidationException", "Malformed input request: #/dimensions: "+strconv.Itoa(d)+" is not a valid enum value")
				return
			}
			dims = d
		}
		v := FakeVector(text, dims)
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(FakeTokens(text)))
		writeJSON(w, 200, map[string]any{"embedding": v, "inputTextTokenCount": FakeTokens(text), "embeddingsByType": map[string]any{"float": v}})
	case strings.Contains(model, "cohere.embed"):
		texts, _ := body["texts"].([]any)
		if str(body, "input_type") == "" || len(texts) > 96 {
			bedrockErr(w, 400, "ValidationException", "Malformed input request: input_type is required and at most 96 texts are allowed")
			return
		}
		dims := FakeDims
		if d := numField(body, "output_dimension"); d > 0 {
			dims = d
		}
		var vs []any
		var ss []string
		n := 0
		for _, t := range texts {
			s, _ := t.(string)
			ss = append(ss, s)
			vs = append(vs, FakeVector(s, dims))
			n += FakeTokens(s)
		}
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(n))
		resp := map[string]any{"id": "emb-fake", "texts": ss, "response_type": "embeddings_floats", "embeddings": vs}
		if _, typed := body["embedding_types"]; typed {
			resp["response_type"], resp["embeddings"] = "embeddings_by_type", map[string]any{"float": vs}
		}
		writeJSON(w, 200, resp)
	default:
		bedrockErr(w, 400, "ValidationException", "The provided model identifier is invalid.")
	}
}

// googleEmbed routes the Gemini API's and Vertex AI's embeddings methods.
func (f *Fake) googleEmbed(w http.ResponseWriter, r *http.Request, model, method string, body map[string]any) {
	if method == "predict" {
		f.vertexPredict(w, r, model, body)
		return
	}
	f.geminiEmbed(w, r, model, method, body)
}
