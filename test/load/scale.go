package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Route scale: a config with -route-scale routes in one listener, in the
// four shapes of internal/route's BenchmarkMatch (a host-bound prefix; a
// prefix with method, header and query conditions; an exact path; a plain
// prefix), each with a host backend. The harness times, three times each,
// `gateway --validate-only -f FILE` (load, expand, compile, exit) and the
// start of a gateway on it until its readiness probe says 200 and a
// request to the last exact route is proxied (start-to-ready).

type scaleResult struct {
	routes    int
	bytes     int
	validate  time.Duration // median
	validates []time.Duration
	ready     time.Duration // median
	readies   []time.Duration
	rssKB     int64 // after ready, median
}

func scaleConfig(n int, ports [3]int, backendAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "config:\n  adminAddr: 127.0.0.1:%d\n  statsAddr: 127.0.0.1:%d\n  readinessAddr: 127.0.0.1:%d\n  logging: {level: warn}\n",
		ports[0], ports[1], ports[2])
	b.WriteString("binds:\n- port: PORT\n  listeners:\n  - routes:\n")
	for i := range n {
		fmt.Fprintf(&b, "    - name: r%d\n", i)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "      hostnames: [svc%d.example.com]\n      matches: [{path: {pathPrefix: /svc%d/api}}]\n", i, i)
		case 1:
			fmt.Fprintf(&b, "      matches: [{path: {pathPrefix: /svc%d/api}, method: POST, headers: [{name: x-env, value: {exact: prod}}], query: [{name: tenant, value: {exact: acme}}]}]\n", i)
		case 2:
			fmt.Fprintf(&b, "      matches: [{path: {exact: /exact/%d}}]\n", i)
		case 3:
			fmt.Fprintf(&b, "      matches: [{path: {pathPrefix: /svc%d}}]\n", i)
		}
		fmt.Fprintf(&b, "      backends: [{host: %s}]\n", backendAddr)
	}
	return b.String()
}

func routeScale(ctx context.Context, c config, tmp, backendAddr string) (*scaleResult, error) {
	n := c.routeScale
	var ports [4]int
	if err := freePorts(ports[:]); err != nil {
		return nil, err
	}
	cfg := strings.Replace(scaleConfig(n, [3]int{ports[0], ports[1], ports[2]}, backendAddr), "PORT", fmt.Sprint(ports[3]), 1)
	path := filepath.Join(tmp, "routes.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	res := &scaleResult{routes: n, bytes: len(cfg)}
	lastExact := (n-1-2)/4*4 + 2
	probeURL := fmt.Sprintf("http://127.0.0.1:%d/exact/%d", ports[3], lastExact)
	client := &http.Client{Timeout: 2 * time.Second}
	var rss []int64
	for range 3 {
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t0 := time.Now()
		out, err := exec.CommandContext(vctx, c.gateway, "--validate-only", c.gatewayFlag, path).CombinedOutput()
		d := time.Since(t0)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("--validate-only: %w\n%s", err, tail(string(out), 2000))
		}
		res.validates = append(res.validates, d)

		gw, ready, err := launchGateway(ctx, c, path, ports[2], 30*time.Second, func() bool { return ok(client, probeURL) })
		if err != nil {
			return nil, err
		}
		if r, _, _ := procMem(gw.pid()); r > 0 {
			rss = append(rss, r)
		}
		gw.kill()
		res.readies = append(res.readies, ready)
	}
	client.CloseIdleConnections()
	res.validate, res.ready = medianDur(res.validates), medianDur(res.readies)
	if len(rss) > 0 {
		res.rssKB = medianInt(rss)
	}
	log.Printf("route scale: %d routes: validate %s, start-to-ready %s", n, res.validate, res.ready)
	return res, nil
}

func medianDur(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func (s *scaleResult) render(b *strings.Builder) {
	durs := func(d []time.Duration) string {
		var parts []string
		for _, x := range d {
			parts = append(parts, ms(x.Seconds()))
		}
		return strings.Join(parts, ", ")
	}
	fmt.Fprintf(b, "\n## Route scale\n\nA config with %d routes (%.0f KiB of YAML; four shapes: host-bound prefix, prefix with method/header/query conditions, exact, plain prefix), 3 times each:\n\n", s.routes, float64(s.bytes)/1024)
	b.WriteString("| step | median | runs |\n|---|---|---|\n")
	fmt.Fprintf(b, "| `--validate-only` (process start to exit) | %s | %s |\n", ms(s.validate.Seconds()), durs(s.validates))
	fmt.Fprintf(b, "| start to ready (readiness 200 and the last exact route proxied) | %s | %s |\n", ms(s.ready.Seconds()), durs(s.readies))
	if s.rssKB > 0 {
		fmt.Fprintf(b, "| gateway RSS when ready | %s | |\n", mib(s.rssKB))
	}
}
