package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func simpleRoute(port int, host string) string {
	return fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: main
      backends: [{host: %s}]
`, port, host)
}

func TestReloadAndBadReload(t *testing.T) {
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	port := freePort(t)
	g := StartGateway(t, simpleRoute(port, hostOf(a)))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	// Keep one connection open across reloads: it must keep working.
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	backendOf := func() string {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("request failed across reload: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Backend")
	}
	if got := backendOf(); got != "a" {
		t.Fatalf("before reload: %q", got)
	}

	g.WriteConfig(simpleRoute(port, hostOf(b)))
	eventually(t, "reload to backend b", func() bool { return backendOf() == "b" })

	// A bad file keeps the running config, and says so in logs, metrics and admin.
	g.WriteConfig(simpleRoute(port, hostOf(b)) + "    bogusKey: 1\n")
	g.WaitLog("config reload failed")
	if got := backendOf(); got != "b" {
		t.Fatalf("bad reload changed routing: %q", got)
	}
	_, metrics := get(t, "http://"+g.Stats+"/metrics")
	if !strings.Contains(metrics, `agentgateway_config_reloads_total{result="failure"} 1`) {
		t.Errorf("reload failure not counted:\n%s", grep(metrics, "reload"))
	}
	_, dump := get(t, "http://"+g.Admin+"/config_dump")
	var d struct {
		LastReload struct {
			Success bool
			Error   string
		} `json:"lastReload"`
	}
	if err := json.Unmarshal([]byte(dump), &d); err != nil {
		t.Fatal(err)
	}
	if d.LastReload.Success || !strings.Contains(d.LastReload.Error, "bogusKey") {
		t.Errorf("admin does not show the failed reload: %+v", d.LastReload)
	}

	// A new port opens on reload; the old one closes.
	port2 := freePort(t)
	g.WriteConfig(simpleRoute(port2, hostOf(a)))
	eventually(t, "new port serving", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port2))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.Header.Get("X-Backend") == "a"
	})
	eventually(t, "old port closed", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsReadinessAndDump(t *testing.T) {
	a := echoBackend(t, "a")
	port := freePort(t)
	g := StartGateway(t, simpleRoute(port, hostOf(a)))
	for i := 0; i < 3; i++ {
		get(t, fmt.Sprintf("http://127.0.0.1:%d/x", port))
	}
	resp, body := get(t, "http://"+g.Readiness+"/healthz/ready")
	if resp.StatusCode != 200 {
		t.Fatalf("readiness %d %q", resp.StatusCode, body)
	}
	_, m := get(t, "http://"+g.Stats+"/metrics")
	want := fmt.Sprintf(`agentgateway_requests_total{backend=%q,bind="bind/%d"`, hostOf(a), port)
	line := grep(m, want)
	if !strings.Contains(line, `method="GET"`) || !strings.Contains(line, `route="main"`) || !strings.Contains(line, `status="200"`) || !strings.HasSuffix(line, " 3") {
		t.Errorf("requests_total line %q not found or wrong in:\n%s", want, grep(m, "agentgateway_requests_total"))
	}
	for _, name := range []string{
		"agentgateway_request_duration_seconds_bucket",
		"agentgateway_downstream_connections_total",
		"agentgateway_config_last_reload_success_timestamp_seconds",
		"agentgateway_build_info",
	} {
		if !strings.Contains(m, name) {
			t.Errorf("metric %s missing", name)
		}
	}
	_, dump := get(t, "http://"+g.Admin+"/config_dump")
	var d map[string]any
	if err := json.Unmarshal([]byte(dump), &d); err != nil {
		t.Fatalf("config_dump is not JSON: %v", err)
	}
	if !strings.Contains(dump, hostOf(a)) || d["config"] == nil || d["snapshot"] == nil {
		t.Errorf("config_dump lacks config or snapshot: %s", dump)
	}
}

func TestAccessLog(t *testing.T) {
	a := echoBackend(t, "a")
	port := freePort(t)
	g := StartGateway(t, simpleRoute(port, hostOf(a)), "  logging:\n    format: json\n")
	get(t, fmt.Sprintf("http://127.0.0.1:%d/logged?q=1", port))
	g.WaitLog(`"http.path":"/logged"`)
	for _, l := range strings.Split(g.Logs(), "\n") {
		if !strings.Contains(l, `"http.path":"/logged"`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("access log line is not JSON: %q", l)
		}
		for k, want := range map[string]any{
			"gateway": fmt.Sprintf("bind/%d", port), "route": "main", "endpoint": hostOf(a),
			"http.method": "GET", "http.status": float64(200),
		} {
			if m[k] != want {
				t.Errorf("%s = %v, want %v (line %s)", k, m[k], want, l)
			}
		}
		if _, ok := m["duration"]; !ok {
			t.Errorf("no duration in %s", l)
		}
	}
}

func TestGracefulDrainOnSIGTERM(t *testing.T) {
	started := make(chan struct{})
	slow := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(700 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})
	port := freePort(t)
	g := StartGateway(t, simpleRoute(port, hostOf(slow)))
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-started
	g.Signal(syscall.SIGTERM)
	select {
	case got := <-result:
		if got != "finished" {
			t.Fatalf("in-flight request was cut: %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never completed")
	}
	if code := g.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

func TestStreamingPassesThroughAsItArrives(t *testing.T) {
	release := make(chan struct{})
	sse := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: second\n\n")
	})
	port := freePort(t)
	StartGateway(t, simpleRoute(port, hostOf(sse)))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/events", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event not delivered before the second was written: %q %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(rd)
	if !strings.Contains(string(rest), "data: second") {
		t.Fatalf("second event missing: %q", rest)
	}
}

func TestUpstreamFailures(t *testing.T) {
	dead := freePort(t) // nothing listens here
	port := freePort(t)
	StartGateway(t, simpleRoute(port, fmt.Sprintf("127.0.0.1:%d", dead)))
	resp, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if resp.StatusCode != 502 || strings.Contains(body, "dial tcp") {
		t.Fatalf("got %d %q: want a plain 502 without Go internals", resp.StatusCode, body)
	}
}

func TestValidateOnlyAndConfigErrors(t *testing.T) {
	refs, _ := filepath.Glob("../../../shared/reference-configs/*.yaml")
	local, _ := filepath.Glob("../../internal/config/testdata/reference/*.yaml")
	refs = append(refs, local...)
	if len(refs) == 0 {
		t.Fatal("no reference configs found")
	}
	// Every config the docs show must load too.
	docs, _ := filepath.Glob("../../docs/examples/*.yaml")
	examples, _ := filepath.Glob("../../examples/*.yaml")
	if len(docs) == 0 || len(examples) == 0 {
		t.Fatal("no docs examples found")
	}
	refs = append(append(refs, docs...), examples...)
	t.Run("valid configs", func(t *testing.T) {
		for _, f := range refs {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				code, out := runBinary(t, "", []string{"OPENAI_API_KEY=sk-test"}, "--validate-only", "-f", f)
				if code != 0 {
					t.Errorf("%s: exit %d\n%s", f, code, out)
				}
			})
		}
	})

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`binds:
- port: 3000
  listeners:
  - routes:
    - matches:
      - path: {pathPrefx: /a}
      backends:
      - host: 127.0.0.1:1
        weigth: 2
`), 0o644)
	code, out := runBinary(t, "", nil, "--validate-only", "-f", bad)
	if code == 0 {
		t.Fatalf("bad config accepted:\n%s", out)
	}
	for _, want := range []string{
		"binds[0].listeners[0].routes[0].matches[0].path", "pathPrefx", `"pathPrefix"`, "line 6",
		"binds[0].listeners[0].routes[0].backends[0]", "weigth", "line 9",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("error output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
		t.Errorf("panic on bad config:\n%s", out)
	}

	code, out = runBinary(t, "", nil, "--validate-only", "-f", "/nonexistent/file.yaml")
	if code == 0 || !strings.Contains(out, "no such file") {
		t.Errorf("missing file: exit %d %s", code, out)
	}
	code, out = runBinary(t, "binds: [{port: 3000, listeners: []}]\n", nil, "--validate-only", "-f", "-")
	if code != 0 {
		t.Errorf("stdin config: exit %d %s", code, out)
	}
	code, out = runBinary(t, "", nil, "--validate-only", "-c", "binds: [{port: 70000, listeners: []}]")
	if code == 0 || !strings.Contains(out, "binds[0].port") {
		t.Errorf("inline config with bad port: exit %d %s", code, out)
	}
	code, out = runBinary(t, "", nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "agentgateway ") {
		t.Errorf("--version: %d %q", code, out)
	}
}

func TestDefaultConfig(t *testing.T) {
	// The built-in default binds :3000 and 127.0.0.1:15000; skip if a developer's gateway holds them.
	for _, p := range []string{"127.0.0.1:3000", "127.0.0.1:15000", "127.0.0.1:15020", "127.0.0.1:15021"} {
		if c, err := net.DialTimeout("tcp", p, 200*time.Millisecond); err == nil {
			c.Close()
			t.Skipf("%s is in use on this machine", p)
		}
	}
	g := &Gateway{t: t, Readiness: "127.0.0.1:15021", logs: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = execCommand(binPath)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.exitErr = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(g.Stop)
	g.WaitReady()
	first := strings.SplitN(g.Logs(), "\n", 2)[0]
	if !strings.Contains(first, "built-in default config") {
		t.Errorf("first log line does not say it runs the default config: %q", first)
	}
	resp, body := get(t, "http://127.0.0.1:3000/")
	if resp.StatusCode != 200 || !strings.Contains(body, "backend") {
		t.Errorf("default route: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, "http://127.0.0.1:15000/config_dump")
	if resp.StatusCode != 200 {
		t.Errorf("admin on 15000: %d", resp.StatusCode)
	}
}
