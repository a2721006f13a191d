package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// The streaming load client (`load stream-load …`, run as its own process
// like fortio): fortio times whole responses, but what a streaming LLM
// client feels is the time to the first token. Each of -c connections
// sends POSTs one after the other, either as fast as it can (-qps 0) or
// at a fixed aggregate rate spread evenly over the connections (like
// fortio -uniform), and times, per request, the first byte of the response
// body (TTFB: the first SSE event) and the whole response. It writes a
// JSON summary (streamResult) to -json.

type streamSummary struct {
	ActualQPS float64
	Count     int64
	Errors    int64
	TTFB      streamPercentiles // seconds
	Total     streamPercentiles // seconds
}

type streamPercentiles struct{ P50, P99, P999 float64 }

func streamLoadMain(args []string) {
	fs := flag.NewFlagSet("stream-load", flag.ExitOnError)
	conns := fs.Int("c", 32, "connections")
	qps := fs.Float64("qps", 0, "aggregate rate (0: as fast as possible)")
	dur := fs.Duration("t", 10*time.Second, "duration")
	payload := fs.String("payload", "", "request body")
	out := fs.String("json", "", "summary file")
	_ = fs.Parse(args)
	if fs.NArg() != 1 || *out == "" {
		log.Fatal("usage: load stream-load [-c N] [-qps Q] [-t D] -payload BODY -json FILE URL")
	}
	writeSummary(*out, streamLoad(fs.Arg(0), *conns, *qps, *dur, *payload))
}

// writeSummary writes a load client's summary (stream-load,
// mcp-session-load) as JSON to path, for the harness to read.
func writeSummary(path string, s streamSummary) {
	b, _ := json.Marshal(s)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

func streamLoad(url string, conns int, qps float64, dur time.Duration, payload string) streamSummary {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// One warm-up request per connection, not counted.
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() { defer wg.Done(); _, _, _ = streamOnce(client, url, payload) }()
	}
	wg.Wait()
	return paced(conns, qps, dur, func(int) (time.Duration, time.Duration, error) { return streamOnce(client, url, payload) })
}

// paced runs conns workers for dur, each calling once(worker) one call
// after the other: as fast as answered (qps 0), or at the aggregate rate
// qps spread evenly over the workers (each on its own period, the workers'
// starts staggered across it, like fortio -uniform). once returns the time
// to the first body byte and to the end of the answer.
func paced(conns int, qps float64, dur time.Duration, once func(worker int) (ttfb, total time.Duration, err error)) streamSummary {
	type sample struct{ ttfb, total time.Duration }
	var (
		mu      sync.Mutex
		samples []sample
		errs    int64
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []sample
			var localErr int64
			var period time.Duration
			next := start
			if qps > 0 {
				period = time.Duration(float64(conns) / qps * float64(time.Second))
				next = start.Add(period * time.Duration(i) / time.Duration(conns))
			}
			for ctx.Err() == nil {
				if period > 0 {
					if d := time.Until(next); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
						}
						if ctx.Err() != nil {
							break
						}
					}
					next = next.Add(period)
				}
				ttfb, total, err := once(i)
				if err != nil {
					localErr++
					continue
				}
				local = append(local, sample{ttfb, total})
			}
			mu.Lock()
			samples = append(samples, local...)
			errs += localErr
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s := streamSummary{Count: int64(len(samples)) + errs, Errors: errs}
	s.ActualQPS = float64(s.Count) / elapsed.Seconds()
	if len(samples) == 0 {
		return s
	}
	ttfb := make([]time.Duration, len(samples))
	total := make([]time.Duration, len(samples))
	for i, x := range samples {
		ttfb[i], total[i] = x.ttfb, x.total
	}
	s.TTFB, s.Total = percentiles(ttfb), percentiles(total)
	return s
}

func percentiles(d []time.Duration) streamPercentiles {
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p / 100 * float64(len(d)))
		if i >= len(d) {
			i = len(d) - 1
		}
		return d[i].Seconds()
	}
	return streamPercentiles{at(50), at(99), at(99.9)}
}

// streamOnce sends one streaming request and reads the whole answer; it
// fails unless the status is 200 and the body ends with "data: [DONE]".
func streamOnce(client *http.Client, url, payload string) (ttfb, total time.Duration, err error) {
	t0 := time.Now()
	resp, err := client.Post(url, "application/json", strings.NewReader(payload))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	var tail []byte
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if ttfb == 0 {
				ttfb = time.Since(t0)
			}
			tail = append(tail, buf[:n]...)
			if len(tail) > 64 {
				tail = tail[len(tail)-64:]
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
	total = time.Since(t0)
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(strings.TrimSpace(string(tail)), "data: [DONE]") {
		return 0, 0, fmt.Errorf("status %d, tail %q", resp.StatusCode, tail)
	}
	return ttfb, total, nil
}
