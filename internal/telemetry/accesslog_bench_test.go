package telemetry

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// sleepWriter is a sink whose every write(2) takes d (a slow stderr
// reader, a pipe that is full for a moment).
type sleepWriter struct{ d time.Duration }

func (w sleepWriter) Write(p []byte) (int, error) { time.Sleep(w.d); return len(p), nil }

// BenchmarkAccessLogBuffered formats and buffers one access-log line per request
// from parallel goroutines, as bind handlers do. With a slow sink, max-µs
// is the longest a request waited in Log: a request should not wait for
// the flush of other requests' lines.
func BenchmarkAccessLogBuffered(b *testing.B) {
	for _, bc := range []struct {
		name string
		w    io.Writer
	}{
		{"discard", io.Discard},
		{"slow-sink-2ms", sleepWriter{2 * time.Millisecond}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bw := NewBufferedWriter(bc.w, 10*time.Millisecond)
			defer func() { _ = bw.Close() }()
			a, err := NewAccessLog(bw, "text", nil)
			if err != nil {
				b.Fatal(err)
			}
			info := &pipeline.Info{Bind: "bind/3000", Listener: "listener0", Route: "route0",
				Endpoint: "127.0.0.1:8080", Status: 200, Start: time.Now()}
			var worst atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					t0 := time.Now()
					a.Log(info, "GET", "/api/items/42", 1500*time.Microsecond)
					if d := int64(time.Since(t0)); d > worst.Load() {
						worst.Store(d)
					}
				}
			})
			b.ReportMetric(float64(worst.Load())/1e3, "max-µs")
		})
	}
	// paced: two request goroutines log one line every ~50 µs (well within
	// what the 2 ms sink drains); slow-% is the share of Log calls that
	// took over 1 ms, i.e. that waited for a flush of other lines.
	b.Run("paced-slow-sink-2ms", func(b *testing.B) {
		bw := NewBufferedWriter(sleepWriter{2 * time.Millisecond}, 10*time.Millisecond)
		defer func() { _ = bw.Close() }()
		a, _ := NewAccessLog(bw, "text", nil)
		info := &pipeline.Info{Bind: "bind/3000", Listener: "listener0", Route: "route0",
			Endpoint: "127.0.0.1:8080", Status: 200, Start: time.Now()}
		var slow, total atomic.Int64
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				time.Sleep(50 * time.Microsecond)
				t0 := time.Now()
				a.Log(info, "GET", "/api/items/42", 1500*time.Microsecond)
				if time.Since(t0) > time.Millisecond {
					slow.Add(1)
				}
				total.Add(1)
			}
		})
		b.ReportMetric(100*float64(slow.Load())/float64(max(total.Load(), 1)), "slow-%")
	})
}
