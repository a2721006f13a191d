package llm

import (
	"sync"
	"sync/atomic"
)

// BodyBuf is a pooled, reference-counted upstream request body: the
// provider fills B, the gateway holds one reference until the attempt is
// over and every body reader handed to the transport holds one until the
// transport closes it (the transport may read a request body after
// RoundTrip returns, Go issue 46866). The last Release returns it.
type BodyBuf struct {
	B    []byte
	refs atomic.Int32
}

var bodyBufs = sync.Pool{New: func() any { return new(BodyBuf) }}

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 64 << 10

// NewBodyBuf returns an empty buffer holding one reference.
func NewBodyBuf() *BodyBuf {
	b := bodyBufs.Get().(*BodyBuf)
	b.B = b.B[:0]
	b.refs.Store(1)
	return b
}

// Retain adds a reference (nil: no-op).
func (b *BodyBuf) Retain() {
	if b != nil {
		b.refs.Add(1)
	}
}

// Release drops a reference (nil: no-op); the last one recycles b.
func (b *BodyBuf) Release() {
	if b == nil {
		return
	}
	if b.refs.Add(-1) != 0 {
		return
	}
	if cap(b.B) > maxPooledBody {
		b.B = nil
	}
	b.B = b.B[:0]
	bodyBufs.Put(b)
}

// Refs is the number of references held (tests).
func (b *BodyBuf) Refs() int32 { return b.refs.Load() }
