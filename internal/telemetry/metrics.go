// Package telemetry holds the gateway's Prometheus metrics, its structured
// access log and the process logger.
//
// Every metric the gateway exports is declared in this file, on a dedicated
// registry (never the global default one), with agentgateway's names and
// labels so dashboards written for agentgateway keep working.
//
// The request hot path never builds label strings: the compiler resolves a
// RouteMetrics handle once per (bind, listener, route, backend) when it
// builds a config snapshot, and RouteMetrics.Observe finds the child series
// for (method, status, reason) in a small copy-on-write map keyed by
// integers.
package telemetry

import (
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

const namespace = "agentgateway"

// unknown is the value of a label the gateway does not know, as in
// agentgateway (its DefaultedUnknown label type).
const unknown = "unknown"

// DurationBuckets are the request-duration histogram buckets, in seconds:
// 0.5 ms to 60 s, dense below 100 ms where a proxy's own overhead lives and
// sparse above, where LLM calls live.
var DurationBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Histogram modes, as `config.histograms` in agentgateway.
const (
	HistogramsClassic = "classic"
	HistogramsNative  = "native"
	HistogramsBoth    = "both"
)

// Options configures NewMetrics.
type Options struct {
	Version  string // release version, e.g. "v0.1.0"; "unknown" when empty
	Revision string // VCS revision; "unknown" when empty
	// Histograms is classic (default), native or both.
	Histograms string
}

// Metrics owns the registry and every metric vector.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	retries       *prometheus.CounterVec
	responseBytes *prometheus.CounterVec

	downstreamConns  *prometheus.CounterVec
	downstreamActive *prometheus.GaugeVec

	reloads           *prometheus.CounterVec
	reloadOK          prometheus.Counter
	reloadFailed      prometheus.Counter
	lastReloadSuccess prometheus.Gauge
	lastReloadOK      prometheus.Gauge

	buildInfo *prometheus.GaugeVec

	portConns atomic.Pointer[map[int]*ConnMetrics] // ConnHook's per-port handles, copy-on-write
	portMu    sync.Mutex

	llm      *LLMMetrics // gen_ai_* metrics of the LLM gateway
	mcp      *MCPMetrics
	extAuthz *ExtAuthzMetrics
	a2a      *A2AMetrics
}

// Label names, in the order the vectors declare them.
var (
	routeLabelNames   = []string{"bind", "gateway", "listener", "route", "backend", "protocol"}
	requestLabelNames = append(append([]string{}, routeLabelNames...), "method", "status", "reason")
	connLabelNames    = []string{"bind", "gateway", "listener", "protocol"}
)

// NewMetrics creates a registry holding the Go and process collectors and
// every gateway metric, with classic histograms.
func NewMetrics(version, revision string) *Metrics {
	return NewMetricsWithOptions(Options{Version: version, Revision: revision})
}

// NewMetricsWithOptions is NewMetrics with every option.
func NewMetricsWithOptions(o Options) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	hopts := prometheus.HistogramOpts{
		Namespace: namespace,
		Name:      "request_duration_seconds",
		Help:      "Duration of HTTP requests handled by the gateway, from the first request byte to the end of the response.",
		Buckets:   DurationBuckets,
	}
	switch o.Histograms {
	case HistogramsNative:
		hopts.Buckets = nil
		hopts.NativeHistogramBucketFactor = 1.1
	case HistogramsBoth:
		hopts.NativeHistogramBucketFactor = 1.1
	}

	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "requests_total",
			Help:      "The total number of HTTP requests handled by the gateway.",
		}, requestLabelNames),
		duration: prometheus.NewHistogramVec(hopts, requestLabelNames),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "retries_total",
			Help:      "The total number of upstream request retries.",
		}, routeLabelNames),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "response_bytes_total",
			Help:      "The total number of HTTP response body bytes sent to clients.",
		}, routeLabelNames),
		downstreamConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "downstream_connections_total",
			Help:      "The total number of downstream connections accepted.",
		}, connLabelNames),
		downstreamActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "downstream_connections_active",
			Help:      "The number of downstream connections currently open.",
		}, connLabelNames),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "config_reloads_total",
			Help:      "The total number of configuration reload attempts, by result.",
		}, []string{"result"}),
		lastReloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "config_last_reload_success_timestamp_seconds",
			Help:      "Unix time of the last successful configuration load.",
		}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "config_last_reload_successful",
			Help:      "Whether the last configuration reload attempt succeeded (1) or failed (0).",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "build_info",
			Help:      "Build information about the gateway binary; the value is always 1.",
		}, []string{"version", "revision", "goversion"}),
	}
	reg.MustRegister(m.requests, m.duration, m.retries, m.responseBytes,
		m.downstreamConns, m.downstreamActive, m.reloads, m.lastReloadSuccess,
		m.lastReloadOK, m.buildInfo)
	m.llm = newLLMMetrics(reg)
	m.mcp = newMCPMetrics(reg)
	m.extAuthz = newExtAuthzMetrics(reg)
	m.a2a = newA2AMetrics(reg)

	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // exports promhttp_metric_handler_errors_total
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	m.reloadOK = m.reloads.WithLabelValues("success")
	m.reloadFailed = m.reloads.WithLabelValues("failure")
	m.buildInfo.WithLabelValues(orUnknown(o.Version), orUnknown(o.Revision), runtime.Version()).Set(1)
	return m
}

// Registry returns the dedicated registry, for tests and for registering
// collectors owned by other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler { return m.handler }

// ConfigReload records one configuration (re)load attempt.
func (m *Metrics) ConfigReload(ok bool) {
	if ok {
		m.reloadOK.Inc()
		m.lastReloadOK.Set(1)
		m.lastReloadSuccess.Set(float64(time.Now().UnixNano()) / 1e9)
		return
	}
	m.reloadFailed.Inc()
	m.lastReloadOK.Set(0)
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

// ---- connections ----

// ConnLabels identify a listener for connection metrics.
type ConnLabels struct {
	Bind     string // "bind/3000"
	Gateway  string
	Listener string
	Protocol string // "HTTP", "HTTPS", "TCP", ...
}

// ConnMetrics is a pre-resolved handle for one listener's connection
// metrics. Create it once per listener; Open and Close do not allocate.
type ConnMetrics struct {
	total  prometheus.Counter
	active prometheus.Gauge
}

// Conns returns the connection-metric handle for a listener.
func (m *Metrics) Conns(l ConnLabels) *ConnMetrics {
	v := []string{orUnknown(l.Bind), orUnknown(l.Gateway), orUnknown(l.Listener), orUnknown(l.Protocol)}
	return &ConnMetrics{
		total:  m.downstreamConns.WithLabelValues(v...),
		active: m.downstreamActive.WithLabelValues(v...),
	}
}

// Open records an accepted connection.
func (c *ConnMetrics) Open() {
	c.total.Inc()
	c.active.Inc()
}

// Close records a closed connection.
func (c *ConnMetrics) Close() { c.active.Dec() }

// ConnHook returns an http.Server ConnState observer for the data plane's
// per-port servers (listen.ConnHook): a new connection on port counts in
// downstream_connections_total and _active with bind and gateway
// "bind/PORT", listener "unknown" (a port's listener is chosen per
// request) and protocol "HTTP"; a closed or hijacked one leaves _active.
func (m *Metrics) ConnHook() func(port int, state http.ConnState) {
	return func(port int, state http.ConnState) {
		switch state {
		case http.StateNew:
			m.portConn(port).Open()
		case http.StateClosed, http.StateHijacked:
			m.portConn(port).Close()
		}
	}
}

func (m *Metrics) portConn(port int) *ConnMetrics {
	if p := m.portConns.Load(); p != nil {
		if c, ok := (*p)[port]; ok {
			return c
		}
	}
	m.portMu.Lock()
	defer m.portMu.Unlock()
	var old map[int]*ConnMetrics
	if p := m.portConns.Load(); p != nil {
		old = *p
		if c, ok := old[port]; ok {
			return c
		}
	}
	bind := "bind/" + strconv.Itoa(port)
	c := m.Conns(ConnLabels{Bind: bind, Gateway: bind, Protocol: "HTTP"})
	next := make(map[int]*ConnMetrics, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[port] = c
	m.portConns.Store(&next)
	return c
}

// ---- requests ----

// RouteLabels identify the series a route's requests are counted in. Empty
// values are exported as "unknown", as agentgateway does.
type RouteLabels struct {
	Bind     string // "bind/3000"
	Gateway  string
	Listener string
	Route    string
	Backend  string
	Protocol string // "http", "llm", "mcp", "a2a", ...
}

// Reason says who produced the response; it is the `reason` label.
type Reason uint8

// Reasons. Keep the set small: it multiplies the number of series.
const (
	ReasonUpstream        Reason = iota // the backend answered
	ReasonDirectResponse                // a policy or route answered (direct response, redirect, CORS preflight)
	ReasonNotFound                      // no route matched
	ReasonNoBackend                     // no healthy backend or endpoint
	ReasonUpstreamFailure               // connect error, reset, bad response from upstream
	ReasonTimeout                       // a request or upstream timeout fired
	ReasonUnauthorized                  // authentication or authorization denied the request
	ReasonRateLimit                     // a rate limit rejected the request
	ReasonInvalidRequest                // the request was malformed or too large
	ReasonInternal                      // the gateway itself failed
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonUpstream:        "Upstream",
	ReasonDirectResponse:  "DirectResponse",
	ReasonNotFound:        "NotFound",
	ReasonNoBackend:       "NoHealthyBackend",
	ReasonUpstreamFailure: "UpstreamFailure",
	ReasonTimeout:         "Timeout",
	ReasonUnauthorized:    "Unauthorized",
	ReasonRateLimit:       "RateLimit",
	ReasonInvalidRequest:  "InvalidRequest",
	ReasonInternal:        "Internal",
}

// String returns the label value.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return unknown
}

// Methods known to the `method` label; anything else is "OTHER".
var methodNames = [...]string{
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "OTHER",
}

const methodOther = uint8(len(methodNames) - 1)

// methodIndex maps a request method to its index in methodNames without
// allocating.
func methodIndex(m string) uint8 {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "DELETE":
		return 4
	case "CONNECT":
		return 5
	case "OPTIONS":
		return 6
	case "TRACE":
		return 7
	case "PATCH":
		return 8
	}
	return methodOther
}

// NormalizeMethod returns the `method` label value for a request method.
func NormalizeMethod(m string) string { return methodNames[methodIndex(m)] }

// statusLabel returns the `status` label for a status code: the code for a
// valid one, "unknown" otherwise.
func statusLabel(code uint16) string {
	if code == 0 {
		return unknown
	}
	return strconv.Itoa(int(code))
}

func statusKey(status int) uint16 {
	if status < 100 || status > 599 {
		return 0
	}
	return uint16(status)
}

type childKey struct {
	method uint8
	reason Reason
	status uint16
}

type child struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

// RouteMetrics is a pre-resolved handle on one route's series. The compiler
// creates it once per route (and one per listener for requests that match
// no route); it is safe for concurrent use.
type RouteMetrics struct {
	m      *Metrics
	labels [6]string

	retries       prometheus.Counter
	responseBytes prometheus.Counter

	children atomic.Pointer[map[childKey]*child] // copy-on-write
	mu       sync.Mutex                          // serialises writers of children
}

// Route returns the handle for a route's series. Calling it twice with the
// same labels returns handles sharing the same series.
func (m *Metrics) Route(l RouteLabels) *RouteMetrics {
	rm := &RouteMetrics{m: m, labels: [6]string{
		orUnknown(l.Bind), orUnknown(l.Gateway), orUnknown(l.Listener),
		orUnknown(l.Route), orUnknown(l.Backend), orUnknown(l.Protocol),
	}}
	rm.retries = m.retries.WithLabelValues(rm.labels[:]...)
	rm.responseBytes = m.responseBytes.WithLabelValues(rm.labels[:]...)
	empty := map[childKey]*child{}
	rm.children.Store(&empty)
	return rm
}

// Observe records one finished request: requests_total and
// request_duration_seconds. method is the request method (normalised
// here), status the response status code (0 if none was sent).
func (rm *RouteMetrics) Observe(method string, status int, reason Reason, d time.Duration) {
	if reason >= numReasons {
		reason = ReasonInternal
	}
	k := childKey{method: methodIndex(method), reason: reason, status: statusKey(status)}
	c, ok := (*rm.children.Load())[k]
	if !ok {
		c = rm.resolve(k)
	}
	c.count.Inc()
	c.dur.Observe(d.Seconds())
}

// ObserveInfo records a finished request from its Info: Observe with
// info.Status and the time since info.Start, plus info.Retries.
func (rm *RouteMetrics) ObserveInfo(method string, info *pipeline.Info, reason Reason) {
	rm.Observe(method, info.Status, reason, time.Since(info.Start))
	rm.AddRetries(info.Retries)
}

// resolve creates the child series for k, once.
func (rm *RouteMetrics) resolve(k childKey) *child {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	old := *rm.children.Load()
	if c, ok := old[k]; ok {
		return c
	}
	lv := make([]string, 0, len(requestLabelNames))
	lv = append(lv, rm.labels[:]...)
	lv = append(lv, methodNames[k.method], statusLabel(k.status), k.reason.String())
	c := &child{
		count: rm.m.requests.WithLabelValues(lv...),
		dur:   rm.m.duration.WithLabelValues(lv...),
	}
	next := make(map[childKey]*child, len(old)+1)
	for kk, vv := range old {
		next[kk] = vv
	}
	next[k] = c
	rm.children.Store(&next)
	return c
}

// AddRetries records n upstream retries.
func (rm *RouteMetrics) AddRetries(n int) {
	if n > 0 {
		rm.retries.Add(float64(n))
	}
}

// AddResponseBytes records n response body bytes sent to the client.
func (rm *RouteMetrics) AddResponseBytes(n int64) {
	if n > 0 {
		rm.responseBytes.Add(float64(n))
	}
}

// ---- LLM (gen_ai) ----

// TokenBuckets are the token-usage histogram buckets (OpenTelemetry's
// advice for gen_ai.client.token.usage).
var TokenBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}

// TTFTBuckets are the time-to-first-token buckets, in seconds
// (OpenTelemetry's advice for gen_ai.server.time_to_first_token).
var TTFTBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// TPOTBuckets are the time-per-output-token buckets, in seconds
// (OpenTelemetry's advice for gen_ai.server.time_per_output_token).
var TPOTBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5}

var genAILabelNames = []string{"gen_ai_operation_name", "gen_ai_system", "gen_ai_request_model", "gen_ai_response_model"}

// LLMMetrics are the LLM gateway's gen_ai_* series, with agentgateway's
// names and OpenTelemetry's gen_ai label names.
type LLMMetrics struct {
	tokens   *prometheus.HistogramVec // + gen_ai_token_type
	ttft     *prometheus.HistogramVec
	tpot     *prometheus.HistogramVec
	duration *prometheus.HistogramVec

	children atomic.Pointer[map[GenAILabels]*genAIChild] // copy-on-write cache of resolved series
	mu       sync.Mutex                                  // serialises writers of children
}

func newLLMMetrics(reg *prometheus.Registry) *LLMMetrics {
	l := &LLMMetrics{
		tokens: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "gen_ai_client_token_usage",
			Help:      "Number of tokens used per LLM request, by token type (input, output).",
			Buckets:   TokenBuckets,
		}, append([]string{"gen_ai_token_type"}, genAILabelNames...)),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "gen_ai_server_time_to_first_token",
			Help:      "Time from the request to the first streamed output token, in seconds.",
			Buckets:   TTFTBuckets,
		}, genAILabelNames),
		tpot: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "gen_ai_server_time_per_output_token",
			Help:      "Time per output token after the first one of a streamed answer, in seconds.",
			Buckets:   TPOTBuckets,
		}, genAILabelNames),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "gen_ai_server_request_duration",
			Help:      "Duration of LLM requests, from the request to the end of the answer, in seconds.",
			Buckets:   DurationBuckets,
		}, genAILabelNames),
	}
	reg.MustRegister(l.tokens, l.ttft, l.tpot, l.duration)
	return l
}

// LLM returns the LLM gateway's metrics.
func (m *Metrics) LLM() *LLMMetrics { return m.llm }

// GenAILabels identify one LLM call.
type GenAILabels struct {
	Operation     string // "chat", "embeddings", …
	System        string // provider: "openai", "anthropic", …
	RequestModel  string
	ResponseModel string
}

func (g GenAILabels) values() []string {
	return []string{orUnknown(g.Operation), orUnknown(g.System), orUnknown(g.RequestModel), orUnknown(g.ResponseModel)}
}

// ObserveCall records one finished LLM call: token usage (input and
// output; negative counts are not recorded), its duration, and for
// streams the time to the first token and per output token (zero
// durations are not recorded).
func (l *LLMMetrics) ObserveCall(g GenAILabels, input, output int, total, ttft, tpot time.Duration) {
	if l == nil {
		return
	}
	c := l.child(g)
	if input >= 0 {
		c.observer(genAIInput, l, g).Observe(float64(input))
	}
	if output >= 0 {
		c.observer(genAIOutput, l, g).Observe(float64(output))
	}
	if total > 0 {
		c.observer(genAIDuration, l, g).Observe(total.Seconds())
	}
	if ttft > 0 {
		c.observer(genAITTFT, l, g).Observe(ttft.Seconds())
	}
	if tpot > 0 {
		c.observer(genAITPOT, l, g).Observe(tpot.Seconds())
	}
}

// The series of one GenAILabels, resolved on first use (a series is
// created only when it is observed, as WithLabelValues would).
const (
	genAIInput = iota
	genAIOutput
	genAIDuration
	genAITTFT
	genAITPOT
	numGenAISeries
)

// maxGenAIChildren bounds the cache of resolved label sets; the request
// model is the client's, so past this many distinct label sets calls
// resolve their series on every call instead of growing the cache.
const maxGenAIChildren = 4096

type observerBox struct{ o prometheus.Observer }

type genAIChild struct {
	obs [numGenAISeries]atomic.Pointer[observerBox]
}

// observer returns series i of c, resolving it once.
func (c *genAIChild) observer(i int, l *LLMMetrics, g GenAILabels) prometheus.Observer {
	if b := c.obs[i].Load(); b != nil {
		return b.o
	}
	b := &observerBox{o: l.resolve(i, g)}
	c.obs[i].Store(b) // a racing resolve stores the same series
	return b.o
}

func (l *LLMMetrics) resolve(i int, g GenAILabels) prometheus.Observer {
	v := g.values()
	switch i {
	case genAIInput:
		return l.tokens.WithLabelValues(append([]string{"input"}, v...)...)
	case genAIOutput:
		return l.tokens.WithLabelValues(append([]string{"output"}, v...)...)
	case genAIDuration:
		return l.duration.WithLabelValues(v...)
	case genAITTFT:
		return l.ttft.WithLabelValues(v...)
	default:
		return l.tpot.WithLabelValues(v...)
	}
}

// child returns the cached series of g (copy-on-write map: lookups take
// no lock), or a fresh uncached one once the cache is full.
func (l *LLMMetrics) child(g GenAILabels) *genAIChild {
	if m := l.children.Load(); m != nil {
		if c, ok := (*m)[g]; ok {
			return c
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var old map[GenAILabels]*genAIChild
	if m := l.children.Load(); m != nil {
		old = *m
	}
	if c, ok := old[g]; ok {
		return c
	}
	c := &genAIChild{}
	if len(old) >= maxGenAIChildren {
		return c
	}
	next := make(map[GenAILabels]*genAIChild, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[g] = c
	l.children.Store(&next)
	return c
}

// MCPMetrics counts MCP requests (agentgateway's mcp_requests metric):
// agentgateway_mcp_requests_total{method, server, resource}, where server
// is the target that served the request and resource the tool, prompt or
// resource (a URI cut to scheme://host). Failed requests are also counted
// in agentgateway_mcp_request_errors_total with the same labels.
type MCPMetrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

// MCP returns the MCP metrics.
func (m *Metrics) MCP() *MCPMetrics { return m.mcp }

func newMCPMetrics(reg *prometheus.Registry) *MCPMetrics {
	labels := []string{"method", "server", "resource"}
	mm := &MCPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "mcp_requests_total",
			Help:      "The total number of MCP requests sent to MCP targets, by method, target (server) and tool, prompt or resource.",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "mcp_request_errors_total",
			Help:      "The total number of MCP requests to MCP targets that failed (no answer, transport error or JSON-RPC error).",
		}, labels),
	}
	reg.MustRegister(mm.requests, mm.errors)
	return mm
}

// Request counts one MCP request.
func (mm *MCPMetrics) Request(method, server, resource string, failed bool) {
	if mm == nil {
		return
	}
	mm.requests.WithLabelValues(method, server, resource).Inc()
	if failed {
		mm.errors.WithLabelValues(method, server, resource).Inc()
	}
}

// ExtAuthzMetrics counts external authorization checks by route and result
// (allow, deny, error).
type ExtAuthzMetrics struct{ checks *prometheus.CounterVec }

// A2AMetrics counts A2A requests by route and JSON-RPC method (a known A2A
// method name, "agent_card", or "other").
type A2AMetrics struct{ requests *prometheus.CounterVec }

// ExtAuthz returns the extAuthz metrics.
func (m *Metrics) ExtAuthz() *ExtAuthzMetrics { return m.extAuthz }

func newExtAuthzMetrics(reg *prometheus.Registry) *ExtAuthzMetrics {
	em := &ExtAuthzMetrics{checks: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "ext_authz_checks_total",
		Help:      "The total number of external authorization checks, by route and result (allow, deny, error: the service could not answer).",
	}, []string{"bind", "listener", "route", "result"})}
	reg.MustRegister(em.checks)
	return em
}

// Recorder returns a function counting one check result for a route.
func (em *ExtAuthzMetrics) Recorder(bind, listener, route string) func(result string) {
	if em == nil {
		return nil
	}
	c := map[string]prometheus.Counter{}
	for _, r := range []string{"allow", "deny", "error"} {
		c[r] = em.checks.WithLabelValues(orUnknown(bind), orUnknown(listener), orUnknown(route), r)
	}
	return func(result string) {
		if x := c[result]; x != nil {
			x.Inc()
		}
	}
}

// A2A returns the A2A metrics.
func (m *Metrics) A2A() *A2AMetrics { return m.a2a }

func newA2AMetrics(reg *prometheus.Registry) *A2AMetrics {
	am := &A2AMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "a2a_requests_total",
		Help:      "The total number of A2A requests, by route and method (JSON-RPC or REST method name, agent_card, or other).",
	}, []string{"bind", "listener", "route", "method"})}
	reg.MustRegister(am.requests)
	return am
}

// Recorder returns a function counting one A2A request of a route; method
// must come from a fixed set (the caller normalises it).
func (am *A2AMetrics) Recorder(bind, listener, route string) func(method string) {
	if am == nil {
		return nil
	}
	bind, listener, route = orUnknown(bind), orUnknown(listener), orUnknown(route)
	var mu sync.Mutex
	cache := map[string]prometheus.Counter{}
	return func(method string) {
		mu.Lock()
		c := cache[method]
		if c == nil {
			c = am.requests.WithLabelValues(bind, listener, route, method)
			cache[method] = c
		}
		mu.Unlock()
		c.Inc()
	}
}
