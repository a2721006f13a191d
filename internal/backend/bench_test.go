package backend

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkProxy compares a GET straight to an upstream with the same GET
// through an Upstream (and through a Service with retries configured).
// Allocations include the client and both servers.
func BenchmarkProxy(b *testing.B) {
	payload := strings.Repeat("x", 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, payload)
	}))
	defer up.Close()
	u, err := NewUpstream(UpstreamSpec{Address: addr(up)}, NewTransports())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := NewService(ServiceSpec{Targets: []Target{{Handler: u}}, Retry: &RetrySpec{Codes: []int{503}}})
	if err != nil {
		b.Fatal(err)
	}
	proxy := httptest.NewServer(u)
	defer proxy.Close()
	// The same forwarder on http.Transport alone (the path before the lean client).
	ut, err := NewUpstream(UpstreamSpec{Address: addr(up)}, NewTransports())
	if err != nil {
		b.Fatal(err)
	}
	ut.tr = ut.tr.(*sharedTransport).h
	proxyT := httptest.NewServer(ut)
	defer proxyT.Close()
	retry := httptest.NewServer(svc)
	defer retry.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	run := func(b *testing.B, url string) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, up.URL) })
	b.Run("upstream", func(b *testing.B) { run(b, proxy.URL) })
	b.Run("upstream-http.Transport", func(b *testing.B) { run(b, proxyT.URL) })
	b.Run("service-retry", func(b *testing.B) { run(b, retry.URL) })
}

// BenchmarkRoundTrip: one GET of 1 KiB over loopback keep-alive, the lean
// client against http.Transport (client side only; the server's
// allocations are included in both).
func BenchmarkRoundTrip(b *testing.B) {
	payload := strings.Repeat("x", 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, payload)
	}))
	defer up.Close()
	st, _, err := NewTransports().get(nil, protoAuto)
	if err != nil {
		b.Fatal(err)
	}
	defer st.CloseIdleConnections()
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"lean", st}, {"http.Transport", st.h}} {
		b.Run(c.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", up.URL+"/x", nil)
			buf := make([]byte, 2048)
			b.ReportAllocs()
			for b.Loop() {
				res, err := c.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := res.Body.Read(buf); err != nil {
						break
					}
				}
				res.Body.Close()
			}
		})
	}
}
