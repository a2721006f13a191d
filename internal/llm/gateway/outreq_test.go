package gateway

import (
	"io"
	"net/http"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

func TestNewUpstreamRequest(t *testing.T) {
	tg := &Target{Provider: openai.New(openai.Spec{}), Scheme: "http", Address: "127.0.0.1:9"}
	tg.cacheURL()
	for _, tt := range []struct {
		path, want string
		body       string
	}{
		{"/v1/chat/completions", "http://127.0.0.1:9/v1/chat/completions", `{"a":1}`},
		{"/v1/chat/completions", "http://127.0.0.1:9/v1/chat/completions", ""},
		{"/x/y?api-version=1&b=%20", "http://127.0.0.1:9/x/y?api-version=1&b=%20", "{}"},
	} {
		buf := llm.NewBodyBuf()
		buf.B = append(buf.B, tt.body...)
		req, err := newUpstreamRequest(t.Context(), tg, http.MethodPost, tt.path, buf.B, buf)
		if err != nil {
			t.Fatal(err)
		}
		if req.URL.String() != tt.want || req.Method != http.MethodPost || req.ProtoMajor != 1 || req.Context() != t.Context() {
			t.Errorf("%s: %s %s %v", tt.path, req.Method, req.URL, req.Proto)
		}
		if tt.body == "" {
			if req.Body != http.NoBody || req.ContentLength != 0 {
				t.Errorf("empty body: %v %d", req.Body, req.ContentLength)
			}
			buf.Release()
			continue
		}
		if req.ContentLength != int64(len(tt.body)) {
			t.Errorf("ContentLength %d", req.ContentLength)
		}
		again, _ := req.GetBody()
		for _, rc := range []io.ReadCloser{req.Body, again} {
			b, _ := io.ReadAll(rc)
			if string(b) != tt.body {
				t.Errorf("body %q, want %q", b, tt.body)
			}
		}
		// The gateway's reference and one per reader: the buffer is
		// recycled only after all three are gone (a double Close counts once).
		buf.Release()
		_ = req.Body.Close()
		_ = req.Body.Close()
		if got := buf.Refs(); got != 1 {
			t.Errorf("refs after the first reader closed: %d, want 1", got)
		}
		_ = again.Close()
		if got := buf.Refs(); got != 0 {
			t.Errorf("refs after all closed: %d, want 0", got)
		}
	}
	// Another path replaces the cached URL; the chat path comes back.
	u1, _ := tg.urlFor("/v1/chat/completions")
	u2, _ := tg.urlFor("/v1/other")
	u3, _ := tg.urlFor("/v1/chat/completions")
	if u1.Path != "/v1/chat/completions" || u2.Path != "/v1/other" || u3.String() != u1.String() {
		t.Errorf("urlFor: %s %s %s", u1, u2, u3)
	}
}
