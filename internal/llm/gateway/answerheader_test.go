package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// adopter is a ResponseWriter that takes a whole header map while it has
// none, as the lean HTTP/1.1 server does (pipeline.HeaderAdopter).
type adopter struct {
	*httptest.ResponseRecorder
	adopted bool
}

func (a *adopter) AdoptHeader(h http.Header) bool {
	if len(a.Header()) > 0 {
		return false
	}
	a.adopted = true
	a.ResponseRecorder.HeaderMap = h //nolint:staticcheck // SA1019: the recorder's map is what Header returns
	return true
}

// TestAnswerHeader: a non-streamed answer's header is the upstream
// answer's map, emptied, when the writer takes it, and the writer's own
// otherwise; no upstream field reaches the client either way.
func TestAnswerHeader(t *testing.T) {
	upstream := func() *http.Response {
		return &http.Response{Header: http.Header{"X-Upstream-Only": {"1"}, "Set-Cookie": {"a=b"}, "Content-Type": {"application/json"}}}
	}
	for _, tc := range []struct {
		name      string
		w         http.ResponseWriter
		preset    bool // a policy set a response header before the handler
		wantAdopt bool
	}{
		{"adopting writer", &adopter{ResponseRecorder: httptest.NewRecorder()}, false, true},
		{"adopting writer with a header set", &adopter{ResponseRecorder: httptest.NewRecorder()}, true, false},
		{"plain writer", httptest.NewRecorder(), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.preset {
				tc.w.Header().Set("X-Policy", "kept")
			}
			resp := upstream()
			h := answerHeader(tc.w, resp)
			h["Content-Type"] = hdrJSON
			if got := tc.w.Header(); got.Get("Content-Type") != "application/json" || got.Get("X-Upstream-Only") != "" || got.Get("Set-Cookie") != "" {
				t.Fatalf("client header %v", got)
			}
			if tc.preset && tc.w.Header().Get("X-Policy") != "kept" {
				t.Fatalf("a policy's header was lost: %v", tc.w.Header())
			}
			if a, ok := tc.w.(*adopter); ok && a.adopted != tc.wantAdopt {
				t.Fatalf("adopted %v, want %v", a.adopted, tc.wantAdopt)
			}
		})
	}
}
