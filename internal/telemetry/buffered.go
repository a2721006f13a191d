package telemetry

import (
	"io"
	"sync"
	"time"
)

// bufferedSize is how many bytes of lines a BufferedWriter collects before
// it hands them to its flusher without waiting for the next tick.
const bufferedSize = 64 << 10

// BufferedWriter batches access-log lines into few write(2) calls: lines
// are buffered (up to 64 KiB) and flushed every interval, when the buffer
// fills, and on Close. At 17k requests/s an unbuffered access log spends
// 7–9% of the gateway's CPU in write(2) (docs/performance.md); buffering
// delays a line by at most the interval, like Envoy's access-log flush.
//
// Requests never wait for write(2) in the common case: a buffer is swapped
// out under the lock and written by the flusher goroutine after the lock
// is released, so a request finishing meanwhile appends to the next buffer
// (the access log is written before net/http sends the response, so a
// request stuck behind a slow stderr reader or a full pipe would be late).
// Only when a buffer fills while the previous full one is still waiting
// does the writing request write both itself: that back-pressure bounds
// memory to three buffers. Lines reach w in the order they were written.
type BufferedWriter struct {
	mu      sync.Mutex // guards buf, pending and free
	buf     []byte     // lines being collected
	pending []byte     // a full buffer handed to the flusher, not yet written
	free    [][]byte   // written buffers kept for reuse (at most two)

	wmu sync.Mutex // serialises writes to w; taken while mu is held, so buffers are written in the order they were swapped
	w   io.Writer

	kick chan struct{} // wakes the flusher when a buffer is pending
	stop chan struct{}
	done chan struct{}
}

// NewBufferedWriter flushes to w every interval.
func NewBufferedWriter(w io.Writer, interval time.Duration) *BufferedWriter {
	b := &BufferedWriter{
		w: w, buf: make([]byte, 0, bufferedSize),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go b.loop(interval)
	return b
}

// Write buffers p (one whole line: callers write complete lines). It is
// safe for concurrent use.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	if len(b.buf)+len(p) <= bufferedSize || len(b.buf) == 0 {
		b.buf = append(b.buf, p...)
		b.mu.Unlock()
		return len(p), nil
	}
	if b.pending == nil {
		// Hand the full buffer to the flusher; p starts the next one.
		b.pending = b.buf
		b.buf = append(b.next(), p...)
		b.mu.Unlock()
		select {
		case b.kick <- struct{}{}:
		default:
		}
		return len(p), nil
	}
	// The flusher is behind: write what is waiting here (back-pressure).
	err := b.writeLocked(true) // unlocks mu
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// next returns an empty buffer for collecting lines. mu is held.
func (b *BufferedWriter) next() []byte {
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free = b.free[:n-1]
		return buf[:0]
	}
	return make([]byte, 0, bufferedSize)
}

// writeLocked takes the pending buffer and, with all, the one being
// collected, then writes them in that order to w. It is called with mu
// held and releases it before writing (wmu is taken first, so a later
// swap cannot be written before these).
func (b *BufferedWriter) writeLocked(all bool) error {
	first := b.pending
	b.pending = nil
	var second []byte
	if all && len(b.buf) > 0 {
		second = b.buf
		b.buf = b.next()
	}
	b.wmu.Lock()
	b.mu.Unlock()
	var err error
	for _, buf := range [2][]byte{first, second} {
		if len(buf) > 0 && err == nil {
			_, err = b.w.Write(buf)
		}
	}
	b.wmu.Unlock()
	b.mu.Lock()
	for _, buf := range [2][]byte{first, second} {
		if buf != nil && len(b.free) < 2 && cap(buf) <= 2*bufferedSize {
			b.free = append(b.free, buf[:0])
		}
	}
	b.mu.Unlock()
	return err
}

// Flush writes what is buffered.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	if b.pending == nil && len(b.buf) == 0 {
		b.mu.Unlock()
		return nil
	}
	return b.writeLocked(true)
}

// Close stops the flusher and flushes what is left.
func (b *BufferedWriter) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
		<-b.done
	}
	return b.Flush()
}

func (b *BufferedWriter) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.kick:
			b.mu.Lock()
			if b.pending == nil {
				b.mu.Unlock()
				continue
			}
			_ = b.writeLocked(false)
		case <-t.C:
			_ = b.Flush()
		}
	}
}
