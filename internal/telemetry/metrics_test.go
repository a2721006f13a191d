package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

func testRoute(m *Metrics) *RouteMetrics {
	return m.Route(RouteLabels{
		Bind: "bind/3000", Gateway: "bind/3000", Listener: "l0",
		Route: "r0", Backend: "127.0.0.1:8080", Protocol: "http",
	})
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return string(b)
}

func TestExpositionNamesAndLabels(t *testing.T) {
	m := NewMetrics("v1.2.3", "abc")
	rm := testRoute(m)
	rm.Observe("GET", 200, ReasonUpstream, 3*time.Millisecond)
	rm.AddRetries(2)
	rm.AddResponseBytes(1024)
	c := m.Conns(ConnLabels{Bind: "bind/3000", Gateway: "bind/3000", Listener: "l0", Protocol: "HTTP"})
	c.Open()
	m.ConfigReload(true)

	text := scrape(t, m)
	for _, want := range []string{
		`agentgateway_requests_total{backend="127.0.0.1:8080",bind="bind/3000",gateway="bind/3000",listener="l0",method="GET",protocol="http",reason="Upstream",route="r0",status="200"} 1`,
		`agentgateway_request_duration_seconds_bucket{backend="127.0.0.1:8080",bind="bind/3000",gateway="bind/3000",listener="l0",method="GET",protocol="http",reason="Upstream",route="r0",status="200",le="0.005"} 1`,
		`agentgateway_request_duration_seconds_bucket{backend="127.0.0.1:8080",bind="bind/3000",gateway="bind/3000",listener="l0",method="GET",protocol="http",reason="Upstream",route="r0",status="200",le="0.0025"} 0`,
		`agentgateway_retries_total{backend="127.0.0.1:8080",bind="bind/3000",gateway="bind/3000",listener="l0",protocol="http",route="r0"} 2`,
		`agentgateway_response_bytes_total{backend="127.0.0.1:8080",bind="bind/3000",gateway="bind/3000",listener="l0",protocol="http",route="r0"} 1024`,
		`agentgateway_downstream_connections_total{bind="bind/3000",gateway="bind/3000",listener="l0",protocol="HTTP"} 1`,
		`agentgateway_downstream_connections_active{bind="bind/3000",gateway="bind/3000",listener="l0",protocol="HTTP"} 1`,
		`agentgateway_config_reloads_total{result="success"} 1`,
		`agentgateway_config_last_reload_successful 1`,
		`agentgateway_config_last_reload_success_timestamp_seconds `,
		`agentgateway_build_info{goversion="go`,
		`revision="abc",version="v1.2.3"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}

	// The exposition parses as the Prometheus text format.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	for _, name := range []string{
		"agentgateway_requests_total", "agentgateway_request_duration_seconds",
		"agentgateway_retries_total", "agentgateway_response_bytes_total",
		"agentgateway_downstream_connections_total", "agentgateway_downstream_connections_active",
		"agentgateway_config_reloads_total", "agentgateway_config_last_reload_success_timestamp_seconds",
		"agentgateway_config_last_reload_successful", "agentgateway_build_info",
	} {
		if fams[name] == nil {
			t.Errorf("parsed exposition lacks family %s", name)
		}
	}
}

func TestLint(t *testing.T) {
	m := NewMetrics("", "")
	rm := testRoute(m)
	rm.Observe("POST", 503, ReasonNoBackend, time.Second)
	rm.AddRetries(1)
	rm.AddResponseBytes(1)
	m.Conns(ConnLabels{}).Open()
	m.ConfigReload(false)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "agentgateway_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}

func TestObserveCounts(t *testing.T) {
	m := NewMetrics("", "")
	rm := testRoute(m)
	for range 3 {
		rm.Observe("GET", 200, ReasonUpstream, time.Millisecond)
	}
	rm.Observe("get", 200, ReasonUpstream, time.Millisecond) // not a known verb: OTHER
	rm.Observe("BREW", 418, ReasonDirectResponse, time.Millisecond)
	rm.Observe("GET", 0, ReasonNotFound, time.Millisecond)
	rm.Observe("GET", 999, Reason(200), time.Millisecond)

	// A second handle with the same labels shares the series.
	testRoute(m).Observe("GET", 200, ReasonUpstream, time.Millisecond)

	base := []string{"bind/3000", "bind/3000", "l0", "r0", "127.0.0.1:8080", "http"}
	lv := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	cases := []struct {
		labels []string
		want   float64
	}{
		{lv("GET", "200", "Upstream"), 4},
		{lv("OTHER", "200", "Upstream"), 1},
		{lv("OTHER", "418", "DirectResponse"), 1},
		{lv("GET", "unknown", "NotFound"), 1},
		{lv("GET", "unknown", "Internal"), 1},
	}
	for _, c := range cases {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("requests%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != len(cases) {
		t.Errorf("series = %d, want %d", n, len(cases))
	}
	if n := testutil.CollectAndCount(m.duration); n != len(cases) {
		t.Errorf("histogram series = %d, want %d", n, len(cases))
	}
}

func TestObserveInfoAndEmptyLabels(t *testing.T) {
	m := NewMetrics("", "")
	rm := m.Route(RouteLabels{Bind: "bind/80"})
	info := &pipeline.Info{Start: time.Now(), Status: 502, Retries: 2}
	rm.ObserveInfo("PUT", info, ReasonUpstreamFailure)
	got := testutil.ToFloat64(m.requests.WithLabelValues("bind/80", "unknown", "unknown", "unknown", "unknown", "unknown", "PUT", "502", "UpstreamFailure"))
	if got != 1 {
		t.Errorf("requests = %v", got)
	}
	if got := testutil.ToFloat64(rm.retries); got != 2 {
		t.Errorf("retries = %v", got)
	}
}

func TestConnsAndReloads(t *testing.T) {
	m := NewMetrics("", "")
	c := m.Conns(ConnLabels{Bind: "bind/3000", Listener: "l0", Protocol: "HTTP"})
	c.Open()
	c.Open()
	c.Close()
	if got := testutil.ToFloat64(c.total); got != 2 {
		t.Errorf("connections total = %v", got)
	}
	if got := testutil.ToFloat64(c.active); got != 1 {
		t.Errorf("active = %v", got)
	}
	m.ConfigReload(true)
	before := testutil.ToFloat64(m.lastReloadSuccess)
	if before < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success timestamp %v", before)
	}
	m.ConfigReload(false)
	if got := testutil.ToFloat64(m.lastReloadOK); got != 0 {
		t.Errorf("last successful = %v", got)
	}
	if got := testutil.ToFloat64(m.lastReloadSuccess); got != before {
		t.Errorf("failure moved the success timestamp")
	}
	if got := testutil.ToFloat64(m.reloadFailed); got != 1 {
		t.Errorf("failures = %v", got)
	}
	if got := testutil.ToFloat64(m.reloadOK); got != 1 {
		t.Errorf("successes = %v", got)
	}
}

func TestNativeHistograms(t *testing.T) {
	for _, mode := range []string{HistogramsNative, HistogramsBoth} {
		m := NewMetricsWithOptions(Options{Histograms: mode})
		testRoute(m).Observe("GET", 200, ReasonUpstream, time.Millisecond)
		fams, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "agentgateway_request_duration_seconds" {
				continue
			}
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSchema() == 0 && len(h.GetPositiveSpan()) == 0 && h.GetZeroThreshold() == 0 {
				t.Errorf("%s: no native histogram", mode)
			}
			if classic := len(h.GetBucket()) > 0; classic != (mode == HistogramsBoth) {
				t.Errorf("%s: classic buckets present = %v", mode, classic)
			}
		}
	}
}

func TestObserveConcurrent(t *testing.T) {
	m := NewMetrics("", "")
	rm := testRoute(m)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				rm.Observe("GET", 200+(i+g)%5, ReasonUpstream, time.Microsecond)
			}
		})
	}
	wg.Wait()
	var total float64
	for s := 200; s < 205; s++ {
		total += testutil.ToFloat64(m.requests.WithLabelValues("bind/3000", "bind/3000", "l0", "r0", "127.0.0.1:8080", "http", "GET", statusLabel(uint16(s)), "Upstream"))
	}
	if total != 8000 {
		t.Errorf("total = %v", total)
	}
}

func TestNormalizeMethod(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "OTHER", "": "OTHER", "PROPFIND": "OTHER"} {
		if got := NormalizeMethod(in); got != want {
			t.Errorf("NormalizeMethod(%q) = %q", in, got)
		}
	}
}

func TestObserveAllocs(t *testing.T) {
	m := NewMetrics("", "")
	rm := testRoute(m)
	rm.Observe("GET", 200, ReasonUpstream, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() {
		rm.Observe("GET", 200, ReasonUpstream, time.Millisecond)
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per call", allocs)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := NewMetrics("", "")
	rm := testRoute(m)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rm.Observe("GET", 200, ReasonUpstream, 1500*time.Microsecond)
		}
	})
}

// BenchmarkWithLabelValues is the per-request label lookup Observe avoids.
func BenchmarkWithLabelValues(b *testing.B) {
	m := NewMetrics("", "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.requests.WithLabelValues("bind/3000", "bind/3000", "l0", "r0", "127.0.0.1:8080", "http", "GET", "200", "Upstream").Inc()
		}
	})
}

func TestConnHook(t *testing.T) {
	m := NewMetrics("", "")
	hook := m.ConnHook()
	for range 3 {
		hook(3000, http.StateNew)
		hook(3000, http.StateActive)
		hook(3000, http.StateIdle)
	}
	hook(3000, http.StateClosed)
	hook(3000, http.StateHijacked)
	hook(4000, http.StateNew)
	lv := []string{"bind/3000", "bind/3000", "unknown", "HTTP"}
	if got := testutil.ToFloat64(m.downstreamConns.WithLabelValues(lv...)); got != 3 {
		t.Errorf("total = %v", got)
	}
	if got := testutil.ToFloat64(m.downstreamActive.WithLabelValues(lv...)); got != 1 {
		t.Errorf("active = %v", got)
	}
	if got := testutil.ToFloat64(m.downstreamConns.WithLabelValues("bind/4000", "bind/4000", "unknown", "HTTP")); got != 1 {
		t.Errorf("port 4000 total = %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { hook(3000, http.StateActive); hook(3000, http.StateNew); hook(3000, http.StateClosed) }); n != 0 {
		t.Errorf("hook allocates %v", n)
	}
}
