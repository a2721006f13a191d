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
	errors         int64 // non-200 responses and connection errors
	p50, p99, p999 float64
	// Sampled process (gateway path only; hasProc false otherwise).
	hasProc     bool
	rssSteadyKB int64
	rssPeakKB   int64
	cpuSeconds  float64
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

// loadRun runs fortio once against url, sampling proc (if not nil).
func loadRun(ctx context.Context, c config, fortio, tmp string, s scenario, url string, proc *child) (result, error) {
	out := filepath.Join(tmp, "out.json")
	_ = os.Remove(out)
	args := []string{"load", "-c", strconv.Itoa(c.conns), "-t", c.duration.String(),
		"-qps", strconv.Itoa(s.qps), "-p", "50,90,99,99.9", "-json", out,
		"-timeout", "5s", "-loglevel", "Warning"}
	if s.qps > 0 && c.uniform {
		// Without it fortio starts every connection at the same instant, so
		// at a fixed rate all c connections fire together every c/qps
		// seconds and the latency measured is that of draining a burst of
		// c requests, not of a steady qps.
		args = append(args, "-uniform")
	}
	for _, h := range s.headers {
		args = append(args, "-H", h)
	}
	if s.payload != "" {
		args = append(args, "-payload", s.payload)
		if s.contentType != "" {
			args = append(args, "-content-type", s.contentType)
		}
	}
	if s.method != "" && (s.payload == "" || s.method != "POST") {
		args = append(args, "-X", s.method)
	}
	args = append(args, url+s.path)

	rctx, cancel := context.WithTimeout(ctx, c.duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(rctx, fortio, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr

	var smp *sampler
	if proc != nil {
		smp = startSampler(proc.pid())
	}
	before := takeCPUSnapshot()
	err := cmd.Run()
	other := before.otherCores(cmd.ProcessState)
	var procStats sample
	if smp != nil {
		procStats = smp.stop()
	}
	if err != nil {
		return result{}, fmt.Errorf("fortio: %w\n%s", err, tail(stderr.String(), 4000))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return result{}, err
	}
	r, err := parseFortio(b)
	if err != nil {
		return r, err
	}
	r.otherCores = other
	if smp != nil {
		if proc.exited() {
			return r, fmt.Errorf("sampled process exited\n%s", proc.tail.String())
		}
		r.hasProc = true
		r.rssSteadyKB, r.rssPeakKB, r.cpuSeconds = procStats.rssMedianKB, procStats.peakKB, procStats.cpuSeconds
	}
	return r, nil
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
	rssMedianKB int64
	peakKB      int64
	cpuSeconds  float64
}

type sampler struct {
	pid      int
	cpuStart float64
	hwmReset bool // VmHWM was reset at the start, so it is this run's peak
	stopCh   chan struct{}
	wg       sync.WaitGroup
	rss      []int64
}

func startSampler(pid int) *sampler {
	// VmHWM is the peak over the process's life; writing 5 to clear_refs
	// (Linux ≥ 4.0) resets it to the current RSS so each run gets its own
	// peak. Without it the peak is the maximum of the samples.
	reset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	s := &sampler{pid: pid, cpuStart: procCPU(pid), hwmReset: reset, stopCh: make(chan struct{})}
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
				if rss, _ := procMem(s.pid); rss > 0 {
					s.rss = append(s.rss, rss)
				}
			}
		}
	}()
	return s
}

func (s *sampler) stop() sample {
	close(s.stopCh)
	s.wg.Wait()
	rss, hwm := procMem(s.pid)
	if rss > 0 {
		s.rss = append(s.rss, rss)
	}
	if len(s.rss) == 0 {
		return sample{}
	}
	peak := slices.Max(s.rss)
	if s.hwmReset && hwm > peak {
		peak = hwm
	}
	return sample{rssMedianKB: medianInt(s.rss), peakKB: peak, cpuSeconds: procCPU(s.pid) - s.cpuStart}
}

// ownPIDs are the long-lived processes the harness started (backend,
// gateway); set once before the runs.
var ownPIDs []int

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
	for _, pid := range ownPIDs {
		s.own += procCPU(pid)
	}
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

// procMem returns VmRSS and VmHWM in KiB.
func procMem(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm
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

func renderReport(c config, scen []scenario, results map[string]map[string][]result, gwDesc, fortio string, prof *profileResult) string {
	cpuModel, kernel := hostInfo()
	var b strings.Builder
	fmt.Fprintf(&b, "# Gateway performance (latest run)\n\n")
	fmt.Fprintf(&b, "Generated by `go run ./test/load` on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPUs (nproc) | %d |\n| CPU model | %s |\n| kernel | %s |\n| Go | %s |\n",
		runtime.NumCPU(), cpuModel, kernel, goVersion())
	uniform := ""
	if c.uniform {
		uniform = "; fixed-rate rows use -uniform (requests spread evenly over the connections)"
	}
	fmt.Fprintf(&b, "| load tool | fortio %s, %d connections, %s per run, %d runs per row, runs interleaved direct/gateway%s |\n",
		fortioVersion(fortio), c.conns, c.duration, c.runs, uniform)
	fmt.Fprintf(&b, "| gateway | %s |\n", gwDesc)
	fmt.Fprintf(&b, "| backend | in-harness Go net/http server (own process), 1 KiB body |\n")
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
	if len(other) > 0 {
		fmt.Fprintf(&b, "| other processes' CPU during the runs | median %.2f, max %.2f cores (machine busy time minus fortio, backend, gateway and harness) |\n",
			median(other), slices.Max(other))
	}
	b.WriteString("\n")
	if len(other) > 0 && slices.Max(other) > 0.25 {
		fmt.Fprintf(&b, "**Warning: other processes used up to %.2f of the %d cores during some runs; those runs are disturbed.**\n\n", slices.Max(other), runtime.NumCPU())
	}
	b.WriteString("Load tool, backend and gateway share the machine's CPUs over loopback, so absolute numbers are ")
	b.WriteString("bounded by the machine; the gateway/direct ratios and the added latency are the figures to compare.\n\n")

	b.WriteString("| scenario | path | rps median (min–max) | p50 | p99 | p99.9 | gateway/direct (rps · p50 · p99) | added p50 / p99 | gateway RSS steady / peak | gateway CPU s per 10k req | errors |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range scen {
		byPath := results[s.name]
		var direct struct{ rps, p50, p99 float64 }
		for _, p := range []string{pathDirect, pathGateway} {
			rs := byPath[p]
			if len(rs) == 0 {
				continue
			}
			rps := collect(rs, func(r result) float64 { return r.rps })
			p50 := median(collect(rs, func(r result) float64 { return r.p50 }))
			p99 := median(collect(rs, func(r result) float64 { return r.p99 }))
			p999 := median(collect(rs, func(r result) float64 { return r.p999 }))
			var errs int64
			for _, r := range rs {
				errs += r.errors
			}
			ratios, added, mem, cpu := "—", "—", "—", "—"
			if p == pathDirect {
				direct.rps, direct.p50, direct.p99 = median(rps), p50, p99
			} else {
				ratios = ratio(median(rps), direct.rps) + " · " + ratio(p50, direct.p50) + " · " + ratio(p99, direct.p99)
				added = ms(p50-direct.p50) + " / " + ms(p99-direct.p99)
				if rs[0].hasProc {
					steady := medianInt(collectInt(rs, func(r result) int64 { return r.rssSteadyKB }))
					peak := slices.Max(collectInt(rs, func(r result) int64 { return r.rssPeakKB }))
					mem = mib(steady) + " / " + mib(peak)
					var cpuSec, n float64
					for _, r := range rs {
						cpuSec += r.cpuSeconds
						n += float64(r.count)
					}
					if n > 0 {
						cpu = strconv.FormatFloat(cpuSec/n*10000, 'f', 3, 64)
					}
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f (%.0f–%.0f) | %s | %s | %s | %s | %s | %s | %s | %d |\n",
				s.name, p, median(rps), slices.Min(rps), slices.Max(rps), ms(p50), ms(p99), ms(p999),
				ratios, added, mem, cpu, errs)
		}
	}
	b.WriteString("\nLatencies are medians over runs of fortio's per-run percentiles; RSS steady is the median of ")
	b.WriteString("VmRSS samples taken every 200 ms during the gateway runs, peak is the highest VmHWM (reset at the start of each run) or sample; CPU is utime+stime of ")
	b.WriteString("the gateway process over the gateway runs divided by the requests they served.\n")
	if prof != nil {
		prof.render(&b)
	}
	return b.String()
}

func collectInt(rs []result, f func(result) int64) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func mib(kb int64) string { return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64) + " MiB" }
