// Command load measures the gateway's overhead against a direct connection
// to the same backend, on loopback, and writes a Markdown report.
//
// It starts, all on 127.0.0.1:
//
//  1. a fast HTTP backend answering every GET with a 1 KiB body (this same
//     binary re-run with -serve-backend, so it has its own CPU accounting);
//  2. the gateway binary (-gateway, default ./bin/agentgateway) with a
//     generated config (admin, stats and readiness on free loopback ports,
//     one bind with one route to the backend), waiting for
//     GET /healthz/ready = 200;
//  3. fortio (-fortio, else .cache/bin/fortio, else PATH, else installed
//     with `GOBIN=$PWD/.cache/bin go install fortio.org/fortio@v1.66.5`)
//     for every run × scenario × path (direct, gateway), interleaved:
//     `fortio load -c 32 -t 10s -qps Q [-uniform] -json out.json URL`.
//     Fixed-rate scenarios use -uniform (see -uniform): without it fortio
//     fires all 32 connections at the same instant every 32/Q seconds and
//     measures how long a burst of 32 takes to drain, not the latency at a
//     steady rate.
//
// While fortio runs it samples the gateway's RSS (VmRSS every 200 ms; the
// peak is VmHWM after resetting it through /proc/PID/clear_refs at the
// start of each run) and CPU (utime+stime from /proc/PID/stat), and it
// measures how much CPU other processes took (machine busy time from
// /proc/stat minus fortio, the backend, the gateway and the harness): on a
// small machine a busy neighbour changes the results, and the report says
// so. The report has, per scenario and path: rps median (min–max), p50,
// p99, p99.9 (medians over runs), the gateway/direct ratios, the added
// latency, the gateway's RSS steady (median of samples) / peak, and its CPU
// seconds per 10k requests; plus a header describing the machine.
//
// With -profile DIR it then does one extra max-throughput run through the
// gateway (not in the table) while taking, from the admin API's
// /debug/pprof, a CPU profile and an allocs delta profile (-profile-time,
// 10 s) and a heap profile; it writes them to DIR and appends their
// `go tool pprof -top` views, with CPU µs and allocations per request, to
// the report.
//
// Usage (from the repository root; `make load` does the first two lines
// with the defaults):
//
//	go build -o bin/agentgateway ./cmd/agentgateway
//	go run ./test/load -gateway ./bin/agentgateway -runs 3 -duration 10s -out docs/performance-latest.md
//	go run ./test/load -runs 1 -duration 5s -out -                 # quick look, ~30 s
//	go run ./test/load -profile .cache/load-profile -out /tmp/p.md # table + profiles
//
// With -gateway backend no gateway is started: the "gateway" path is the
// backend again and the sampled process is the backend, which checks the
// harness itself. Everything is bounded in time: each fortio run by
// -duration + 30 s, the whole run by -timeout (default: every run plus
// 10 s of slack each, plus a minute; 5 minutes with the defaults, of which
// a normal run uses about 2; installing fortio, once, has its own 5-minute
// limit). Every child process is killed on exit, also on SIGINT/SIGTERM.
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// scenario is one kind of traffic. Add LLM and MCP rows here: a path, a
// method with a payload and headers, and a backend behaviour.
type scenario struct {
	name        string
	path        string // request path
	method      string // "" = GET, or POST when payload is set
	payload     string
	contentType string
	headers     []string // "Key: value"
	qps         int      // 0 = as fast as possible
}

func scenarios(fixedQPS int) []scenario {
	return []scenario{
		{name: "http GET 1 KiB, max throughput", path: "/", qps: 0},
		{name: fmt.Sprintf("http GET 1 KiB, %d qps", fixedQPS), path: "/", qps: fixedQPS},
	}
}

const (
	pathDirect  = "direct"
	pathGateway = "gateway"
)

type config struct {
	gateway     string
	gatewayFlag string
	fortio      string
	duration    time.Duration
	runs        int
	conns       int
	fixedQPS    int
	uniform     bool
	out         string
	logLevel    string
	timeout     time.Duration
	profile     string        // directory for the profile run's files; "" = no profile run
	profileTime time.Duration // CPU / allocs profile length
	waitIdle    time.Duration // before each run, wait up to this long for other processes to go quiet
}

func main() {
	var c config
	serve := flag.String("serve-backend", "", "internal: serve the test backend on this address and print it")
	flag.StringVar(&c.gateway, "gateway", "./bin/agentgateway", "gateway binary, or \"backend\" to test the harness without a gateway")
	flag.StringVar(&c.gatewayFlag, "gateway-config-flag", "-f", "the gateway's flag naming its config file")
	flag.StringVar(&c.fortio, "fortio", "", "fortio binary (default: .cache/bin/fortio, PATH, else go install)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of one fortio run")
	flag.IntVar(&c.runs, "runs", 3, "runs per scenario and path")
	flag.IntVar(&c.conns, "c", 32, "fortio connections")
	flag.IntVar(&c.fixedQPS, "qps", 3000, "rate of the fixed-rate scenario")
	flag.BoolVar(&c.uniform, "uniform", true, "fixed-rate scenario: spread requests evenly over the connections (fortio -uniform); false = all connections fire together every 1/(qps/c) s")
	flag.StringVar(&c.out, "out", "docs/performance-latest.md", "Markdown report path (\"-\" for stdout only)")
	flag.StringVar(&c.logLevel, "log-level", "", "if set, config.logging.level for the gateway")
	flag.DurationVar(&c.timeout, "timeout", 0, "overall deadline after fortio is found (default: computed from runs and duration, 5m with the defaults)")
	flag.DurationVar(&c.waitIdle, "wait-idle", 0, "before each run wait up to this long until other processes use < 0.2 cores (for shared machines; adds to the default -timeout)")
	flag.StringVar(&c.profile, "profile", "", "if set, after the measured runs do one extra max-throughput gateway run (not in the table) taking CPU, allocs and heap profiles from the admin API into this directory, and add their tops to the report")
	flag.DurationVar(&c.profileTime, "profile-time", 10*time.Second, "length of the CPU and allocs profiles of -profile")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("load: ")

	if *serve != "" {
		serveBackend(*serve)
		return
	}
	if c.runs < 1 || c.duration <= 0 {
		log.Fatal("-runs and -duration must be positive")
	}
	if c.profile != "" && c.profileTime < time.Second {
		log.Fatal("-profile-time must be at least 1s")
	}
	scen := scenarios(c.fixedQPS)
	if c.timeout == 0 {
		c.timeout = defaultTimeout(c, len(scen))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Installing fortio (first run only) has its own 5-minute limit and is
	// not counted in -timeout.
	fortio, err := findFortio(ctx, c.fortio)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	err = run(ctx, c, scen, fortio)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (overall -timeout %s)", err, c.timeout)
		}
		stop()
		log.Fatal(err)
	}
}

// defaultTimeout bounds the whole run: every fortio run with 10 s of slack
// (process start, JSON, sampling), plus a minute for starting the backend
// and the gateway, plus the profile run. With the defaults (3 runs × 2
// scenarios × 2 paths × 10 s) that is 5 minutes; a normal run takes about
// 2.
func defaultTimeout(c config, nScen int) time.Duration {
	t := time.Duration(c.runs*nScen*2)*(c.duration+10*time.Second+c.waitIdle) + time.Minute
	if c.profile != "" {
		t += c.profileTime + 30*time.Second
	}
	return t
}

func run(ctx context.Context, c config, scen []scenario, fortio string) error {
	tmp, err := os.MkdirTemp("", "agentgateway-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	backend, backendAddr, err := startBackend(ctx)
	if err != nil {
		return err
	}
	defer backend.kill()
	log.Printf("backend on %s (pid %d)", backendAddr, backend.pid())

	target := map[string]string{pathDirect: "http://" + backendAddr}
	var sampled *child
	var adminURL string
	gwDesc := "none (-gateway backend: the gateway path is the backend itself; harness self-check)"
	if c.gateway == "backend" {
		target[pathGateway] = target[pathDirect]
		sampled = backend
	} else {
		gw, gwURL, admin, err := startGateway(ctx, c, tmp, backendAddr)
		if err != nil {
			return err
		}
		defer gw.kill()
		target[pathGateway] = gwURL
		adminURL = admin
		sampled = gw
		gwDesc = c.gateway
		if fi, err := os.Stat(c.gateway); err == nil {
			gwDesc += fmt.Sprintf(" (%.1f MiB)", float64(fi.Size())/(1<<20))
		}
	}

	ownPIDs = []int{backend.pid()}
	if sampled != backend {
		ownPIDs = append(ownPIDs, sampled.pid())
	}
	if l1, ok := loadAvg1(); ok && l1 > 0.5 {
		log.Printf("warning: 1-minute load average is %.2f before the runs: other processes share the CPUs and will disturb the results", l1)
	}

	results := map[string]map[string][]result{} // scenario → path → runs
	for _, s := range scen {
		results[s.name] = map[string][]result{}
	}
	for r := 1; r <= c.runs; r++ {
		for _, s := range scen {
			for _, p := range []string{pathDirect, pathGateway} {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if c.waitIdle > 0 {
					waitIdle(ctx, c.waitIdle)
				}
				var proc *child
				if p == pathGateway {
					proc = sampled
				}
				res, err := loadRun(ctx, c, fortio, tmp, s, target[p], proc)
				if err != nil {
					return fmt.Errorf("%s / %s run %d: %w", s.name, p, r, err)
				}
				log.Printf("run %d %-34s %-7s %8.0f rps  p50 %s  p99 %s  errors %d  other CPU %.2f cores",
					r, s.name, p, res.rps, ms(res.p50), ms(res.p99), res.errors, res.otherCores)
				results[s.name][p] = append(results[s.name][p], res)
			}
		}
	}
	var prof *profileResult
	if c.profile != "" {
		if adminURL == "" {
			log.Printf("-profile needs a gateway with an admin API; skipped with -gateway backend")
		} else {
			p, err := profileRun(ctx, c, fortio, tmp, scen[0], target[pathGateway], adminURL)
			if err != nil {
				return fmt.Errorf("profile run: %w", err)
			}
			prof = p
		}
	}
	report := renderReport(c, scen, results, gwDesc, fortio, prof)
	fmt.Print(report)
	if c.out != "-" {
		if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(c.out, []byte(report), 0o644); err != nil {
			return err
		}
		log.Printf("report written to %s", c.out)
	}
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

// startBackend re-runs this binary with -serve-backend and reads the
// address it bound from its first stdout line.
func startBackend(ctx context.Context) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	ch := start(ctx, self, "-serve-backend", "127.0.0.1:0")
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
		return nil, "", fmt.Errorf("backend did not start: %q %s", l, ch.tail.String())
	case <-time.After(10 * time.Second):
		ch.kill()
		return nil, "", errors.New("backend did not start within 10s")
	}
}

var body1K = []byte(strings.Repeat("0123456789abcdef", 64))

// serveBackend is the -serve-backend mode: 1 KiB for GET, echo-free 200
// with the same body for other methods (room for POST scenarios).
func serveBackend(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 16<<20))
			}
			h := w.Header()
			h["Content-Type"] = []string{"application/octet-stream"}
			h["Content-Length"] = []string{"1024"}
			_, _ = w.Write(body1K)
		}),
	}
	// Stop on SIGTERM from the harness (and SIGKILL via Pdeathsig if it dies).
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
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

func gatewayConfig(c config, ports [4]int, backendAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "config:\n  adminAddr: 127.0.0.1:%d\n  statsAddr: 127.0.0.1:%d\n  readinessAddr: 127.0.0.1:%d\n",
		ports[0], ports[1], ports[2])
	if c.logLevel != "" {
		fmt.Fprintf(&b, "  logging:\n    level: %s\n", c.logLevel)
	}
	fmt.Fprintf(&b, "binds:\n- port: %d\n  listeners:\n  - routes:\n    - backends:\n      - host: %s\n", ports[3], backendAddr)
	return b.String()
}

// startGateway writes the config, starts the gateway and waits until it
// is ready and routes a request to the backend.
func startGateway(ctx context.Context, c config, tmp, backendAddr string) (gw *child, gwURL, adminURL string, err error) {
	if _, err := os.Stat(c.gateway); err != nil {
		return nil, "", "", fmt.Errorf("gateway binary: %w (build it with `go build -o bin/agentgateway ./cmd/agentgateway`, or pass -gateway backend)", err)
	}
	var ports [4]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, "", "", err
		}
		ports[i] = p
	}
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(gatewayConfig(c, ports, backendAddr)), 0o600); err != nil {
		return nil, "", "", err
	}
	ch := start(ctx, c.gateway, c.gatewayFlag, cfgPath)
	ch.cmd.Stdout = ch.tail
	// The gateway's own address overrides must not leak in from our environment.
	ch.cmd.Env = filterEnv(os.Environ(), "ADMIN_ADDR=", "STATS_ADDR=", "READINESS_ADDR=")
	if err := ch.run(); err != nil {
		return nil, "", "", err
	}
	readyURL := fmt.Sprintf("http://127.0.0.1:%d/healthz/ready", ports[2])
	gwURL = fmt.Sprintf("http://127.0.0.1:%d", ports[3])
	adminURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if ch.exited() {
			return nil, "", "", fmt.Errorf("gateway exited during startup: %v\n%s", ch.cmd.ProcessState, ch.tail.String())
		}
		if ok(client, readyURL) && ok(client, gwURL+"/") {
			log.Printf("gateway ready on %s (pid %d, admin %s)", gwURL, ch.pid(), adminURL)
			return ch, gwURL, adminURL, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			ch.kill()
			return nil, "", "", fmt.Errorf("gateway not ready within 30s\n%s", ch.tail.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
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
