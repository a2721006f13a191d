package pipeline

import (
	"errors"
	"runtime"
	"testing"
)

type stalledBody struct{}

func (stalledBody) Read([]byte) (int, error) { return 0, errors.New("client went quiet") }

// TestReadAllSizedDoesNotTrustTheDeclaredLength (found in review): a
// ~120-byte request head declaring Content-Length: 4194304 (the MCP cap)
// and then sending nothing must not hold 4 MiB (the server has no
// ReadTimeout, and h2c carries 100 streams per connection). The buffer
// starts at 64 KiB at most and grows as bytes arrive.
func TestReadAllSizedDoesNotTrustTheDeclaredLength(t *testing.T) {
	const declared = 4 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = ReadAllSized(stalledBody{}, declared, declared)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got >= declared {
		t.Fatalf("%d bytes allocated for a body that sent 0 bytes (declared %d)", got, declared)
	}
}
