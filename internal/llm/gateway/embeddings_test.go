package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/gateway"
	"github.com/agentgw/agentgateway/internal/llm/llmtest"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
)

func embedHandler(t *testing.T, tiers ...[]*gateway.Target) *gateway.Handler {
	t.Helper()
	h, err := gateway.New(gateway.Spec{Backends: []*gateway.Backend{{Tiers: tiers}}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func target(name string, p llm.Provider, f *llmtest.Fake, key string) *gateway.Target {
	return &gateway.Target{Name: name, Provider: p, Scheme: "http", Address: f.Host(), Transport: http.DefaultTransport, Key: key}
}

func postEmbeddings(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/embeddings", strings.NewReader(body)))
	return rec
}

// TestEmbeddingsSplitCallsKeepInputOrder: 250 inputs to Gemini are three
// concurrent batchEmbedContents calls whose vectors come back in input
// order.
func TestEmbeddingsSplitCallsKeepInputOrder(t *testing.T) {
	gem := llmtest.Gemini(t, "k")
	h := embedHandler(t, []*gateway.Target{target("g", gemini.New(gemini.Spec{Model: "gemini-embedding-001"}), gem, "k")})
	inputs := make([]string, 250)
	for i := range inputs {
		inputs[i] = fmt.Sprint("text number ", i)
	}
	in, _ := json.Marshal(inputs)
	rec := postEmbeddings(h, `{"model":"any","input":`+string(in)+`}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Data) != len(inputs) {
		t.Fatalf("%v: %d embeddings", err, len(out.Data))
	}
	for i, d := range out.Data {
		want := llmtest.FakeVector(inputs[i], llmtest.FakeDims)
		if d.Index != i || fmt.Sprint(d.Embedding) != fmt.Sprint(want) {
			t.Fatalf("embedding %d is not its input's", i)
		}
	}
	if gem.Count() != 3 {
		t.Errorf("%d upstream calls, want 3", gem.Count())
	}
}

// TestEmbeddingsErrors: a failed call among several fails the attempt with
// the provider's error in OpenAI's shape; the next tier then serves;
// providers without embeddings answer 501; bad input is a 400.
func TestEmbeddingsErrors(t *testing.T) {
	gem := llmtest.Gemini(t, "k")
	gem.Set(llmtest.Knobs{Fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n%3 != 2 {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(503)
		_, _ = w.Write([]byte(llmtest.GeminiError(503, "UNAVAILABLE", "The model is overloaded.")))
		return true
	}})
	gp := gemini.New(gemini.Spec{Model: "gemini-embedding-001"})
	many := `{"model":"any","input":["` + strings.Repeat(`x","`, 249) + `y"]}`

	rec := postEmbeddings(embedHandler(t, []*gateway.Target{target("g", gp, gem, "k")}), many)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "The model is overloaded.") {
		t.Errorf("one failed call of three: %d %s", rec.Code, rec.Body)
	}

	fallback := llmtest.Gemini(t, "k2")
	rec = postEmbeddings(embedHandler(t, []*gateway.Target{target("g", gp, gem, "k")}, []*gateway.Target{target("g2", gp, fallback, "k2")}), many)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"index":249`) {
		t.Errorf("failover: %d %.200s", rec.Code, rec.Body)
	}

	ant := llmtest.Anthropic(t, "a")
	rec = postEmbeddings(embedHandler(t, []*gateway.Target{target("a", anthropic.New(anthropic.Spec{}), ant, "a")}), `{"model":"m","input":"x"}`)
	if rec.Code != 501 || ant.Count() != 0 {
		t.Errorf("anthropic: %d %s", rec.Code, rec.Body)
	}

	h := embedHandler(t, []*gateway.Target{target("g", gp, fallback, "k2")})
	for body, want := range map[string]string{
		`{"model":"m","input":[[1,2]]}`:                        "token arrays",
		`{"model":"m","input":"x","encoding_format":"binary"}`: "encoding_format",
		`{"model":"m","input":[]}`:                             "empty array",
	} {
		rec := postEmbeddings(h, body)
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != 400 || !strings.Contains(e.Error.Message, want) || e.Error.Type != "invalid_request_error" {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
}

// TestEmbeddingsVirtualModel: embeddings follow the llm: routing like
// chat does: a virtual model reaches an internal model (asked for by the
// target's name), which is not reachable directly.
func TestEmbeddingsVirtualModel(t *testing.T) {
	gem := llmtest.Gemini(t, "k")
	h, err := gateway.New(gateway.Spec{
		ModelRouted: true,
		Backends: []*gateway.Backend{{Name: "text-embedding-005", Internal: true,
			Tiers: [][]*gateway.Target{{target("g", gemini.New(gemini.Spec{}), gem, "k")}}}},
		VirtualModels: []*gateway.VirtualModel{{Name: "embed", Kind: gateway.VirtualFailover,
			Targets: []gateway.VirtualTarget{{Model: "text-embedding-005"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := postEmbeddings(h, `{"model":"embed","input":"hello"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"embedding"`) {
		t.Fatalf("virtual: %d %s", rec.Code, rec.Body)
	}
	if n := gem.Count(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
	if got := gem.Requests()[0].Path; !strings.Contains(got, "text-embedding-005") {
		t.Errorf("upstream path %q does not name the target model", got)
	}
	rec = postEmbeddings(h, `{"model":"text-embedding-005","input":"hello"}`)
	if rec.Code != 404 {
		t.Errorf("internal model asked directly: %d %s", rec.Code, rec.Body)
	}
}
