package llm_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/bedrock"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/vertex"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: invalid JSON: %v\n%s", name, err, got)
	}
	got = append(buf.Bytes(), '\n')
	path := filepath.Join("testdata", "embed", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n%s", path, got)
	}
}

// upstream is one answer of the provider, as its document shows it.
type upstream struct {
	header http.Header
	body   string
}

// TestEmbedGolden translates OpenAI embeddings requests into each
// provider's calls (method, path, body: req-<name>.json) and the
// provider's answers back into OpenAI's response (resp-<name>.json).
func TestEmbedGolden(t *testing.T) {
	gem := gemini.New(gemini.Spec{})
	vx := vertex.New(vertex.Spec{Project: "my-proj", Region: "us-central1"})
	br := bedrock.New(bedrock.Spec{Region: "us-east-1"})
	cases := []struct {
		name    string
		p       llm.Provider
		model   string
		request string
		answers []upstream
	}{
		{"gemini-single", gem, "text-embedding-004",
			`{"model":"emb","input":"hello world","dimensions":4,"user":"u1","encoding_format":"float"}`,
			[]upstream{{nil, `{"embedding":{"values":[0.013168523,-0.00871193,-0.046782676,1e-7]}}`}}},
		{"gemini-batch-base64", gem, "models/gemini-embedding-001",
			`{"model":"emb","input":["first text","second text"],"encoding_format":"base64"}`,
			[]upstream{{nil, `{"embeddings":[{"values":[0.5,-0.25]},{"values":[0.125,1]}]}`}}},
		{"vertex-gemini-embedding", vx, "gemini-embedding-001",
			`{"model":"emb","input":["first text","second text"],"dimensions":2}`,
			[]upstream{
				{nil, `{"predictions":[{"embeddings":{"values":[0.5,-0.25],"statistics":{"truncated":false,"token_count":2}}}],"metadata":{"billableCharacterCount":9}}`},
				{nil, `{"predictions":[{"embeddings":{"values":[0.125,1],"statistics":{"truncated":false,"token_count":3}}}],"metadata":{"billableCharacterCount":10}}`}}},
		{"vertex-text-embedding", vx, "text-embedding-005",
			`{"model":"emb","input":["first text","second text"]}`,
			[]upstream{{nil, `{"predictions":[{"embeddings":{"values":[0.5,-0.25],"statistics":{"truncated":false,"token_count":2}}},` +
				`{"embeddings":{"values":[0.125,1],"statistics":{"truncated":false,"token_count":3}}}]}`}}},
		{"bedrock-titan", br, "amazon.titan-embed-text-v2:0",
			`{"model":"emb","input":["first text","second text"],"dimensions":256}`,
			[]upstream{
				{nil, `{"embedding":[0.5,-0.25],"inputTextTokenCount":2,"embeddingsByType":{"float":[0.5,-0.25]}}`},
				{nil, `{"embedding":[0.125,1],"inputTextTokenCount":3,"embeddingsByType":{"float":[0.125,1]}}`}}},
		{"bedrock-titan-v1", br, "amazon.titan-embed-text-v1",
			`{"model":"emb","input":"one"}`,
			[]upstream{{nil, `{"embedding":[0.5,-0.25],"inputTextTokenCount":1}`}}},
		{"bedrock-cohere-v3", br, "cohere.embed-english-v3",
			`{"model":"emb","input":["first text","second text"]}`,
			[]upstream{{http.Header{"X-Amzn-Bedrock-Input-Token-Count": {"4"}},
				`{"id":"e1","embeddings":[[0.5,-0.25],[0.125,1]],"response_type":"embeddings_floats","texts":["first text","second text"]}`}}},
		{"bedrock-cohere-v4", br, "us.cohere.embed-v4:0",
			`{"model":"emb","input":"one","dimensions":256,"encoding_format":"base64"}`,
			[]upstream{{nil, `{"id":"e2","embeddings":{"float":[[0.5,-0.25]]},"response_type":"embeddings_by_type","texts":["one"],"meta":{"billed_units":{"input_tokens":1}}}`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := llm.ParseEmbedRequest([]byte(c.request))
			if err != nil {
				t.Fatal(err)
			}
			req.Model = c.model
			calls, err := c.p.(llm.Embedder).BuildEmbed(req)
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != len(c.answers) {
				t.Fatalf("%d calls, want %d", len(calls), len(c.answers))
			}
			type wireCall struct {
				Method, Path string
				Inputs       int
				Body         json.RawMessage
			}
			var wire []wireCall
			var results []*llm.Embeddings
			for i, call := range calls {
				wire = append(wire, wireCall{call.Call.Method, call.Call.Path, call.Inputs, call.Call.Body})
				res, err := call.Parse(c.answers[i].header, []byte(c.answers[i].body))
				if err != nil {
					t.Fatal(err)
				}
				results = append(results, res)
			}
			b, _ := json.Marshal(wire)
			golden(t, "req-"+c.name+".json", b)
			vectors, tokens, model := llm.JoinEmbeddings(results)
			if model == "" {
				model = c.model
			}
			golden(t, "resp-"+c.name+".json", llm.EmbedBody(model, vectors, tokens, req.Base64))
		})
	}
}

func TestEmbedBase64IsLittleEndianFloat32(t *testing.T) {
	v := []float64{0.5, -0.25, 1e-7, 3}
	var out struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(llm.EmbedBody("m", [][]float64{v}, 1, true), &out); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Data[0].Embedding)
	if err != nil || len(raw) != 4*len(v) {
		t.Fatalf("%v %d bytes", err, len(raw))
	}
	for i, x := range v {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != float32(x) {
			t.Errorf("value %d: %v, want %v", i, got, float32(x))
		}
	}
}

func TestParseEmbedRequest(t *testing.T) {
	for _, c := range []struct {
		body, err string
		inputs    int
		tokens    bool
	}{
		{body: `{"model":"m","input":"x"}`, inputs: 1},
		{body: `{"model":"m","input":["a","b",""]}`, inputs: 3},
		{body: `{"model":"m","input":[1,2,3]}`, tokens: true},
		{body: `{"model":"m","input":[[1,2],[3]]}`, tokens: true},
		{body: `{"model":"m","input":["a",[1]]}`, tokens: true},
		{body: `{"model":"m"}`, err: "input is required"},
		{body: `{"model":"m","input":null}`, err: "input is required"},
		{body: `{"model":"m","input":[]}`, err: "empty array"},
		{body: `{"model":"m","input":{}}`, err: "must be a string"},
		{body: `{"model":"m","input":"x","encoding_format":"int8"}`, err: "encoding_format"},
		{body: `{"model":"m","input":"x","dimensions":0}`, err: "dimensions"},
		{body: `{"model":"m","input":"x","dimensions":"8"}`, err: "invalid request body"},
		{body: `[]`, err: "invalid request body"},
		{body: `{"model":"m","input":[` + strings.Repeat(`"a",`, llm.MaxEmbedInputs) + `"a"]}`, err: "at most 2048"},
	} {
		req, err := llm.ParseEmbedRequest([]byte(c.body))
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%.60s: error %v, want %q", c.body, err, c.err)
			}
		case err != nil:
			t.Errorf("%.60s: %v", c.body, err)
		case len(req.Input) != c.inputs || req.Tokens != c.tokens:
			t.Errorf("%.60s: %d inputs, tokens %v", c.body, len(req.Input), req.Tokens)
		}
	}
}

// TestBuildEmbedRefusals: what a translating provider cannot take is a
// clear error (the gateway answers 400 with it), and large inputs are
// split into calls within each API's per-call limit.
func TestBuildEmbedRefusals(t *testing.T) {
	gem := gemini.New(gemini.Spec{})
	vx := vertex.New(vertex.Spec{Project: "p"}).(llm.Embedder)
	br := bedrock.New(bedrock.Spec{Region: "us-east-1"})
	tokens := &llm.EmbedRequest{Model: "m", Tokens: true}
	for name, e := range map[string]llm.Embedder{"gemini": gem, "vertex": vx, "bedrock": br} {
		if _, err := e.BuildEmbed(tokens); err == nil || !strings.Contains(err.Error(), "token arrays") {
			t.Errorf("%s: token input: %v", name, err)
		}
	}
	for _, c := range []struct {
		model string
		dims  int
		err   string
	}{
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", 0, "not an embeddings model"},
		{"cohere.embed-english-v3", 256, "dimensions is not supported"},
		{"amazon.titan-embed-text-v1", 256, "dimensions is not supported"},
	} {
		if _, err := br.BuildEmbed(&llm.EmbedRequest{Model: c.model, Input: []string{"x"}, Dimensions: c.dims}); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.model, err, c.err)
		}
	}
	many := make([]string, 250)
	for _, c := range []struct {
		e     llm.Embedder
		model string
		calls int
	}{
		{gem, "text-embedding-004", 3},
		{vx, "text-embedding-005", 1},
		{vx, "gemini-embedding-001", 250},
		{br, "cohere.embed-multilingual-v3", 3},
		{br, "amazon.titan-embed-text-v2:0", 250},
	} {
		calls, err := c.e.BuildEmbed(&llm.EmbedRequest{Model: c.model, Input: many})
		n := 0
		for _, cl := range calls {
			n += cl.Inputs
		}
		if err != nil || len(calls) != c.calls || n != len(many) {
			t.Errorf("%s: %d calls for %d inputs (%v), want %d", c.model, len(calls), n, err, c.calls)
		}
	}
}

// FuzzEmbeddings feeds arbitrary bytes to the embeddings request parser,
// every provider's embeddings answer parser and the response writer: none
// may panic, and what they accept renders as valid JSON.
func FuzzEmbeddings(f *testing.F) {
	for _, s := range []string{`{"model":"m","input":["a","b"],"dimensions":3,"encoding_format":"base64"}`,
		`{"embedding":{"values":[0.1,0.2]}}`, `{"embeddings":[{"values":[1]},{"values":null}]}`,
		`{"predictions":[{"embeddings":{"values":[0.5],"statistics":{"token_count":2}}}]}`,
		`{"embedding":[0.5],"inputTextTokenCount":1}`, `{"embeddings":{"float":[[0.5]]},"meta":{"billed_units":{"input_tokens":1e300}}}`,
		`{"embeddings":[[1e308,-1e-320]]}`, "{}", "null", "[]", `{"model":"m","input":[[1,2]]}`} {
		f.Add([]byte(s))
	}
	parsers := []func(http.Header, []byte) (*llm.Embeddings, error){gemini.ParseEmbedContent, gemini.ParseBatchEmbedContents,
		vertex.ParsePredict, bedrock.ParseTitanEmbed, bedrock.ParseCohereEmbed}
	hdr := http.Header{"X-Amzn-Bedrock-Input-Token-Count": {"-3"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, err := llm.ParseEmbedRequest(b); err == nil {
			for _, e := range []llm.Embedder{gemini.New(gemini.Spec{}), vertex.New(vertex.Spec{}).(llm.Embedder), bedrock.New(bedrock.Spec{})} {
				_, _ = e.BuildEmbed(req)
			}
		}
		for _, parse := range parsers {
			res, err := parse(hdr, b)
			if err != nil {
				continue
			}
			vectors, tokens, model := llm.JoinEmbeddings([]*llm.Embeddings{res})
			for _, b64 := range []bool{false, true} {
				if out := llm.EmbedBody(model, vectors, tokens, b64); !json.Valid(out) {
					t.Fatalf("invalid JSON: %s", out)
				}
			}
		}
	})
}
