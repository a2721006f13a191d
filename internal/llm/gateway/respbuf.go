package gateway

import (
	"io"
	"sync"
)

// respBufs recycles the buffers non-streamed upstream answers are read
// into. A buffer goes back once its bytes were written to the client:
// the parsers copy what outlives the write (the model name, the usage
// counts) out of it. It saves ~1 KiB of garbage per chat completion, a
// tenth of what a call allocates (docs/performance.md).
var respBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledResp is the largest buffer kept for reuse.
const maxPooledResp = 64 << 10

// maxUpfrontResp bounds what readPooled allocates on an upstream's
// declared Content-Length before the bytes have come.
const maxUpfrontResp = 64 << 10

// readPooled reads r to EOF into a pooled buffer, sized from n (a
// Content-Length, -1 if unknown) like readAllSized, and returns it in *bp.
// Pass bp to releaseResp when nothing refers to the bytes any more.
// At most limit bytes are read (io.LimitReader without its allocation).
func readPooled(r io.Reader, n, limit int64) (bp *[]byte, err error) {
	bp = respBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if n > 0 && n < MaxResponseBytes && int64(cap(b)) < n+1 {
		// +1: the EOF probe without a regrow. At most 64 KiB on the
		// declared length alone: the rest grows as the bytes come.
		b = make([]byte, 0, min(n+1, maxUpfrontResp))
	}
	for {
		if int64(len(b)) >= limit {
			*bp = b
			return bp, nil
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow (amortised doubling)
		}
		var m int
		m, err = r.Read(b[len(b):min(int64(cap(b)), limit)])
		b = b[:len(b)+m]
		if err != nil {
			*bp = b
			if err == io.EOF {
				err = nil
			}
			return bp, err
		}
	}
}

// releaseResp returns a buffer from readPooled to the pool.
func releaseResp(bp *[]byte) {
	if cap(*bp) > maxPooledResp {
		*bp = nil
	}
	*bp = (*bp)[:0]
	respBufs.Put(bp)
}
