package pipeline

import "io"

// ReadAllSized is io.ReadAll with the buffer sized from a known length
// (a Content-Length): one allocation instead of io.ReadAll's 512-byte
// start and doublings. n unknown (≤ 0) or above limit falls back to
// io.ReadAll; a body longer than n is still read whole.
func ReadAllSized(r io.Reader, n, limit int64) ([]byte, error) {
	if n <= 0 || n > limit {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, n+1) // +1: io.ReadAll-style EOF probe without a regrow
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
			rest, err := io.ReadAll(r)
			return append(b, rest...), err
		}
	}
}
