package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// result is one fortio run.
type result struct {
	rps            float64
	count          int64
	errors         int64   // non-200 responses and connection errors
	p50, p99, p999 float64 // streaming scenario: time to first body byte
	totalP50       float64 // streaming scenario: whole stream
	totalP99       float64
	// Sampled process (gateway path only; hasProc false otherwise).
	hasProc     bool
	rssSteadyKB int64
	rssPeakKB   int64
	rssAnonKB   int64 // median RssAnon: heap, stacks (the rest of VmRSS is mapped file pages)
	cpuSeconds  float64
	// Scheduler counters of the sampled process's threads over the run
	// (/proc/PID/task/*/schedstat): times put on a CPU and time spent
	// runnable but waiting for one.
	slices int64
	waitNs int64
	// otherCores is the CPU the rest of the machine (not fortio, the
	// backend, the gateway or this harness) used during the run, in cores.
	otherCores float64
}

// fortioJSON is the part of fortio's -json output the report needs.
type fortioJSON struct {
	ActualQPS         float64
	RetCodes          map[string]int64
	DurationHistogram struct {
		Count       int64
		Percentiles []struct {
			Percentile float64
			Value      float64 // seconds
		}
	}
	ErrorsDurationHistogram struct{ Count int64 }
}

func parseFortio(b []byte) (result, error) {
	var f fortioJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return result{}, fmt.Errorf("fortio json: %w", err)
	}
	r := result{rps: f.ActualQPS, count: f.DurationHistogram.Count}
	r.errors = r.count - f.RetCodes["200"]
	found := 0
	for _, p := range f.DurationHistogram.Percentiles {
		switch p.Percentile {
		case 50:
			r.p50, found = p.Value, found+1
		case 99:
			r.p99, found = p.Value, found+1
		case 99.9:
			r.p999, found = p.Value, found+1
		}
	}
	if found != 3 {
		return r, fmt.Errorf("fortio json: want percentiles 50, 99, 99.9, found %d", found)
	}
	return r, nil
}

// loadRun runs one load run of s against t: fortio, or for the streaming
// scenario the harness's stream client, sampling t.proc (if any).
func loadRun(ctx context.Context, c config, fortio, tmp string, s scenario, t target) (result, error) {
	out := filepath.Join(tmp, "out.json")
	_ = os.Remove(out)
	var cmd *exec.Cmd
	rctx, cancel := context.WithTimeout(ctx, c.duration+30*time.Second)
	defer cancel()
	switch s.kind {
	case kindStream, kindMCPSession:
		self, err := os.Executable()
		if err != nil {
			return result{}, err
		}
		args := []string{"stream-load", "-payload", s.payload}
		if s.kind == kindMCPSession {
			args = []string{"mcp-session-load"}
		}
		args = append(args, "-c", strconv.Itoa(c.conns), "-t", c.duration.String(), "-qps", strconv.Itoa(s.qps), "-json", out, t.url+s.path)
		cmd = exec.CommandContext(rctx, self, args...)
	default:
		args := []string{"load", "-c", strconv.Itoa(c.conns), "-t", c.duration.String(),
			"-qps", strconv.Itoa(s.qps), "-p", "50,90,99,99.9", "-json", out,
			// 100 µs histogram resolution: fortio's default (1 ms) makes its
			// lowest buckets 1 ms wide, so a p99 near 1 ms is an
			// interpolation inside [1 ms, 2 ms) and "added p99" swings by
			// 0.3 ms when a few more requests cross 1 ms.
			"-r", "0.0001",
			"-timeout", "5s", "-loglevel", "Warning"}
		if s.qps > 0 && c.uniform {
			// Without it fortio starts every connection at the same instant, so
			// at a fixed rate all c connections fire together every c/qps
			// seconds and the latency measured is that of draining a burst of
			// c requests, not of a steady qps.
			args = append(args, "-uniform")
		}
		if s.payload != "" {
			args = append(args, "-payload", s.payload, "-content-type", "application/json")
		}
		for _, h := range s.headers {
			args = append(args, "-H", h)
		}
		cmd = exec.CommandContext(rctx, fortio, append(args, t.url+s.path)...)
	}
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr

	var smp *sampler
	if t.proc != nil {
		smp = startSampler(t.pids)
	}
	before := takeCPUSnapshot()
	err := cmd.Run()
	other := before.otherCores(cmd.ProcessState)
	var procStats sample
	if smp != nil {
		procStats = smp.stop()
	}
	if err != nil {
		return result{}, fmt.Errorf("%s: %w\n%s", filepath.Base(cmd.Path), err, tail(stderr.String(), 4000))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return result{}, err
	}
	var r result
	if s.kind == kindStream || s.kind == kindMCPSession {
		// Streaming rows are timed to the first byte; a stateful call to
		// the whole answer, as fortio times the stateless ones (an SSE
		// answer's headers may come long before its result).
		r, err = parseStream(b, s.kind == kindMCPSession)
	} else {
		r, err = parseFortio(b)
	}
	if err != nil {
		return r, err
	}
	r.otherCores = other
	if smp != nil {
		if t.proc.exited() {
			return r, fmt.Errorf("sampled process exited\n%s", t.proc.tail.String())
		}
		r.hasProc = true
		r.rssSteadyKB, r.rssPeakKB, r.rssAnonKB, r.cpuSeconds = procStats.rssMedianKB, procStats.peakKB, procStats.anonMedianKB, procStats.cpuSeconds
		r.slices, r.waitNs = procStats.slices, procStats.waitNs
	}
	return r, nil
}

// pids are the processes sampled for a target: the proxy, and for nginx
// its workers too.
func (t target) pids() []int {
	if t.proc == nil {
		return nil
	}
	if t.tree {
		return append([]int{t.proc.pid()}, childPIDs(t.proc.pid())...)
	}
	return []int{t.proc.pid()}
}

// parseStream reads a stream-load or mcp-session-load summary; its
// percentiles are the first byte's, or with whole the whole answer's.
func parseStream(b []byte, whole bool) (result, error) {
	var s streamSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return result{}, fmt.Errorf("stream-load json: %w", err)
	}
	p := s.TTFB
	if whole {
		p = s.Total
	}
	return result{rps: s.ActualQPS, count: s.Count, errors: s.Errors,
		p50: p.P50, p99: p.P99, p999: p.P999, totalP50: s.Total.P50, totalP99: s.Total.P99}, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// ---- /proc sampling ----

// clockTicks is USER_HZ, which is 100 on every Linux architecture Go
// supports.
const clockTicks = 100

type sample struct {
	rssMedianKB  int64
	peakKB       int64
	anonMedianKB int64
	cpuSeconds   float64
	slices       int64 // threads put on a CPU (schedstat timeslices)
	waitNs       int64 // runnable but not running (schedstat run_delay)
}

type sampler struct {
	pids     func() []int
	cpuStart float64
	sched0   [2]int64 // schedstat timeslices and run_delay at the start
	hwmReset bool     // VmHWM was reset at the start, so it is this run's peak
	stopCh   chan struct{}
	wg       sync.WaitGroup
	rss      []int64
	anon     []int64
}

// startSampler samples the summed memory and CPU of the processes pids
// returns (re-evaluated at each sample).
func startSampler(pids func() []int) *sampler {
	// VmHWM is the peak over the process's life; writing 5 to clear_refs
	// (Linux ≥ 4.0) resets it to the current RSS so each run gets its own
	// peak. Without it the peak is the maximum of the samples.
	reset := true
	for _, pid := range pids() {
		reset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil && reset
	}
	s := &sampler{pids: pids, cpuStart: sumCPU(pids()), sched0: sumSched(pids()), hwmReset: reset, stopCh: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stopCh:
				return
			case <-t.C:
				if rss, _, anon := sumMem(s.pids()); rss > 0 {
					s.rss = append(s.rss, rss)
					s.anon = append(s.anon, anon)
				}
			}
		}
	}()
	return s
}

func sumMem(pids []int) (rss, hwm, anon int64) {
	for _, pid := range pids {
		r, h, a := procMem(pid)
		rss, hwm, anon = rss+r, hwm+h, anon+a
	}
	return rss, hwm, anon
}

func sumCPU(pids []int) float64 {
	var t float64
	for _, pid := range pids {
		t += procCPU(pid)
	}
	return t
}

func (s *sampler) stop() sample {
	close(s.stopCh)
	s.wg.Wait()
	pids := s.pids()
	rss, hwm, anon := sumMem(pids)
	if rss > 0 {
		s.rss = append(s.rss, rss)
		s.anon = append(s.anon, anon)
	}
	if len(s.rss) == 0 {
		return sample{}
	}
	peak := slices.Max(s.rss)
	if s.hwmReset && hwm > peak {
		peak = hwm
	}
	sched := sumSched(pids)
	return sample{rssMedianKB: medianInt(s.rss), peakKB: peak, anonMedianKB: medianInt(s.anon), cpuSeconds: sumCPU(pids) - s.cpuStart,
		slices: sched[0] - s.sched0[0], waitNs: sched[1] - s.sched0[1]}
}

// ownProcs are the long-lived processes the harness started (upstreams,
// gateway, nginx with its workers); set once before the runs.
var ownProcs []*child

func ownPIDs() []int {
	var out []int
	for _, c := range ownProcs {
		out = append(out, c.pid())
		out = append(out, childPIDs(c.pid())...)
	}
	return out
}

// cpuSnapshot is the machine's and the harness's CPU counters at one
// instant, to tell how much CPU other processes took during a run: on a
// 2-core machine a busy neighbour changes the results.
type cpuSnapshot struct {
	at   time.Time
	busy float64 // machine-wide busy seconds (all CPUs), from /proc/stat
	own  float64 // utime+stime of ownPIDs
	self float64 // this process (RUSAGE_SELF)
}

func takeCPUSnapshot() cpuSnapshot {
	s := cpuSnapshot{at: time.Now(), busy: machineBusy()}
	s.own = sumCPU(ownPIDs())
	s.self = rusage(syscall.RUSAGE_SELF)
	return s
}

// otherCores returns the cores used since the snapshot by processes other
// than ours and the fortio run ps (which has exited).
func (s cpuSnapshot) otherCores(ps *os.ProcessState) float64 {
	e := takeCPUSnapshot()
	wall := e.at.Sub(s.at).Seconds()
	if wall <= 0 || s.busy < 0 || e.busy < 0 {
		return -1
	}
	var fortio float64
	if ps != nil {
		fortio = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	other := (e.busy - s.busy) - (e.own - s.own) - (e.self - s.self) - fortio
	return max(other, 0) / wall
}

func rusage(who int) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// machineBusy returns the busy seconds of all CPUs since boot from the
// "cpu" line of /proc/stat: user, nice, system and steal (time the
// hypervisor gave to someone else). irq and softirq time (loopback packet
// processing, charged to no process) and idle, iowait are left out; guest
// time is already in user. Returns -1 if unreadable.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy int64
	for i, v := range f[1:] {
		if i != 0 && i != 1 && i != 2 && i != 7 { // user nice system idle iowait irq softirq steal guest guest_nice
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return float64(busy) / clockTicks
}

// procMem returns VmRSS, VmHWM and RssAnon in KiB.
func procMem(pid int) (rss, hwm, anon int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		case "RssAnon":
			anon = n
		}
	}
	return rss, hwm, anon
}

// sumSched sums the schedstat timeslices and run_delay (ns) of every
// thread of pids. A thread that exits during a run takes its counts with
// it (the Go runtime and nginx keep theirs).
func sumSched(pids []int) [2]int64 {
	var out [2]int64
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if v := strings.Fields(string(b)); len(v) == 3 {
				d, _ := strconv.ParseInt(v[1], 10, 64)
				n, _ := strconv.ParseInt(v[2], 10, 64)
				out[0] += n
				out[1] += d
			}
		}
	}
	return out
}

// procCPU returns utime+stime in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(ut+st) / clockTicks
}

// ---- report ----

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func collect(rs []result, f func(result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func ms(sec float64) string {
	v := sec * 1000
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 3, 64) + " ms"
	case v < 100:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "×"
}

func fortioVersion(fortio string) string {
	out, err := exec.Command(fortio, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// row is the summary of one scenario on one path.
type row struct {
	n                   int
	rps, rpsMin, rpsMax float64
	p50, p99, p999      float64
	totalP50, totalP99  float64
	hasProc             bool
	rssSteadyKB         int64
	rssPeakKB           int64
	rssAnonKB           int64
	cpuPer10k           float64
	slicesPerReq        float64 // proxy threads put on a CPU, per request
	waitUsPerReq        float64 // proxy run-queue wait, µs per request
	errors              int64
}

func summarize(rs []result) row {
	if len(rs) == 0 {
		return row{}
	}
	rps := collect(rs, func(r result) float64 { return r.rps })
	w := row{n: len(rs), rps: median(rps), rpsMin: slices.Min(rps), rpsMax: slices.Max(rps),
		p50:      median(collect(rs, func(r result) float64 { return r.p50 })),
		p99:      median(collect(rs, func(r result) float64 { return r.p99 })),
		p999:     median(collect(rs, func(r result) float64 { return r.p999 })),
		totalP50: median(collect(rs, func(r result) float64 { return r.totalP50 })),
		totalP99: median(collect(rs, func(r result) float64 { return r.totalP99 })),
	}
	var cpuSec, n float64
	var onCPU, waitNs int64
	for _, r := range rs {
		w.errors += r.errors
		cpuSec += r.cpuSeconds
		onCPU += r.slices
		waitNs += r.waitNs
		n += float64(r.count)
	}
	if rs[0].hasProc {
		w.hasProc = true
		w.rssSteadyKB = medianInt(collectInt(rs, func(r result) int64 { return r.rssSteadyKB }))
		w.rssPeakKB = slices.Max(collectInt(rs, func(r result) int64 { return r.rssPeakKB }))
		w.rssAnonKB = medianInt(collectInt(rs, func(r result) int64 { return r.rssAnonKB }))
		if n > 0 {
			w.cpuPer10k = cpuSec / n * 10000
			w.slicesPerReq = float64(onCPU) / n
			w.waitUsPerReq = float64(waitNs) / n / 1000
		}
	}
	return w
}

func renderReport(c config, scen []scenario, results map[string]map[string][]result, inits map[string][]initResult, gwDesc, nginxDesc, fortio string, prof *profileResult, scale *scaleResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Gateway performance (latest run)\n\n")
	fmt.Fprintf(&b, "Generated by `go run ./test/load` on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	var other []float64
	for _, byPath := range results {
		for _, rs := range byPath {
			for _, r := range rs {
				if r.otherCores >= 0 {
					other = append(other, r.otherCores)
				}
			}
		}
	}
	machineTable(&b, c, fortio, gwDesc, nginxDesc, other)
	b.WriteString("Load tool, upstreams and proxies share the machine's CPUs over loopback, so absolute numbers are ")
	b.WriteString("bounded by the machine; the ratios and the added latency are the figures to compare.\n\n")

	b.WriteString("| scenario | path | rps median (min–max) | p50 | p99 | p99.9 | vs direct: rps × · added p50 / p99 | gateway vs nginx: rps × · p99 Δ | proxy RSS steady / peak (anon) | proxy CPU s per 10k req | proxy on-CPU / req · wait µs / req | errors |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	rows := map[string]map[string]row{}
	for _, s := range scen {
		rows[s.name] = map[string]row{}
		for _, p := range allPaths {
			rows[s.name][p] = summarize(results[s.name][p])
		}
		d, ng := rows[s.name][pathDirect], rows[s.name][pathNginx]
		for _, p := range allPaths {
			w := rows[s.name][p]
			if w.n == 0 {
				continue
			}
			vsDirect, vsNginx, mem, cpu, sched := "—", "—", "—", "—", "—"
			if p != pathDirect && d.n > 0 {
				vsDirect = ratio(w.rps, d.rps) + " · " + ms(w.p50-d.p50) + " / " + ms(w.p99-d.p99)
			}
			if (p == pathGateway || p == pathBaseline) && ng.n > 0 {
				vsNginx = ratio(w.rps, ng.rps) + " · " + ms(w.p99-ng.p99)
			}
			if w.hasProc {
				mem = mib(w.rssSteadyKB) + " / " + mib(w.rssPeakKB) + " (anon " + mib(w.rssAnonKB) + ")"
				cpu = strconv.FormatFloat(w.cpuPer10k, 'f', 3, 64)
				sched = fmt.Sprintf("%.2f · %.1f", w.slicesPerReq, w.waitUsPerReq)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f (%.0f–%.0f) | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
				s.name, p, w.rps, w.rpsMin, w.rpsMax, ms(w.p50), ms(w.p99), ms(w.p999), vsDirect, vsNginx, mem, cpu, sched, w.errors)
		}
	}
	b.WriteString("\nLatencies are medians over runs of the per-run percentiles (streaming rows: time to the first byte of the body, i.e. the first SSE event); ")
	b.WriteString("RSS steady is the median of VmRSS samples taken every 200 ms during the proxy's runs, peak is the highest VmHWM (reset at the start of each run) or sample, summed over nginx's master and workers; anon is the median RssAnon (heap, stacks; the rest of VmRSS is pages of mapped files such as the executable); CPU is utime+stime ")
	b.WriteString("of the proxy's processes over its runs divided by the requests they served; on-CPU / req counts how often the proxy's threads were put on a CPU (every wake-up is one) and wait µs / req how long they stood runnable waiting for one (/proc/PID/task/*/schedstat), per request.\n")

	var streamRows []string
	for _, s := range scen {
		if s.kind != kindStream {
			continue
		}
		for _, p := range allPaths {
			if w := rows[s.name][p]; w.n > 0 {
				streamRows = append(streamRows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", s.name, p, ms(w.p50), ms(w.p99), ms(w.totalP50), ms(w.totalP99)))
			}
		}
	}
	if len(streamRows) > 0 {
		fmt.Fprintf(&b, "\nStreaming: time to first byte against the whole stream (%d content chunks, %s apart, each flushed by the mock):\n\n", streamContentChunks, c.streamGap)
		b.WriteString("| scenario | path | TTFB p50 | TTFB p99 | whole stream p50 | whole stream p99 |\n|---|---|---|---|---|---|\n")
		b.WriteString(strings.Join(streamRows, "\n") + "\n")
	}
	renderInit(&b, inits)
	goals(&b, c, scen, rows, inits, scale)
	if scale != nil {
		scale.render(&b)
	}
	if prof != nil {
		prof.render(&b)
	}
	return b.String()
}

func machineTable(b *strings.Builder, c config, fortio, gwDesc, nginxDesc string, other []float64) {
	cpuModel, kernel := hostInfo()
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| CPUs (nproc) | %d |\n| CPU model | %s |\n| kernel | %s |\n| Go | %s |\n",
		runtime.NumCPU(), cpuModel, kernel, goVersion())
	uniform := ""
	if c.uniform {
		uniform = "; fixed-rate rows use -uniform (requests spread evenly over the connections)"
	}
	fmt.Fprintf(b, "| load tool | fortio %s (streaming: the harness's own client), %d connections, %s per run, %d runs per row, runs interleaved across paths%s |\n",
		fortioVersion(fortio), c.conns, c.duration, c.runs, uniform)
	fmt.Fprintf(b, "| gateway | %s |\n", gwDesc)
	if nginxDesc != "" {
		fmt.Fprintf(b, "| nginx | %s; keep-alive upstream (256), access log buffered 64k / 100 ms |\n", nginxDesc)
	}
	b.WriteString("| upstreams | in-harness Go net/http servers (own processes): GET 1 KiB; OpenAI-compatible mock, 1 KiB chat completion")
	if slices.Contains(c.kinds, kindMCP) {
		fmt.Fprintf(b, "; MCP: the go-sdk conformance everything-server (`%s`, stateless for tools/call `%s`, stateful for initialize), protocol %s", filepath.Base(c.mcpServer), mcpTool, mcpVersion)
	}
	b.WriteString(" |\n")
	if len(other) > 0 {
		fmt.Fprintf(b, "| other processes' CPU during the runs | median %.2f, max %.2f cores (machine busy time minus load tool, upstreams, proxies and harness) |\n",
			median(other), slices.Max(other))
	}
	b.WriteString("\n")
	if len(other) > 0 && slices.Max(other) > 0.25 {
		fmt.Fprintf(b, "**Warning: other processes used up to %.2f of the %d cores during some runs; those runs are disturbed.**\n\n", slices.Max(other), runtime.NumCPU())
	}
}

// goals checks the figures against the goals of docs/performance.md.
func goals(b *strings.Builder, c config, scen []scenario, rows map[string]map[string]row, inits map[string][]initResult, scale *scaleResult) {
	find := func(kind string, fixed bool) map[string]row {
		for _, s := range scen {
			if s.kind == kind && (s.qps > 0) == fixed {
				return rows[s.name]
			}
		}
		return nil
	}
	type goal struct{ name, measured, met string }
	var gs []goal
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	if r := find(kindHTTP, false); r != nil && r[pathNginx].n > 0 && r[pathGateway].n > 0 {
		x := r[pathGateway].rps / r[pathNginx].rps
		gs = append(gs, goal{"plain proxy ≥ 0.8× nginx rps (max throughput)", fmt.Sprintf("%.2f× (%.0f vs %.0f rps)", x, r[pathGateway].rps, r[pathNginx].rps), yes(x >= 0.8)})
	}
	if r := find(kindHTTP, true); r != nil && r[pathDirect].n > 0 && r[pathGateway].n > 0 {
		d := r[pathGateway].p99 - r[pathDirect].p99
		gs = append(gs, goal{fmt.Sprintf("plain proxy p99 at %d rps within 0.3 ms of direct", c.fixedQPS), fmt.Sprintf("%+.3f ms (%s vs %s)", d*1000, ms(r[pathGateway].p99), ms(r[pathDirect].p99)), yes(d <= 0.0003)})
	}
	if r := find(kindLLM, false); r != nil && r[pathDirect].n > 0 && r[pathGateway].n > 0 {
		x := r[pathGateway].rps / r[pathDirect].rps
		gs = append(gs, goal{"LLM (OpenAI → OpenAI) ≥ 0.30× direct rps", fmt.Sprintf("%.2f× (%.0f vs %.0f rps)", x, r[pathGateway].rps, r[pathDirect].rps), yes(x >= 0.30)})
	}
	if r := find(kindLLM, true); r != nil && r[pathDirect].n > 0 && r[pathGateway].n > 0 {
		d := r[pathGateway].p99 - r[pathDirect].p99
		gs = append(gs, goal{fmt.Sprintf("LLM p99 added ≤ 0.3 ms at %d rps", c.fixedQPS), fmt.Sprintf("%+.3f ms (%s vs %s)", d*1000, ms(r[pathGateway].p99), ms(r[pathDirect].p99)), yes(d <= 0.0003)})
	}
	if r := find(kindMCP, false); r != nil && r[pathGateway].hasProc {
		us := r[pathGateway].cpuPer10k * 100 // s per 10k requests → µs per request
		m := fmt.Sprintf("%.0f µs at max throughput (%.0f rps)", us, r[pathGateway].rps)
		for _, s := range scen {
			if f := rows[s.name][pathGateway]; s.kind == kindMCP && s.qps > 0 && f.hasProc {
				m += fmt.Sprintf("; %.0f µs at %d rps (%.0f served)", f.cpuPer10k*100, s.qps, f.rps)
			}
		}
		gs = append(gs, goal{"MCP gateway CPU ≤ 0.2 ms per tools/call", m, yes(us <= 200)})
	}
	if r := find(kindMCPSession, false); r != nil && r[pathGateway].hasProc {
		us := r[pathGateway].cpuPer10k * 100
		m := fmt.Sprintf("%.0f µs at max throughput (%.0f rps)", us, r[pathGateway].rps)
		for _, s := range scen {
			if f := rows[s.name][pathGateway]; s.kind == kindMCPSession && s.qps > 0 && f.hasProc {
				m += fmt.Sprintf("; %.0f µs at %d rps (%.0f served)", f.cpuPer10k*100, s.qps, f.rps)
			}
		}
		gs = append(gs, goal{"MCP gateway CPU ≤ 0.2 ms per tools/call, stateful sessions", m, yes(us <= 200)})
	}
	if w := summarizeInit(inits[pathGateway]); w.runs > 0 {
		gs = append(gs, goal{"MCP session initialize ≤ 2 ms (p50; p99 shown)", fmt.Sprintf("p50 %s, p99 %s (direct p50 %s)", ms(w.p50), ms(w.p99), ms(summarizeInit(inits[pathDirect]).p50)), yes(w.p50 <= 0.002)})
	}
	var peak int64
	for _, s := range scen {
		if w := rows[s.name][pathGateway]; s.qps == c.fixedQPS && w.hasProc {
			peak = max(peak, w.rssPeakKB)
		}
	}
	if peak > 0 {
		gs = append(gs, goal{fmt.Sprintf("gateway RSS ≤ 30 MB at %d rps", c.fixedQPS), fmt.Sprintf("peak %s (%.1f MB)", mib(peak), float64(peak)*1024/1e6), yes(float64(peak)*1024 <= 30e6)})
	}
	if scale != nil {
		t := scale.validate + scale.ready
		gs = append(gs, goal{fmt.Sprintf("%d routes validate + start < 1 s", scale.routes), fmt.Sprintf("validate %s + ready %s", ms(scale.validate.Seconds()), ms(scale.ready.Seconds())), yes(t < time.Second)})
	}
	if len(gs) == 0 {
		return
	}
	b.WriteString("\n## Goals\n\n| goal | measured (medians) | met? |\n|---|---|---|\n")
	for _, g := range gs {
		fmt.Fprintf(b, "| %s | %s | %s |\n", g.name, g.measured, g.met)
	}
}

func collectInt(rs []result, f func(result) int64) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func mib(kb int64) string { return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64) + " MiB" }
