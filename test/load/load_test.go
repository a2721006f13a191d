package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFortio(t *testing.T) {
	js := `{"ActualQPS": 1234.5, "RetCodes": {"200": 90, "503": 10},
	  "DurationHistogram": {"Count": 100, "Percentiles": [
	    {"Percentile": 50, "Value": 0.001}, {"Percentile": 90, "Value": 0.002},
	    {"Percentile": 99, "Value": 0.003}, {"Percentile": 99.9, "Value": 0.004}]}}`
	r, err := parseFortio([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 1234.5 || r.count != 100 || r.errors != 10 || r.p50 != 0.001 || r.p99 != 0.003 || r.p999 != 0.004 {
		t.Errorf("%+v", r)
	}
	if _, err := parseFortio([]byte(`{"DurationHistogram": {"Count": 1}}`)); err == nil {
		t.Error("missing percentiles accepted")
	}
}

func TestProcSelf(t *testing.T) {
	rss, hwm, anon := procMem(os.Getpid())
	if rss <= 0 || hwm < rss || anon <= 0 || anon > rss {
		t.Errorf("rss %d hwm %d anon %d", rss, hwm, anon)
	}
	if cpu := procCPU(os.Getpid()); cpu < 0 {
		t.Errorf("cpu %v", cpu)
	}
}

func TestGatewayConfig(t *testing.T) {
	got := gatewayConfig(config{}, [7]int{1, 2, 3, 4, 5}, "127.0.0.1:9", "", [2]string{})
	want := `config:
  adminAddr: 127.0.0.1:1
  statsAddr: 127.0.0.1:2
  readinessAddr: 127.0.0.1:3
binds:
- port: 4
  listeners:
  - routes:
    - backends:
      - host: 127.0.0.1:9
`
	if got != want {
		t.Errorf("config:\n%s", got)
	}
	if !strings.Contains(gatewayConfig(config{logLevel: "warn"}, [7]int{}, "x", "", [2]string{}), "  logging:\n    level: warn\n") {
		t.Error("log level not set")
	}
}

func TestMedian(t *testing.T) {
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 2, 3}) != 2.5 || medianInt([]int64{5, 1, 9}) != 5 {
		t.Error("median")
	}
}

func TestParseTotal(t *testing.T) {
	for in, want := range map[string]float64{
		"Showing nodes accounting for 5.48s, 57.87% of 9.47s total":        9.47,
		"Showing nodes accounting for 10863898, 81.12% of 13393114 total":  13393114,
		"Showing nodes accounting for 961.75MB, 78.23% of 1229.38MB total": 1229.38 * (1 << 20),
		"nothing": 0,
	} {
		if got := parseTotal(in); got != want {
			t.Errorf("parseTotal(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCPUSnapshot(t *testing.T) {
	if machineBusy() <= 0 {
		t.Error("machineBusy")
	}
	s := takeCPUSnapshot()
	if o := s.otherCores(nil); o < 0 {
		t.Errorf("otherCores %v", o)
	}
}

func TestGatewayConfigLLM(t *testing.T) {
	got := gatewayConfig(config{}, [7]int{1, 2, 3, 4, 5}, "127.0.0.1:9", "127.0.0.1:8", [2]string{})
	if !strings.Contains(got, "llm:\n  port: 5\n  models:\n  - name: bench-model\n    provider: openAI\n    params: {model: bench-model, baseUrl: \"http://127.0.0.1:8/v1\", apiKey: bench-key}\n") {
		t.Errorf("config:\n%s", got)
	}
}

func TestScenarios(t *testing.T) {
	s := scenarios(3000, []int{1000}, []string{"http", "stream"})
	if len(s) != 4 || s[0].qps != 0 || s[1].qps != 3000 || s[2].kind != kindStream || s[2].payload != streamRequest {
		t.Errorf("%+v", s)
	}
	if len(llmRequest) < 900 || len(llmRequest) > 1200 || len(llmCompletion) < 900 || len(llmCompletion) > 1200 {
		t.Errorf("LLM bodies: request %d, completion %d bytes; want about 1 KiB", len(llmRequest), len(llmCompletion))
	}
}

func TestPercentiles(t *testing.T) {
	d := make([]time.Duration, 1000)
	for i := range d {
		d[i] = time.Duration(1000-i) * time.Millisecond
	}
	p := percentiles(d)
	if p.P50 != 0.501 || p.P99 != 0.991 || p.P999 != 1.0 {
		t.Errorf("%+v", p)
	}
}

func TestScaleConfig(t *testing.T) {
	got := scaleConfig(4, [3]int{1, 2, 3}, "127.0.0.1:9")
	for _, want := range []string{"- name: r3\n", "hostnames: [svc0.example.com]", "method: POST", "{exact: /exact/2}", "backends: [{host: 127.0.0.1:9}]"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestNginxConfig(t *testing.T) {
	got := nginxConfig("/tmp/x", 2, 8080, "127.0.0.1:9", "127.0.0.1:8")
	for _, want := range []string{"worker_processes 2;", "listen 127.0.0.1:8080;", "server 127.0.0.1:9; keepalive 256;", "buffer=64k flush=100ms", "proxy_buffering off"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestScenariosMCP(t *testing.T) {
	s := scenarios(3000, []int{1000, 300}, []string{"mcp"})
	if len(s) != 7 || s[0].qps != 0 || s[1].qps != 1000 || s[2].qps != 300 || s[0].kind != kindMCP || s[0].path != mcpPath ||
		s[3].payload != mcpListRequest || s[3].qps != 0 {
		t.Fatalf("%+v", s)
	}
	for i, q := range []int{0, 1000, 300} {
		if x := s[4+i]; x.kind != kindMCPSession || x.qps != q || x.path != mcpPath || x.payload != "" {
			t.Errorf("stateful row %d: %+v", i, x)
		}
	}
	if s[0].payload != mcpCallRequest || !slices.Contains(s[0].headers, "MCP-Protocol-Version: 2025-11-25") ||
		!slices.Contains(s[0].headers, "Accept: application/json, text/event-stream") {
		t.Errorf("%+v", s[0])
	}
	var m map[string]any
	for _, b := range []string{mcpCallRequest, mcpListRequest, mcpInitRequest, mcpInitializedNotification} {
		if err := json.Unmarshal([]byte(b), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Errorf("%s: %v", b, err)
		}
	}
}

func TestGatewayConfigMCP(t *testing.T) {
	got := gatewayConfig(config{}, [7]int{1, 2, 3, 4, 5, 6, 7}, "127.0.0.1:9", "", [2]string{"127.0.0.1:8", "127.0.0.1:7"})
	for _, want := range []string{
		"- port: 6\n  listeners:\n  - routes:\n    - backends:\n      - mcp:\n          statefulMode: stateless\n          targets:\n          - name: everything\n            mcp: {host: \"http://127.0.0.1:8/mcp\"}\n",
		"- port: 7\n  listeners:\n  - routes:\n    - backends:\n      - mcp:\n          statefulMode: stateful\n          targets:\n          - name: everything\n            mcp: {host: \"http://127.0.0.1:7/mcp\"}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestSummarizeInit(t *testing.T) {
	w := summarizeInit([]initResult{
		{n: 200, p50: 0.001, p99: 0.004, max: 0.005, hasProc: true, cpuSeconds: 0.1},
		{n: 200, p50: 0.003, p99: 0.002, max: 0.009, hasProc: true, cpuSeconds: 0.3},
		{n: 200, p50: 0.002, p99: 0.003, max: 0.001, hasProc: true, cpuSeconds: 0.2},
	})
	if w.runs != 3 || w.p50 != 0.002 || w.p99 != 0.003 || w.max != 0.009 || !w.hasProc || w.cpuPerInitUsec < 999 || w.cpuPerInitUsec > 1001 {
		t.Errorf("%+v", w)
	}
	var b strings.Builder
	renderInit(&b, map[string][]initResult{pathDirect: {{n: 200, p50: 0.0005, p99: 0.001}}, pathGateway: {{n: 200, p50: 0.0015, p99: 0.003, hasProc: true, cpuSeconds: 0.2}}})
	if !strings.Contains(b.String(), "| gateway | 1 | 1.50 ms | 3.00 ms |") || !strings.Contains(b.String(), "1.00 ms / 2.00 ms | 1000 |") {
		t.Errorf("%s", b.String())
	}
}

func TestParseStreamWhole(t *testing.T) {
	js := `{"ActualQPS":300,"Count":1500,"Errors":2,"TTFB":{"P50":0.0001,"P99":0.0002,"P999":0.0003},"Total":{"P50":0.0004,"P99":0.0005,"P999":0.0006}}`
	r, err := parseStream([]byte(js), false)
	if err != nil || r.p50 != 0.0001 || r.p99 != 0.0002 || r.p999 != 0.0003 || r.totalP50 != 0.0004 || r.count != 1500 || r.errors != 2 {
		t.Fatalf("first byte: %+v %v", r, err)
	}
	r, err = parseStream([]byte(js), true)
	if err != nil || r.p50 != 0.0004 || r.p99 != 0.0005 || r.p999 != 0.0006 || r.rps != 300 {
		t.Fatalf("whole answer: %+v %v", r, err)
	}
	if _, err := parseStream([]byte("{"), true); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func TestInstalledCopiesOnce(t *testing.T) {
	src := filepath.Join(t.TempDir(), "gw")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := installed(src)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := installed(src)
	got, _ := os.ReadFile(a)
	fi, _ := os.Stat(a)
	if a != b || a == src || string(got) != "#!/bin/sh\necho hi\n" || fi.Mode()&0o100 == 0 {
		t.Fatalf("copy %q (again %q) of %q: %q %v", a, b, src, got, fi.Mode())
	}
	removeInstalled()
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Fatalf("copy left behind: %v", err)
	}
	if _, err := installed(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing binary was copied")
	}
}
