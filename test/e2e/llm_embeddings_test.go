package e2e

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/openai/openai-go/v3"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// embedRoute is a route under /<prefix> serving one ai backend.
func embedRoute(prefix, backend string) string {
	return fmt.Sprintf(`    - matches: [{path: {pathPrefix: /%s}}]
      policies: {urlRewrite: {path: {prefix: /}}}
      backends:
      - ai:
%s`, prefix, backend)
}

func embedInputs(s ...string) openai.EmbeddingNewParamsInputUnion {
	return openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: s}
}

// decodeB64 decodes an OpenAI base64 embedding (little-endian float32).
func decodeB64(t *testing.T, e openai.Embedding) []float64 {
	t.Helper()
	s, err := strconv.Unquote(e.JSON.Embedding.Raw())
	if err != nil {
		t.Fatalf("embedding is not a base64 string: %s", e.JSON.Embedding.Raw())
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw)%4 != 0 {
		t.Fatalf("bad base64 %q: %v", s, err)
	}
	out := make([]float64, len(raw)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	return out
}

func sameVector(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestLLMEmbeddings drives POST /v1/embeddings with the official openai-go
// client through the gateway to fakes of the Gemini API (embedContent,
// batchEmbedContents), Vertex AI (text embeddings predict) and Bedrock
// InvokeModel (Titan Text Embeddings v2, Cohere Embed), float and base64
// answers, token-array refusals, upstream errors in the OpenAI shape,
// failover from a failing provider to another, and the gen_ai metrics.
func TestLLMEmbeddings(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret/test+key"}
	gem := llmtest.Gemini(t, "gk-upstream")
	vx := llmtest.Vertex(t, "ya29.token")
	br := llmtest.Bedrock(t, creds, "us-east-1")
	down := llmtest.Gemini(t, "gk-down")
	down.Set(llmtest.Knobs{Fail: llmtest.Status(0, 503, llmtest.GeminiError(503, "UNAVAILABLE", "The model is overloaded."))})
	awsAuth := `policies: {backendAuth: {aws: {accessKeyId: AKIDTEST, secretAccessKey: "secret/test+key"}}}`
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf("binds:\n- port: %d\n  listeners:\n  - routes:\n", port)+
		embedRoute("gemini", fmt.Sprintf(`          name: gemini
          hostOverride: %s
          provider: {gemini: {model: gemini-embedding-001}}
          policies: {backendAuth: {key: gk-upstream}}
`, gem.Host()))+
		embedRoute("vertex", fmt.Sprintf(`          name: vertex
          hostOverride: %s
          provider: {vertex: {model: gemini-embedding-001, projectId: my-proj, region: us-central1}}
          policies: {backendAuth: {key: ya29.token}}
`, vx.Host()))+
		embedRoute("titan", fmt.Sprintf(`          name: titan
          hostOverride: %s
          provider: {bedrock: {model: "amazon.titan-embed-text-v2:0", region: us-east-1}}
          %s
`, br.Host(), awsAuth))+
		embedRoute("cohere", fmt.Sprintf(`          name: cohere
          hostOverride: %s
          provider: {bedrock: {model: "cohere.embed-english-v3", region: us-east-1}}
          %s
`, br.Host(), awsAuth))+
		embedRoute("failover", fmt.Sprintf(`          groups:
          - providers:
            - name: gemini-down
              hostOverride: %s
              provider: {gemini: {model: gemini-embedding-001}}
              policies: {backendAuth: {key: gk-down}}
          - providers:
            - name: titan-fallback
              hostOverride: %s
              provider: {bedrock: {model: "amazon.titan-embed-text-v2:0", region: us-east-1}}
              %s
`, down.Host(), br.Host(), awsAuth)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := func(prefix string) *openai.Client { c := openAIClient(base + "/" + prefix); return &c }
	b64 := openai.EmbeddingNewParamsEncodingFormatBase64

	t.Run("gemini: one string, float", func(t *testing.T) {
		e, err := client("gemini").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello world")}, User: openai.String("u1")})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != 1 || !sameVector(e.Data[0].Embedding, llmtest.FakeVector("hello world", llmtest.FakeDims)) ||
			e.Model != "gemini-embedding-001" || e.Object != "list" || e.Data[0].Object != "embedding" {
			t.Errorf("got %+v", e)
		}
		up := gem.Requests()[gem.Count()-1]
		if up.Path != "/v1beta/models/gemini-embedding-001:embedContent" || up.Header.Get("X-Goog-Api-Key") != "gk-upstream" || up.Body["user"] != nil {
			t.Errorf("upstream saw %s %v %v", up.Path, up.Header, up.Body)
		}
	})
	t.Run("gemini: array, dimensions, base64 made by the gateway", func(t *testing.T) {
		e, err := client("gemini").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any",
			Input: embedInputs("first text", "second text", "third"), Dimensions: openai.Int(4), EncodingFormat: b64})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != 3 {
			t.Fatalf("got %d embeddings", len(e.Data))
		}
		for i, s := range []string{"first text", "second text", "third"} {
			if got := decodeB64(t, e.Data[i]); e.Data[i].Index != int64(i) || !sameVector(got, llmtest.FakeVector(s, 4)) {
				t.Errorf("embedding %d: %v", i, got)
			}
		}
		up := gem.Requests()[gem.Count()-1]
		if up.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || !strings.Contains(fmt.Sprint(up.Body), "outputDimensionality:4") {
			t.Errorf("upstream saw %s %v", up.Path, up.Body)
		}
	})
	t.Run("vertex: gemini-embedding one instance per predict, usage from statistics", func(t *testing.T) {
		n := vx.Count()
		e, err := client("vertex").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any",
			Input: embedInputs("one two", "three four five"), Dimensions: openai.Int(3)})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != 2 || !sameVector(e.Data[0].Embedding, llmtest.FakeVector("one two", 3)) ||
			!sameVector(e.Data[1].Embedding, llmtest.FakeVector("three four five", 3)) || e.Usage.PromptTokens != 5 || e.Usage.TotalTokens != 5 {
			t.Errorf("got %+v", e)
		}
		reqs := vx.Requests()[n:]
		if len(reqs) != 2 || reqs[0].Path != "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-embedding-001:predict" ||
			reqs[0].Header.Get("Authorization") != "Bearer ya29.token" {
			t.Errorf("upstream saw %+v", reqs)
		}
	})
	t.Run("bedrock titan: one signed invoke per input, base64", func(t *testing.T) {
		n := br.Count()
		inputs := []string{"a b", "c d e", "f", "g h i j", "k", "l m"}
		e, err := client("titan").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any",
			Input: embedInputs(inputs...), Dimensions: openai.Int(256), EncodingFormat: b64})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != len(inputs) || e.Model != "amazon.titan-embed-text-v2:0" || e.Usage.PromptTokens != 13 {
			t.Fatalf("got %d embeddings, %+v %+v", len(e.Data), e.Model, e.Usage)
		}
		for i, s := range inputs {
			if got := decodeB64(t, e.Data[i]); !sameVector(got, llmtest.FakeVector(s, 256)) {
				t.Errorf("embedding %d (%q) is not its input's", i, s)
			}
		}
		reqs := br.Requests()[n:]
		if len(reqs) != len(inputs) || reqs[0].Path != "/model/amazon.titan-embed-text-v2%3A0/invoke" || reqs[0].Body["normalize"] != true {
			t.Errorf("upstream saw %+v", reqs[0])
		}
	})
	t.Run("bedrock cohere: texts in one invoke, float", func(t *testing.T) {
		e, err := client("cohere").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any", Input: embedInputs("x y", "z")})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != 2 || !sameVector(e.Data[1].Embedding, llmtest.FakeVector("z", llmtest.FakeDims)) || e.Usage.PromptTokens != 3 {
			t.Errorf("got %+v", e)
		}
		up := br.Requests()[br.Count()-1]
		if up.Path != "/model/cohere.embed-english-v3/invoke" || up.Body["input_type"] != "search_document" {
			t.Errorf("upstream saw %s %v", up.Path, up.Body)
		}
	})
	t.Run("refusals and upstream errors in the OpenAI shape", func(t *testing.T) {
		var oerr *openai.Error
		_, err := client("gemini").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1, 2}}}})
		if !errors.As(err, &oerr) || oerr.StatusCode != 400 || !strings.Contains(oerr.Message, "token arrays") {
			t.Errorf("token arrays: %v", err)
		}
		_, err = client("cohere").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any", Input: embedInputs("x"), Dimensions: openai.Int(256)})
		if !errors.As(err, &oerr) || oerr.StatusCode != 400 || !strings.Contains(oerr.Message, "dimensions") {
			t.Errorf("cohere v3 dimensions: %v", err)
		}
		_, err = client("titan").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any", Input: embedInputs("x"), Dimensions: openai.Int(100)})
		if !errors.As(err, &oerr) || oerr.StatusCode != 400 || oerr.Code != "ValidationException" || !strings.Contains(oerr.Message, "dimensions") {
			t.Errorf("bedrock validation error: %v", err)
		}
		gem.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.GeminiError(429, "RESOURCE_EXHAUSTED", "Quota exceeded."))})
		defer gem.Set(llmtest.Knobs{})
		_, err = client("gemini").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any", Input: embedInputs("x")})
		if !errors.As(err, &oerr) || oerr.StatusCode != 429 || oerr.Message != "Quota exceeded." {
			t.Errorf("gemini quota: %v", err)
		}
	})
	t.Run("failover: a 503 provider, then another provider serves", func(t *testing.T) {
		n := down.Count()
		e, err := client("failover").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "any", Input: embedInputs("fall back")})
		if err != nil {
			t.Fatal(err)
		}
		if e.Model != "amazon.titan-embed-text-v2:0" || !sameVector(e.Data[0].Embedding, llmtest.FakeVector("fall back", 1024)) {
			t.Errorf("got model %s", e.Model)
		}
		if down.Count() != n+1 {
			t.Errorf("the failing provider got %d attempts", down.Count()-n)
		}
	})
	t.Run("usage in the gen_ai metrics", func(t *testing.T) {
		m := metricsText(t, g)
		for _, want := range []string{
			`agentgateway_gen_ai_client_token_usage_sum{gen_ai_operation_name="embeddings",gen_ai_request_model="any",gen_ai_response_model="gemini-embedding-001",gen_ai_system="gcp.vertex_ai",gen_ai_token_type="input"} 5`,
			`gen_ai_operation_name="embeddings",gen_ai_request_model="any",gen_ai_response_model="cohere.embed-english-v3",gen_ai_system="aws.bedrock",gen_ai_token_type="input"} 3`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(m, `gen_ai_system="gcp.gemini",gen_ai_token_type="input"`) {
			t.Errorf("gemini reports no embedding token counts; none should be recorded")
		}
	})
}
