package backend

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

type mirrored struct {
	path, body, auth string
}

func mirrorUpstream(t *testing.T, release <-chan struct{}) (*httptest.Server, chan mirrored) {
	got := make(chan mirrored, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if release != nil {
			<-release
		}
		got <- mirrored{r.URL.RequestURI(), string(b), r.Header.Get("X-Forwarded-For")}
		io.WriteString(w, "mirror answer")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func newMirrorMW(t *testing.T, spec MirrorSpec) pipeline.Middleware {
	m, err := NewMirror(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m.Middleware()
}

func TestMirrorCopy(t *testing.T) {
	main := newBodyLog(t, 200)
	msrv, got := mirrorUpstream(t, nil)
	mw := newMirrorMW(t, MirrorSpec{Target: newUp(t, UpstreamSpec{Address: addr(msrv)}), Percentage: 1})
	f := newFront(t, mw(newUp(t, UpstreamSpec{Name: "main", Address: addr(main.srv)})))
	resp, body := post(t, f.URL+"/v1/chat?x=1", "the body")
	if resp.StatusCode != 200 || body != "answer 1" {
		t.Fatalf("main: %d %q", resp.StatusCode, body)
	}
	select {
	case m := <-got:
		if m.path != "/v1/chat?x=1" || m.body != "the body" || m.auth != "127.0.0.1" {
			t.Fatalf("mirror saw %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("mirror never received the copy")
	}
	if b := main.seen(); len(b) != 1 || b[0] != "the body" {
		t.Fatalf("main saw %q", b)
	}
	if info := f.info(t); info.Backend != "main" {
		t.Fatalf("mirror overwrote the main request's info: %q", info.Backend)
	}
}

func TestMirrorDoesNotDelay(t *testing.T) {
	release := make(chan struct{})
	main := newBodyLog(t, 200)
	msrv, got := mirrorUpstream(t, release)
	m, err := NewMirror(MirrorSpec{Target: newUp(t, UpstreamSpec{Address: addr(msrv)}), Percentage: 1, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := newFront(t, m.Middleware()(newUp(t, UpstreamSpec{Address: addr(main.srv)})))
	// The main response completes while the mirror upstream is blocked.
	if resp, _ := post(t, f.URL, "one"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	// A second copy while the first is in flight is dropped (MaxInFlight 1),
	// and the main request is still served.
	if resp, _ := post(t, f.URL, "two"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	select {
	case <-got:
		t.Fatal("mirror answered before it was released")
	default:
	}
	close(release)
	if m := <-got; m.body != "one" {
		t.Fatalf("mirror body %q", m.body)
	}
	if sent, dropped := m.Stats(); sent != 1 || dropped != 1 {
		t.Fatalf("sent=%d dropped=%d", sent, dropped)
	}
}

func TestMirrorSkipsLargeBodyAndFeedsRetry(t *testing.T) {
	main := newBodyLog(t, 503, 200)
	msrv, got := mirrorUpstream(t, nil)
	m, err := NewMirror(MirrorSpec{Target: newUp(t, UpstreamSpec{Address: addr(msrv)}), Percentage: 1, MaxBody: 16})
	if err != nil {
		t.Fatal(err)
	}
	svc := newSvc(t, ServiceSpec{
		Targets: []Target{{Handler: newUp(t, UpstreamSpec{Address: addr(main.srv)})}},
		Retry:   &RetrySpec{Codes: []int{503}},
	})
	f := newFront(t, m.Middleware()(svc))
	// Mirrored and retried: the buffered body serves both.
	if resp, body := post(t, f.URL, "small"); resp.StatusCode != 200 {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if mm := <-got; mm.body != "small" {
		t.Fatalf("mirror body %q", mm.body)
	}
	// Too large to mirror: the main request still gets the whole body.
	big := strings.Repeat("z", 100)
	if resp, _ := post(t, f.URL, big); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if b := main.seen(); len(b) != 3 || b[0] != "small" || b[1] != "small" || b[2] != big {
		t.Fatalf("main saw %q", b)
	}
	if sent, dropped := m.Stats(); sent != 1 || dropped != 1 {
		t.Fatalf("sent=%d dropped=%d", sent, dropped)
	}
}

func TestMirrorSpecValidation(t *testing.T) {
	h := http.NotFoundHandler()
	for _, s := range []MirrorSpec{{}, {Target: h, Percentage: 1.5}, {Target: h, Percentage: -0.1}, {Target: h, MaxBody: -1}} {
		if _, err := NewMirror(s); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
}
