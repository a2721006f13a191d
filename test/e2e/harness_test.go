// Package e2e holds black-box tests: each starts the real agentgateway
// binary on a YAML config and drives it over loopback with ordinary clients.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agw-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "agentgateway")
	if p := os.Getenv("AGW_BIN"); p != "" {
		binPath = p
	} else {
		// The shipped build (Makefile: build): grpcnotrace, and no cgo
		// unless the race detector needs it.
		args := []string{"build", "-tags", "grpcnotrace", "-o", binPath}
		cgo := "CGO_ENABLED=0"
		if os.Getenv("AGW_E2E_RACE") != "" {
			args = append(args, "-race")
			cgo = "CGO_ENABLED=1"
		}
		args = append(args, "../../cmd/agentgateway")
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), cgo)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build agentgateway:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Ports handed to gateway configs come from a range below the kernel's
// ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 by default), so
// a loopback server bound to :0 elsewhere in the tests (httptest, upstream
// fakes) can never take a port between the moment it is handed out and the
// moment the gateway binds it. Each port is handed out once per run; the
// start is spread by PID so two test processes rarely meet.
const (
	portRangeLo = 20000
	portRangeHi = 32000
)

var nextPort atomic.Int32

func init() {
	nextPort.Store(int32(portRangeLo + (os.Getpid()%100)*((portRangeHi-portRangeLo)/100)))
}

// freePort returns a loopback TCP port that was free a moment ago and that
// no other test of this run was given.
func freePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < portRangeHi-portRangeLo; i++ {
		p := int(nextPort.Add(1))
		if p >= portRangeHi {
			nextPort.CompareAndSwap(int32(p), portRangeLo)
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return p
	}
	t.Fatal("no free port in the test range")
	return 0
}

// Gateway is a running agentgateway process.
type Gateway struct {
	t         testing.TB
	cmd       *exec.Cmd
	File      string // config file path (watched)
	Admin     string // host:port
	Stats     string
	Readiness string
	logs      *syncBuffer
	done      chan struct{}
	exitErr   error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mgmtConfig is the `config:` block pointing the management servers at free ports.
func mgmtConfig(t testing.TB) (block, admin, stats, ready string) {
	admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	stats = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ready = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	block = fmt.Sprintf("config:\n  adminAddr: %s\n  statsAddr: %s\n  readinessAddr: %s\n", admin, stats, ready)
	return
}

// StartGateway writes cfg (without a `config:` block: one is prepended that
// puts the management servers on free loopback ports, merged with extra
// settings given in cfgBlock) and starts the binary, waiting until ready.
func StartGateway(t testing.TB, cfg string, extraSettings ...string) *Gateway {
	t.Helper()
	g := startGateway(t, cfg, extraSettings...)
	g.WaitReady()
	return g
}

func startGateway(t testing.TB, cfg string, extraSettings ...string) *Gateway {
	t.Helper()
	block, admin, stats, ready := mgmtConfig(t)
	for _, s := range extraSettings {
		block += s
	}
	return launch(t, block+cfg, admin, stats, ready)
}

// launch writes content as the config file and starts the binary on it;
// admin, stats and ready are the management addresses the file sets.
func launch(t testing.TB, content, admin, stats, ready string) *Gateway {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	g := &Gateway{t: t, File: file, Admin: admin, Stats: stats, Readiness: ready, logs: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = execCommand(binPath, "-f", file)
	g.cmd.Stdout = g.logs
	g.cmd.Stderr = g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.exitErr = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("gateway logs:\n%s", g.Logs())
		}
	})
	return g
}

// WaitReady polls the readiness endpoint until it answers 200.
func (g *Gateway) WaitReady() {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			g.t.Fatalf("gateway exited before ready: %v\n%s", g.exitErr, g.Logs())
		default:
		}
		resp, err := http.Get("http://" + g.Readiness + "/healthz/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("gateway not ready after 20s\n%s", g.Logs())
}

// Logs returns everything the gateway printed so far.
func (g *Gateway) Logs() string { return g.logs.String() }

// WaitLog waits until the logs contain substr.
func (g *Gateway) WaitLog(substr string) {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(g.Logs(), substr) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("log line %q not seen in 10s\n%s", substr, g.Logs())
}

// Signal sends sig to the process.
func (g *Gateway) Signal(sig os.Signal) {
	_ = g.cmd.Process.Signal(sig)
}

// Wait waits for the process to exit and returns its exit code.
func (g *Gateway) Wait(timeout time.Duration) int {
	g.t.Helper()
	select {
	case <-g.done:
	case <-time.After(timeout):
		g.t.Fatalf("gateway did not exit within %s", timeout)
	}
	return g.cmd.ProcessState.ExitCode()
}

// Stop terminates the process (SIGTERM, then SIGKILL after 10 s).
func (g *Gateway) Stop() {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// WriteConfig replaces the watched config file (the management block is kept).
func (g *Gateway) WriteConfig(cfg string) {
	g.t.Helper()
	block := fmt.Sprintf("config:\n  adminAddr: %s\n  statsAddr: %s\n  readinessAddr: %s\n", g.Admin, g.Stats, g.Readiness)
	tmp := g.File + ".tmp"
	if err := os.WriteFile(tmp, []byte(block+cfg), 0o644); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Rename(tmp, g.File); err != nil {
		g.t.Fatal(err)
	}
}

// runBinary runs the binary to completion with args and returns its exit code and output.
func runBinary(t testing.TB, stdin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// get performs a GET and returns status, body.
func get(t testing.TB, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// eventually retries f until it returns true or 10 s pass.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// echoHandlerServer starts a loopback upstream with handler h.
func echoHandlerServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// execCommand prepares the binary with management-address overrides cleared.
func execCommand(path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "ADMIN_ADDR=", "STATS_ADDR=", "READINESS_ADDR=")
	return cmd
}
