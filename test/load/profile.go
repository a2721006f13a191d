package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profileResult is the -profile run: one extra max-throughput run through
// the gateway, not part of the table, while the admin API's
// /debug/pprof serves a CPU profile, an allocs delta profile (both
// -profile-time long) and a heap profile near the end.
type profileResult struct {
	dir     string
	seconds float64
	run     result
	tops    []profileTop
}

type profileTop struct {
	title, file, args string
	text              string
	total             float64 // parsed "of N total" (objects, bytes or seconds); 0 if unknown
}

// profileViews are the `go tool pprof -top` views the report shows.
var profileViews = []struct {
	title, file string
	args        []string
}{
	{"CPU, by flat time", "cpu.pprof", []string{"-nodecount=20"}},
	{"CPU, by cumulative time", "cpu.pprof", []string{"-cum", "-nodecount=35"}},
	{"allocations, by objects", "allocs.pprof", []string{"-sample_index=alloc_objects", "-nodecount=20"}},
	{"allocations, by bytes", "allocs.pprof", []string{"-sample_index=alloc_space", "-nodecount=15"}},
	// The gateway's heap profiling starts with the allocs request
	// (internal/admin/heapprof.go): objects older than that are not in it.
	{"live heap at the end, of what was allocated since the allocs profile began (inuse_space)", "heap.pprof", []string{"-sample_index=inuse_space", "-nodecount=10"}},
}

func profileRun(ctx context.Context, c config, fortio, tmp string, s scenario, url, adminURL string) (*profileResult, error) {
	if err := os.MkdirAll(c.profile, 0o755); err != nil {
		return nil, err
	}
	secs := int(c.profileTime / time.Second)
	warm := 2 * time.Second
	pc := c
	pc.duration = warm + time.Duration(secs)*time.Second + 3*time.Second
	log.Printf("profile run: %s %s through the gateway, %ds profiles after %s", pc.duration, s.name, secs, warm)

	client := &http.Client{Timeout: time.Duration(secs)*time.Second + 30*time.Second}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	get := func(i int, delay time.Duration, path, file string) {
		defer wg.Done()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			errs[i] = ctx.Err()
			return
		}
		errs[i] = download(ctx, client, adminURL+path, filepath.Join(c.profile, file))
	}
	wg.Add(3)
	go get(0, warm, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), "cpu.pprof")
	go get(1, warm, fmt.Sprintf("/debug/pprof/allocs?seconds=%d", secs), "allocs.pprof")
	go get(2, warm+time.Duration(secs)*time.Second+time.Second, "/debug/pprof/heap", "heap.pprof")
	res, err := loadRun(ctx, pc, fortio, tmp, s, target{url: url})
	wg.Wait()
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	log.Printf("profile run: %.0f rps; profiles in %s", res.rps, c.profile)

	p := &profileResult{dir: c.profile, seconds: float64(secs), run: res}
	for _, v := range profileViews {
		args := append([]string{"tool", "pprof", "-top"}, v.args...)
		args = append(args, filepath.Join(c.profile, v.file))
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		text := strings.TrimSpace(string(out))
		if err != nil {
			text = fmt.Sprintf("go tool pprof failed: %v\n%s", err, text)
		}
		top := profileTop{title: v.title, file: v.file, args: strings.Join(v.args, " "), text: text, total: parseTotal(text)}
		p.tops = append(p.tops, top)
		name := strings.TrimSuffix(v.file, ".pprof") + "-" + strings.NewReplacer(" ", "_", ",", "", "(", "", ")", "").Replace(v.title) + ".txt"
		_ = os.WriteFile(filepath.Join(c.profile, name), []byte(text+"\n"), 0o644)
	}
	return p, nil
}

func download(ctx context.Context, client *http.Client, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var totalRE = regexp.MustCompile(`of ([0-9.]+)([a-zA-Z]*) total`)

// parseTotal reads the total from pprof's "Showing nodes accounting for X,
// Y% of Z total" line: a count (k, M, G suffixes), bytes (kB, MB, GB) or
// seconds (s, ms).
func parseTotal(text string) float64 {
	m := totalRE.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0
	}
	mult := map[string]float64{"": 1, "k": 1e3, "M": 1e6, "G": 1e9,
		"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "s": 1, "ms": 1e-3, "us": 1e-6}
	f, ok := mult[m[2]]
	if !ok {
		return 0
	}
	return v * f
}

func (p *profileResult) render(b *strings.Builder) {
	reqs := p.run.rps * p.seconds
	fmt.Fprintf(b, "\n## Profile run\n\n")
	fmt.Fprintf(b, "One extra max-throughput run through the gateway (not in the table above): %.0f rps while the admin API took a %.0f s CPU profile and a %.0f s allocs delta profile, so about %.0f requests fall in the profile window. Files: `%s/{cpu,allocs,heap}.pprof`.\n\n",
		p.run.rps, p.seconds, p.seconds, reqs, p.dir)
	for _, t := range p.tops {
		if reqs > 0 && t.total > 0 {
			switch {
			case strings.Contains(t.args, "alloc_objects"):
				fmt.Fprintf(b, "Allocations: %.0f objects in the window ≈ **%.1f objects per request**.\n\n", t.total, t.total/reqs)
			case strings.Contains(t.args, "alloc_space"):
				fmt.Fprintf(b, "Allocated bytes: %.1f MiB in the window ≈ **%.1f KiB per request**.\n\n", t.total/(1<<20), t.total/reqs/1024)
			case t.file == "cpu.pprof" && !strings.Contains(t.args, "-cum"):
				fmt.Fprintf(b, "CPU: %.2f s of samples in %.0f s ≈ %.2f cores busy in the gateway, **%.1f µs of CPU per request**.\n\n", t.total, p.seconds, t.total/p.seconds, t.total/reqs*1e6)
			}
		}
		fmt.Fprintf(b, "### %s\n\n`go tool pprof -top %s %s`\n\n```\n%s\n```\n\n", t.title, t.args, t.file, stripHeader(t.text))
	}
}

// stripHeader drops pprof's File/Build ID/Type/Time lines, which name
// temporary paths.
func stripHeader(text string) string {
	var out []string
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		if strings.HasPrefix(line, "File: ") || strings.HasPrefix(line, "Build ID: ") || strings.HasPrefix(line, "Time: ") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
