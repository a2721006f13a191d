package pipeline

import (
	"io"
	"slices"
)

// maxUpfront bounds what ReadAllSized allocates on a length alone, before
// the bytes have come: a client that declares 4 MiB and sends nothing
// must not hold 4 MiB.
const maxUpfront = 64 << 10

// ReadAllSized is io.ReadAll with the buffer sized from a known length
// (a Content-Length): one allocation for a body up to 64 KiB instead of
// io.ReadAll's 512-byte start and doublings; a longer one starts at
// 64 KiB and grows as it arrives, up to n, in doublings. n unknown (≤ 0)
// or above limit falls back to io.ReadAll; a body longer than n is still
// read whole.
func ReadAllSized(r io.Reader, n, limit int64) ([]byte, error) {
	return ReadAllSizedInto(nil, r, n, limit)
}

// ReadAllSizedInto is ReadAllSized reading into dst[:0] when its capacity
// holds what ReadAllSized would allocate up front (a pooled buffer);
// otherwise, or when n is unknown, it allocates as ReadAllSized does. The
// result aliases dst only in the first case.
func ReadAllSizedInto(dst []byte, r io.Reader, n, limit int64) ([]byte, error) {
	if n <= 0 || n > limit {
		return io.ReadAll(r)
	}
	want := n + 1 // +1: io.ReadAll-style EOF probe without a regrow
	b := dst[:0]
	if int64(cap(b)) < min(want, maxUpfront) {
		b = make([]byte, 0, min(want, maxUpfront))
	}
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			if int64(cap(b)) >= want { // longer than declared
				rest, err := io.ReadAll(r)
				return append(b, rest...), err
			}
			b = slices.Grow(b, int(min(want, 2*int64(cap(b))))-len(b))
		}
	}
}
