// Command load measures what the gateway adds on top of a direct
// connection to the same upstream, next to nginx as a reference reverse
// proxy, on loopback, and writes a Markdown report.
//
// It starts, all on 127.0.0.1 (every upstream in its own process: this
// binary re-run with -serve-backend / -serve-llm, so each has its own CPU
// accounting):
//
//  1. a fast HTTP backend answering every GET with a 1 KiB body;
//  2. an OpenAI-compatible mock (backends.go) answering a ~1 KiB chat
//     completion, or, for "stream": true, a stream of SSE chunks each
//     flushed on its own (-stream-gap between content chunks);
//  3. the gateway binary (-gateway, default ./bin/agentgateway) with a
//     generated config: admin, stats and readiness on free loopback ports,
//     one bind with one route to the backend, and an `llm:` shorthand
//     (one OpenAI model whose baseUrl is the mock); waits for
//     GET /healthz/ready = 200;
//  4. nginx (-nginx; Debian's nginx-light, installed with apt-get when
//     missing and root) configured as an equivalent reverse proxy to both
//     upstreams (nginx.go): keep-alive both ways, access log on and
//     buffered, -nginx-workers workers;
//  5. the load: fortio (-fortio, else .cache/bin/fortio, else PATH, else
//     `GOBIN=$PWD/.cache/bin go install fortio.org/fortio@v1.66.5`) for
//     the HTTP and LLM scenarios, `fortio load -c 32 -t 10s -qps Q
//     [-uniform] -json out.json URL`, and for the streaming scenario the
//     harness's own client (stream.go, also its own process) which times
//     the first body byte (the first SSE event) and the whole stream.
//
// Scenarios (-scenarios, default all): http (GET 1 KiB), llm (POST a
// 1 KiB chat completion, non-streaming), stream (the same, streaming),
// each at max throughput (-qps 0) and at a fixed rate (-qps, 3000; fortio
// -uniform spreads the requests evenly over the connections); mcp (a
// stateless JSON-RPC tools/call to the go-sdk's everything-server, at max
// throughput and at -mcp-qps, plus a stateful session-initialize loop;
// mcp.go; not on the nginx path). Each
// scenario runs on each path (-paths: direct, nginx, gateway), -runs
// times, interleaved (run 1 of every scenario and path, then run 2, …)
// so drift hits every path alike.
//
// While a proxy runs it samples its RSS (VmRSS every 200 ms; the peak is
// VmHWM after resetting it through /proc/PID/clear_refs at the start of
// each run; nginx: master plus workers) and CPU (utime+stime), and it
// measures how much CPU other processes took (machine busy time from
// /proc/stat minus the load tool, upstreams, proxies and the harness): on
// a small machine a busy neighbour changes the results, and the report
// says so. The report has, per scenario and path: rps median (min–max),
// p50, p99, p99.9 (medians over runs; TTFB for the streaming scenario),
// the ratios to direct and to nginx, the added latency, RSS steady /
// peak and CPU per 10k requests of the proxy; plus a header describing
// the machine.
//
// -route-scale N (default 5000; 0 skips it) also times `--validate-only`
// and start-to-ready of a gateway config with N routes (scale.go).
// -soak D replaces the table by one fixed-rate run of length D through the
// gateway, sampling RSS every second (soak.go). -profile DIR adds one extra
// max-throughput gateway run with CPU, allocs and heap profiles from the
// admin API's /debug/pprof (profile.go).
//
// Usage (from the repository root; `make load` does the first two lines
// with the defaults):
//
//	go build -o bin/agentgateway ./cmd/agentgateway
//	go run ./test/load -gateway ./bin/agentgateway -out docs/performance-latest.md
//	go run ./test/load -runs 1 -duration 5s -scenarios http -out -   # quick look
//	go run ./test/load -profile .cache/load-profile -out /tmp/p.md   # table + profiles
//	go run ./test/load -soak 10m -out /tmp/soak.md                   # RSS over 10 minutes
//
// With -gateway backend no gateway is started: the "gateway" path is the
// upstream again, which checks the harness itself. Everything is bounded
// in time: each load run by its duration + 30 s, the whole run by -timeout
// (default: every run plus 10 s of slack each, plus two minutes);
// installing fortio or nginx, once, has its own 5-minute limit. Every
// child process is killed on exit, also on SIGINT/SIGTERM.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// scenario is one kind of traffic.
type scenario struct {
	name    string
	kind    string   // kindHTTP, kindLLM, kindStream, kindMCP
	path    string   // request path
	payload string   // POST body ("" = GET)
	headers []string // extra request headers, "Key: value"
	qps     int      // 0 = as fast as possible
}

const (
	kindHTTP   = "http"
	kindLLM    = "llm"
	kindStream = "stream"
	kindMCP    = "mcp"
	// kindMCPSession is tools/call in stateful sessions (mcpsession.go),
	// run with the mcp kind.
	kindMCPSession = "mcp-session"
)

// allKinds are the scenario kinds, in the report's order.
var allKinds = []string{kindHTTP, kindLLM, kindStream, kindMCP}

// scenarios lists the scenarios of kinds: each at max throughput and at
// fixedQPS; MCP at mcpQPS instead (the everything-server, stateless, does
// not sustain 3,000 tools/call per second on a 2-core machine).
func scenarios(fixedQPS int, mcpQPS []int, kinds []string) []scenario {
	var out []scenario
	add := func(kind, name, path, payload string, headers ...string) {
		if !slices.Contains(kinds, kind) {
			return
		}
		out = append(out,
			scenario{name: name + ", max throughput", kind: kind, path: path, payload: payload, headers: headers},
			scenario{name: fmt.Sprintf("%s, %d rps", name, fixedQPS), kind: kind, path: path, payload: payload, headers: headers, qps: fixedQPS})
	}
	add(kindHTTP, "http GET 1 KiB", "/", "")
	add(kindLLM, "LLM chat 1 KiB", "/v1/chat/completions", llmRequest)
	add(kindStream, "LLM chat streaming (TTFB)", "/v1/chat/completions", streamRequest)
	// MCP tools/call, stateless on both sides (mcp.go); the session
	// initialize loop is not a fortio scenario: see mcpInitLoop.
	if slices.Contains(kinds, kindMCP) {
		const name = "MCP tools/call (stateless)"
		out = append(out, scenario{name: name + ", max throughput", kind: kindMCP, path: mcpPath, payload: mcpCallRequest, headers: mcpHeaders})
		for _, q := range mcpQPS {
			out = append(out, scenario{name: fmt.Sprintf("%s, %d rps", name, q), kind: kindMCP, path: mcpPath, payload: mcpCallRequest, headers: mcpHeaders, qps: q})
		}
		// tools/list, what every agent asks first: on the gateway, a
		// fan-out to the targets' pooled sessions.
		out = append(out, scenario{name: "MCP tools/list (stateless), max throughput", kind: kindMCP, path: mcpPath, payload: mcpListRequest, headers: mcpHeaders})
		// tools/call in stateful sessions, one per connection: agentgateway's
		// default mode, through the go-sdk's server and client.
		const sname = "MCP tools/call (stateful sessions)"
		out = append(out, scenario{name: sname + ", max throughput", kind: kindMCPSession, path: mcpPath})
		for _, q := range mcpQPS {
			out = append(out, scenario{name: fmt.Sprintf("%s, %d rps", sname, q), kind: kindMCPSession, path: mcpPath, qps: q})
		}
	}
	return out
}

const (
	pathDirect  = "direct"
	pathNginx   = "nginx"
	pathGateway = "gateway"
	// pathBaseline is a second gateway binary (-baseline), run in the same
	// session and interleaved with the others: an A/B of two builds.
	pathBaseline = "baseline"
)

// allPaths is the report's row order.
var allPaths = []string{pathDirect, pathNginx, pathBaseline, pathGateway}

type config struct {
	gateway      string
	gatewayFlag  string
	fortio       string
	nginx        string
	nginxWorkers int
	duration     time.Duration
	runs         int
	conns        int
	fixedQPS     int
	uniform      bool
	out          string
	logLevel     string
	timeout      time.Duration
	profile      string        // directory for the profile run's files; "" = no profile run
	profileTime  time.Duration // CPU / allocs profile length
	waitIdle     time.Duration // before each run, wait up to this long for other processes to go quiet
	kinds        []string
	paths        []string
	streamGap    time.Duration
	routeScale   int
	soak         time.Duration
	gatewayEnv   []string
	baseline     string
	mcpServer    string // the everything-server binary (kindMCP only)
	mcpQPS       []int  // fixed rates of the MCP tools/call scenario
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "stream-load" {
		streamLoadMain(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "mcp-session-load" {
		mcpSessionLoadMain(os.Args[2:])
		return
	}
	var c config
	serveHTTP := flag.String("serve-backend", "", "internal: serve the HTTP test backend on this address and print it")
	serveLLMAddr := flag.String("serve-llm", "", "internal: serve the OpenAI-compatible mock on this address and print it")
	scen := flag.String("scenarios", "http,llm,stream,mcp", "scenario kinds to run: http, llm, stream, mcp")
	paths := flag.String("paths", "direct,nginx,gateway", "paths to measure: direct, nginx, gateway")
	flag.StringVar(&c.gateway, "gateway", "./bin/agentgateway", "gateway binary, or \"backend\" to test the harness without a gateway")
	flag.StringVar(&c.baseline, "baseline", "", "a second gateway binary measured as path \"baseline\" in the same run (A/B of two builds)")
	flag.StringVar(&c.gatewayFlag, "gateway-config-flag", "-f", "the gateway's flag naming its config file")
	mcpQPS := flag.String("mcp-qps", "1000,300", "fixed rates of the MCP tools/call scenario (comma-separated)")
	flag.StringVar(&c.mcpServer, "mcp-server", "", "MCP upstream for -scenarios mcp: the go-sdk conformance everything-server (default: .cache/bin/mcp-everything, else built there)")
	flag.StringVar(&c.fortio, "fortio", "", "fortio binary (default: .cache/bin/fortio, PATH, else go install)")
	flag.StringVar(&c.nginx, "nginx", "", "nginx binary (default: PATH or /usr/sbin/nginx, else apt-get install nginx-light when root); \"none\" leaves nginx out")
	flag.IntVar(&c.nginxWorkers, "nginx-workers", 2, "nginx worker_processes")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of one load run")
	flag.IntVar(&c.runs, "runs", 3, "runs per scenario and path")
	flag.IntVar(&c.conns, "c", 32, "connections")
	flag.IntVar(&c.fixedQPS, "qps", 3000, "rate of the fixed-rate scenarios")
	flag.BoolVar(&c.uniform, "uniform", true, "fixed-rate scenarios: spread requests evenly over the connections (fortio -uniform); false = all connections fire together every 1/(qps/c) s")
	flag.StringVar(&c.out, "out", "docs/performance-latest.md", "Markdown report path (\"-\" for stdout only)")
	flag.StringVar(&c.logLevel, "log-level", "", "if set, config.logging.level for the gateway")
	flag.DurationVar(&c.timeout, "timeout", 0, "overall deadline after the tools are found (default: computed from the runs)")
	flag.DurationVar(&c.waitIdle, "wait-idle", 0, "before each run wait up to this long until other processes use < 0.2 cores (for shared machines; adds to the default -timeout)")
	flag.StringVar(&c.profile, "profile", "", "if set, after the measured runs do one extra max-throughput gateway run (not in the table) taking CPU, allocs and heap profiles from the admin API into this directory, and add their tops to the report")
	flag.DurationVar(&c.profileTime, "profile-time", 10*time.Second, "length of the CPU and allocs profiles of -profile")
	flag.DurationVar(&c.streamGap, "stream-gap", 0, "LLM mock: pause between streamed content chunks (each chunk is written and flushed on its own either way)")
	flag.Func("gateway-env", "KEY=VALUE added to the gateway's environment only (repeatable; e.g. GOGC=200)", func(v string) error {
		if !strings.Contains(v, "=") {
			return errors.New("want KEY=VALUE")
		}
		c.gatewayEnv = append(c.gatewayEnv, v)
		return nil
	})
	flag.IntVar(&c.routeScale, "route-scale", 5000, "time --validate-only and start-to-ready of a config with this many routes (0: skip)")
	flag.DurationVar(&c.soak, "soak", 0, "instead of the table: one fixed-rate (-qps) HTTP run of this length through the gateway, RSS sampled every second")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("load: ")

	switch {
	case *serveHTTP != "":
		serveBackend(*serveHTTP)
		return
	case *serveLLMAddr != "":
		serveLLM(*serveLLMAddr, c.streamGap)
		return
	}
	c.kinds = splitList(*scen)
	for _, q := range splitList(*mcpQPS) {
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 {
			log.Fatalf("-mcp-qps: %q is not a positive rate", q)
		}
		c.mcpQPS = append(c.mcpQPS, n)
	}
	c.paths = splitList(*paths)
	for _, k := range c.kinds {
		if !slices.Contains(allKinds, k) {
			log.Fatalf("-scenarios: unknown kind %q (http, llm, stream, mcp)", k)
		}
	}
	for _, p := range c.paths {
		if p != pathDirect && p != pathNginx && p != pathGateway {
			log.Fatalf("-paths: unknown path %q (direct, nginx, gateway)", p)
		}
	}
	if c.baseline != "" {
		c.paths = append(c.paths, pathBaseline)
	}
	if c.runs < 1 || c.duration <= 0 {
		log.Fatal("-runs and -duration must be positive")
	}
	if c.profile != "" && c.profileTime < time.Second {
		log.Fatal("-profile-time must be at least 1s")
	}
	sc := scenarios(c.fixedQPS, c.mcpQPS, c.kinds)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Installing fortio or nginx (first run only) has its own 5-minute
	// limit and is not counted in -timeout.
	fortio, err := findFortio(ctx, c.fortio)
	if err != nil {
		log.Fatal(err)
	}
	if slices.Contains(c.kinds, kindMCP) && c.soak == 0 {
		if c.mcpServer, err = findMCPServer(ctx, c.mcpServer); err != nil {
			log.Fatal(err)
		}
	}
	if slices.Contains(c.paths, pathNginx) && c.soak == 0 {
		c.nginx = findNginx(ctx, c.nginx)
		if c.nginx == "" {
			c.paths = slices.DeleteFunc(c.paths, func(p string) bool { return p == pathNginx })
		}
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout(c, len(sc))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	err = run(ctx, c, sc, fortio)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (overall -timeout %s)", err, c.timeout)
		}
		stop()
		log.Fatal(err)
	}
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// defaultTimeout bounds the whole run: every load run with 10 s of slack
// (process start, JSON, sampling) and the idle wait, plus two minutes for
// starting the processes and the route-scale step, plus the profile run
// and the soak.
func defaultTimeout(c config, nScen int) time.Duration {
	t := time.Duration(c.runs*nScen*len(c.paths))*(c.duration+10*time.Second+c.waitIdle) + 2*time.Minute
	if slices.Contains(c.kinds, kindMCP) {
		t += time.Duration(c.runs*len(c.paths)) * (mcpInitTimeout + c.waitIdle)
	}
	if c.profile != "" {
		t += c.profileTime + 30*time.Second
	}
	if c.soak > 0 {
		t = c.soak + 3*time.Minute
	}
	return t
}

// target is where one path sends one kind of scenario, and which
// processes to sample while it runs (none for direct).
type target struct {
	url  string
	proc *child
	tree bool // also sample proc's children (nginx workers)
}

func run(ctx context.Context, c config, scen []scenario, fortio string) error {
	tmp, err := os.MkdirTemp("", "agentgateway-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	defer removeInstalled()

	backend, backendAddr, err := startUpstream(ctx, "-serve-backend")
	if err != nil {
		return err
	}
	defer backend.kill()
	log.Printf("backend on %s (pid %d)", backendAddr, backend.pid())
	llm, llmAddr, err := startUpstream(ctx, "-serve-llm", "-stream-gap", c.streamGap.String())
	if err != nil {
		return err
	}
	defer llm.kill()
	log.Printf("LLM mock on %s (pid %d)", llmAddr, llm.pid())
	procs := []*child{backend, llm}

	targets := map[string]map[string]target{ // path → kind → target
		pathDirect: {kindHTTP: {url: "http://" + backendAddr}, kindLLM: {url: "http://" + llmAddr}},
	}
	// initTargets: path → the stateful MCP endpoint of the initialize loop.
	initTargets := map[string]target{}
	var mcpAddrs [2]string // stateless, stateful everything-server
	if slices.Contains(c.kinds, kindMCP) && c.soak == 0 {
		for i, stateless := range []bool{true, false} {
			ms, addr, err := startMCPServer(ctx, c.mcpServer, stateless)
			if err != nil {
				return err
			}
			defer ms.kill()
			log.Printf("MCP everything-server (stateless %v) on %s (pid %d)", stateless, addr, ms.pid())
			procs = append(procs, ms)
			mcpAddrs[i] = addr
		}
		targets[pathDirect][kindMCP] = target{url: "http://" + mcpAddrs[0]}
		initTargets[pathDirect] = target{url: "http://" + mcpAddrs[1] + mcpPath}
	}
	var adminURL string
	gwDesc := "none (-gateway backend: the gateway path is the upstream itself; harness self-check)"
	if c.gateway == "backend" {
		targets[pathGateway] = map[string]target{
			kindHTTP: {url: "http://" + backendAddr, proc: backend},
			kindLLM:  {url: "http://" + llmAddr, proc: llm},
		}
		if mcpAddrs[0] != "" {
			targets[pathGateway][kindMCP] = target{url: "http://" + mcpAddrs[0], proc: procs[2]}
			initTargets[pathGateway] = target{url: "http://" + mcpAddrs[1] + mcpPath, proc: procs[3]}
		}
	} else {
		gw, urls, admin, err := startGateway(ctx, c, tmp, backendAddr, llmAddr, mcpAddrs)
		if err != nil {
			return err
		}
		defer gw.kill()
		procs = append(procs, gw)
		targets[pathGateway] = map[string]target{kindHTTP: {url: urls[0], proc: gw}, kindLLM: {url: urls[1], proc: gw}}
		if mcpAddrs[0] != "" {
			targets[pathGateway][kindMCP] = target{url: urls[2], proc: gw}
			initTargets[pathGateway] = target{url: urls[3] + mcpPath, proc: gw}
		}
		adminURL = admin
		gwDesc = c.gateway
		if len(c.gatewayEnv) > 0 {
			gwDesc = strings.Join(c.gatewayEnv, " ") + " " + gwDesc
		}
		if fi, err := os.Stat(c.gateway); err == nil {
			gwDesc += fmt.Sprintf(" (%.1f MiB)", float64(fi.Size())/(1<<20))
		}
	}
	if c.baseline != "" && c.gateway != "backend" {
		bc := c
		bc.gateway, bc.gatewayEnv = c.baseline, nil // -gateway-env is for the gateway path only
		bgw, urls, _, err := startGateway(ctx, bc, filepath.Join(tmp, "baseline"), backendAddr, llmAddr, mcpAddrs)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		defer bgw.kill()
		procs = append(procs, bgw)
		targets[pathBaseline] = map[string]target{kindHTTP: {url: urls[0], proc: bgw}, kindLLM: {url: urls[1], proc: bgw}}
		if mcpAddrs[0] != "" {
			targets[pathBaseline][kindMCP] = target{url: urls[2], proc: bgw}
			initTargets[pathBaseline] = target{url: urls[3] + mcpPath, proc: bgw}
		}
		gwDesc += "; baseline: " + c.baseline
	}
	if c.soak > 0 {
		return soakRun(ctx, c, fortio, tmp, targets[pathGateway][kindHTTP], gwDesc, procs)
	}
	nginxDesc := ""
	if slices.Contains(c.paths, pathNginx) {
		ng, url, err := startNginx(ctx, c.nginx, tmp, c.nginxWorkers, backendAddr, llmAddr)
		if err != nil {
			return err
		}
		defer ng.kill()
		procs = append(procs, ng)
		targets[pathNginx] = map[string]target{kindHTTP: {url: url, proc: ng, tree: true}, kindLLM: {url: url, proc: ng, tree: true}}
		nginxDesc = fmt.Sprintf("%s (%s), %d workers", c.nginx, nginxVersion(c.nginx), c.nginxWorkers)
	}
	for _, p := range targets {
		p[kindStream] = p[kindLLM]
	}
	for p, t := range initTargets { // stateful tools/call: the initialize loop's endpoint
		t.url = strings.TrimSuffix(t.url, mcpPath)
		targets[p][kindMCPSession] = t
	}
	ownProcs = procs
	if l1, ok := loadAvg1(); ok && l1 > 0.5 {
		log.Printf("warning: 1-minute load average is %.2f before the runs: other processes share the CPUs and will disturb the results", l1)
	}

	results := map[string]map[string][]result{} // scenario → path → runs
	for _, s := range scen {
		results[s.name] = map[string][]result{}
	}
	inits := map[string][]initResult{} // path → initialize loops
	for r := 1; r <= c.runs; r++ {
		for _, s := range scen {
			for _, p := range c.paths {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if targets[p][s.kind].url == "" {
					continue // nginx has no MCP upstream configured
				}
				if c.waitIdle > 0 {
					waitIdle(ctx, c.waitIdle)
				}
				res, err := loadRun(ctx, c, fortio, tmp, s, targets[p][s.kind])
				if err != nil {
					return fmt.Errorf("%s / %s run %d: %w", s.name, p, r, err)
				}
				log.Printf("run %d %-40s %-7s %8.0f rps  p50 %s  p99 %s  errors %d  other CPU %.2f cores",
					r, s.name, p, res.rps, ms(res.p50), ms(res.p99), res.errors, res.otherCores)
				results[s.name][p] = append(results[s.name][p], res)
			}
		}
		for _, p := range c.paths {
			t, ok := initTargets[p]
			if !ok {
				continue
			}
			if c.waitIdle > 0 {
				waitIdle(ctx, c.waitIdle)
			}
			ictx, cancel := context.WithTimeout(ctx, mcpInitTimeout)
			res, err := mcpInitLoop(ictx, t.url, mcpInitN, t)
			cancel()
			if err != nil {
				return fmt.Errorf("MCP initialize / %s run %d: %w", p, r, err)
			}
			log.Printf("run %d %-40s %-7s %8d sessions  p50 %s  p99 %s  other CPU %.2f cores",
				r, "MCP session initialize (stateful)", p, res.n, ms(res.p50), ms(res.p99), res.otherCores)
			inits[p] = append(inits[p], res)
		}
	}
	var scale *scaleResult
	if c.routeScale > 0 && c.gateway != "backend" {
		sr, err := routeScale(ctx, c, tmp, backendAddr)
		if err != nil {
			return fmt.Errorf("route scale: %w", err)
		}
		scale = sr
	}
	var prof *profileResult
	if c.profile != "" {
		if adminURL == "" {
			log.Printf("-profile needs a gateway with an admin API; skipped with -gateway backend")
		} else {
			p, err := profileRun(ctx, c, fortio, tmp, scen[0], targets[pathGateway][scen[0].kind].url, adminURL)
			if err != nil {
				return fmt.Errorf("profile run: %w", err)
			}
			prof = p
		}
	}
	report := renderReport(c, scen, results, inits, gwDesc, nginxDesc, fortio, prof, scale)
	return writeReport(c, report)
}

func writeReport(c config, report string) error {
	fmt.Print(report)
	if c.out == "-" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.out, []byte(report), 0o644); err != nil {
		return err
	}
	log.Printf("report written to %s", c.out)
	return nil
}

// ---- processes ----

// child is a subprocess whose output is kept (the last 64 KiB) for error
// messages.
type child struct {
	cmd  *exec.Cmd
	tail *tailBuffer
	done chan struct{}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill stops the process (SIGTERM, then SIGKILL after 5 s) and waits.
func (c *child) kill() {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func start(ctx context.Context, name string, args ...string) *child {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	tail := &tailBuffer{max: 64 << 10}
	cmd.Stderr = tail
	return &child{cmd: cmd, tail: tail, done: make(chan struct{})}
}

func (c *child) run() error {
	if err := c.cmd.Start(); err != nil {
		return err
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	return nil
}

// startUpstream re-runs this binary with mode (-serve-backend or
// -serve-llm) and reads the address it bound from its first stdout line.
func startUpstream(ctx context.Context, mode string, extra ...string) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	ch := start(ctx, self, append(append(extra, mode), "127.0.0.1:0")...)
	stdout, err := ch.cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := ch.run(); err != nil {
		return nil, "", err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		if addr, found := strings.CutPrefix(l, "LISTENING "); ok && found {
			return ch, addr, nil
		}
		ch.kill()
		return nil, "", fmt.Errorf("%s did not start: %q %s", mode, l, ch.tail.String())
	case <-time.After(10 * time.Second):
		ch.kill()
		return nil, "", fmt.Errorf("%s did not start within 10s", mode)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// gatewayConfig is the gateway's config: management on ports[0..2], the
// HTTP route on ports[3] to backendAddr, (llmAddr != "") the `llm:`
// shorthand on ports[4] with one OpenAI model whose baseUrl is the mock,
// and (mcpAddrs set) a stateless MCP bind on ports[5] to mcpAddrs[0] and a
// stateful one on ports[6] to mcpAddrs[1], each one route with one `mcp`
// backend of one streamable-HTTP target.
func gatewayConfig(c config, ports [7]int, backendAddr, llmAddr string, mcpAddrs [2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "config:\n  adminAddr: 127.0.0.1:%d\n  statsAddr: 127.0.0.1:%d\n  readinessAddr: 127.0.0.1:%d\n",
		ports[0], ports[1], ports[2])
	if c.logLevel != "" {
		fmt.Fprintf(&b, "  logging:\n    level: %s\n", c.logLevel)
	}
	fmt.Fprintf(&b, "binds:\n- port: %d\n  listeners:\n  - routes:\n    - backends:\n      - host: %s\n", ports[3], backendAddr)
	for i, mode := range []string{"stateless", "stateful"} {
		if mcpAddrs[i] == "" {
			continue
		}
		fmt.Fprintf(&b, "- port: %d\n  listeners:\n  - routes:\n    - backends:\n      - mcp:\n          statefulMode: %s\n          targets:\n          - name: everything\n            mcp: {host: \"http://%s%s\"}\n",
			ports[5+i], mode, mcpAddrs[i], mcpPath)
	}
	if llmAddr != "" {
		fmt.Fprintf(&b, "llm:\n  port: %d\n  models:\n  - name: %s\n    provider: openAI\n    params: {model: %s, baseUrl: \"http://%s/v1\", apiKey: bench-key}\n",
			ports[4], llmModel, llmModel, llmAddr)
	}
	return b.String()
}

func freePorts(ports []int) error {
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	return nil
}

// startGateway writes the config, starts the gateway and waits until it
// is ready and serves a plain request, a chat completion and (with
// mcpAddrs) an MCP tools/call and initialize. urls are the HTTP bind's,
// the LLM bind's and the stateless and stateful MCP binds'.
func startGateway(ctx context.Context, c config, tmp, backendAddr, llmAddr string, mcpAddrs [2]string) (gw *child, urls [4]string, adminURL string, err error) {
	// The free ports are picked from the ephemeral range, which the
	// upstreams' and the load tool's own connections also draw from: one
	// of them can take a picked port before the gateway binds it. Pick
	// again then.
	for range 3 {
		gw, urls, adminURL, err = startGatewayOnce(ctx, c, tmp, backendAddr, llmAddr, mcpAddrs)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		log.Printf("a picked port was taken meanwhile; picking again")
	}
	return gw, urls, adminURL, err
}

func startGatewayOnce(ctx context.Context, c config, tmp, backendAddr, llmAddr string, mcpAddrs [2]string) (gw *child, urls [4]string, adminURL string, err error) {
	var ports [7]int
	if err := freePorts(ports[:]); err != nil {
		return nil, urls, "", err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, urls, "", err
	}
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(gatewayConfig(c, ports, backendAddr, llmAddr, mcpAddrs)), 0o600); err != nil {
		return nil, urls, "", err
	}
	for i, p := range ports[3:] {
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d", p)
	}
	adminURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	client := &http.Client{Timeout: 2 * time.Second}
	gw, _, err = launchGateway(ctx, c, cfgPath, ports[2], 30*time.Second, func() bool {
		if !ok(client, urls[0]+"/") || !postOK(client, urls[1]+"/v1/chat/completions", llmRequest) {
			return false
		}
		if mcpAddrs[0] == "" {
			return true
		}
		_, _, err := mcpInitialize(client, urls[3]+mcpPath)
		return mcpPostOK(client, urls[2]+mcpPath, mcpCallRequest) && err == nil
	})
	if err != nil {
		return nil, urls, "", err
	}
	log.Printf("gateway ready on %s and %s (pid %d, admin %s)", urls[0], urls[1], gw.pid(), adminURL)
	return gw, urls, adminURL, nil
}

// launchGateway starts the gateway on cfgPath and polls (every 5 ms) until
// its readiness port answers 200 and probe succeeds; it returns the time
// from the start of the process to that point.
func launchGateway(ctx context.Context, c config, cfgPath string, readyPort int, limit time.Duration, probe func() bool) (*child, time.Duration, error) {
	if _, err := os.Stat(c.gateway); err != nil {
		return nil, 0, fmt.Errorf("gateway binary: %w (build it with `go build -o bin/agentgateway ./cmd/agentgateway`, or pass -gateway backend)", err)
	}
	bin, err := installed(c.gateway)
	if err != nil {
		return nil, 0, err
	}
	ch := start(ctx, bin, c.gatewayFlag, cfgPath)
	ch.cmd.Stdout = ch.tail
	// The gateway's own address overrides must not leak in from our environment.
	ch.cmd.Env = append(filterEnv(os.Environ(), "ADMIN_ADDR=", "STATS_ADDR=", "READINESS_ADDR="), c.gatewayEnv...)
	t0 := time.Now()
	if err := ch.run(); err != nil {
		return nil, 0, err
	}
	readyURL := fmt.Sprintf("http://127.0.0.1:%d/healthz/ready", readyPort)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if ch.exited() {
			return nil, 0, fmt.Errorf("gateway exited during startup: %v\n%s", ch.cmd.ProcessState, ch.tail.String())
		}
		if ok(client, readyURL) && probe() {
			return ch, time.Since(t0), nil
		}
		if time.Since(t0) > limit || ctx.Err() != nil {
			ch.kill()
			return nil, 0, fmt.Errorf("gateway not ready within %s\n%s", limit, ch.tail.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// installs maps a gateway binary to the copy of it the harness runs.
var installs = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// installed returns a copy of the binary at path, made once per harness
// run in its own temporary directory, as an installed binary would be.
// The copy matters for memory: the page cache's pages of a file the Go
// linker has just written map into the process in larger units than a
// copied file's (measured: the same binary at 3,000 rps held 15.5 MiB of
// file pages run where `go build` wrote it, 12.1 MiB run from a copy or
// after dropping the page cache), so a freshly built gateway would show
// ~3.4 MiB more RSS than the same binary installed.
func installed(path string) (string, error) {
	installs.Lock()
	defer installs.Unlock()
	if cp, ok := installs.m[path]; ok {
		return cp, nil
	}
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "agentgateway-bin-")
	if err != nil {
		return "", err
	}
	cp := filepath.Join(dir, filepath.Base(path))
	dst, err := os.OpenFile(cp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		err = errors.Join(err, dst.Close())
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	installs.m[path] = cp
	return cp, nil
}

// removeInstalled deletes the copies installed made.
func removeInstalled() {
	installs.Lock()
	defer installs.Unlock()
	for _, cp := range installs.m {
		_ = os.RemoveAll(filepath.Dir(cp))
	}
	installs.m = map[string]string{}
}

func postOK(c *http.Client, url, body string) bool {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func ok(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func filterEnv(env []string, drop ...string) []string {
	out := env[:0:0]
outer:
	for _, kv := range env {
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				continue outer
			}
		}
		out = append(out, kv)
	}
	return out
}

// findFortio returns a fortio binary, installing the pinned version into
// .cache/bin if none is found.
func findFortio(ctx context.Context, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	local, _ := filepath.Abs(filepath.Join(".cache", "bin", "fortio"))
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if p, err := exec.LookPath("fortio"); err == nil {
		return p, nil
	}
	log.Printf("installing fortio v1.66.5 into %s", filepath.Dir(local))
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, "go", "install", "fortio.org/fortio@v1.66.5")
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(local))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install fortio: %w", err)
	}
	return local, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	return string(b)
}

// hostInfo describes the machine for the report header.
func hostInfo() (cpuModel, kernel string) {
	cpuModel = "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, found := strings.Cut(sc.Text(), ":"); found && strings.TrimSpace(k) == "model name" {
				cpuModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return cpuModel, kernel
}

func goVersion() string { return runtime.Version() }

// waitIdle waits, at most max, until other processes use less than 0.2
// cores over one second.
func waitIdle(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	var o float64
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s := takeCPUSnapshot()
		time.Sleep(time.Second)
		if o = s.otherCores(nil); o < 0.2 {
			return
		}
	}
	log.Printf("machine not idle after %s (other processes: %.2f cores); running anyway", max, o)
}

// loadAvg1 returns the 1-minute load average.
func loadAvg1() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}
