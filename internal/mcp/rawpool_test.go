package mcp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/agentgw/agentgateway/internal/backend"
)

// seen is what a target received.
type seen struct {
	method, path, host string
	header             http.Header
	body               string
	length             int64
}

// The requests of an initialized session, built from its template, reach
// the target exactly as the ones built by http.NewRequestWithContext, over
// http.Transport and over the gateway's own client; concurrent calls share
// the template (run with -race: nothing writes to it).
func TestPostTemplateMatchesNewRequest(t *testing.T) {
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		delete(h, "Accept-Encoding") // http.Transport adds it, the lean client does not
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.RequestURI(), r.Host, h, string(b), r.ContentLength})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer srv.Close()
	plain, _ := backend.NewTransports().Plain()
	tg := &TargetSpec{Name: "one", Kind: KindStreamable, URL: srv.URL + "/mcp?x=1", Headers: []Header{
		{Name: "X-Policy", Value: "v", Op: HeaderSet}, {Name: "X-Multi", Value: "a", Op: HeaderAdd}, {Name: "X-Multi", Value: "b", Op: HeaderAdd},
	}}
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`)
	for name, rt := range map[string]http.RoundTripper{"http.Transport": &http.Transport{}, "lean": plain} {
		t.Run(name, func(t *testing.T) {
			got = nil
			s := &rawSession{t: tg, rt: rt, id: "sid-1", pv: "2025-11-25"}
			post := func() {
				resp, err := s.post(context.Background(), body, true)
				if err != nil {
					t.Error(err)
					return
				}
				drain(resp)
			}
			post() // no template yet: http.NewRequestWithContext
			s.template()
			if s.hdr == nil {
				t.Fatal("no template")
			}
			tmpl := s.hdr.Clone()
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					for range 20 {
						post()
					}
				})
			}
			wg.Wait()
			if len(got) != 1+16*20 {
				t.Fatalf("%d requests reached the target", len(got))
			}
			want := got[0]
			if want.method != "POST" || want.path != "/mcp?x=1" || want.body != string(body) || want.header.Get("Mcp-Session-Id") != "sid-1" ||
				!reflect.DeepEqual(want.header["X-Multi"], []string{"a", "b"}) {
				t.Fatalf("the reference request: %+v", want)
			}
			for i, g := range got[1:] {
				if !reflect.DeepEqual(g, want) {
					t.Fatalf("request %d from the template:\n%+v\nwant\n%+v", i, g, want)
				}
			}
			if !reflect.DeepEqual(s.hdr, tmpl) {
				t.Fatalf("the template changed: %v, was %v", s.hdr, tmpl)
			}
		})
	}
}
