package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// a2aCLI is the a2a CLI of github.com/a2aproject/a2a-go/v2 (v2.3.1), a real
// A2A client and server, built by `make a2acli` from tools/a2a into
// $A2A_BIN (default ~/.cache/agentgateway/a2a-v2.3.1). Without it the
// tests skip, or fail when $CI is set.
func a2aCLI(t testing.TB) string {
	t.Helper()
	p := os.Getenv("A2A_BIN")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache", "agentgateway", "a2a-v2.3.1")
	}
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("a2a CLI not built (run make a2acli): %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// a2aNodeDir is test/e2e/node-a2a, where `npm ci --prefix test/e2e/node-a2a`
// installs @a2a-js/sdk and express for the JS agent and client.
func a2aNodeDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("node-a2a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@a2a-js", "sdk", "package.json")); err != nil {
		msg := "npm peers missing: run `npm ci --prefix test/e2e/node-a2a`"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	return dir
}

// a2aStart starts a helper process (its own process group, killed at
// cleanup) and waits until it listens on port.
func a2aStart(t testing.TB, port int, dir, name string, args ...string) {
	t.Helper()
	startProcIn(t, dir, nil, name, args...) // its output is logged if the test fails
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s", name, addr)
}

// timedLine is one line of a client's output and when it arrived.
type timedLine struct {
	at   time.Duration
	text string
}

// a2aRun runs a client to completion (20 s at most) and returns its output
// lines with their arrival times.
func a2aRun(t testing.TB, dir, name string, args ...string) []timedLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []timedLine
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, timedLine{time.Since(start), sc.Text()})
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, joinLines(lines), stderr.String())
	}
	return lines
}

func joinLines(ls []timedLine) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// a2aMethodsLogged returns the a2a.method values of the gateway's access log.
func a2aMethodsLogged(g *Gateway) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(g.Logs(), "\n") {
		if _, v, ok := strings.Cut(l, "a2a.method="); ok {
			v, _, _ = strings.Cut(v, " ")
			out[v]++
		}
	}
	return out
}
