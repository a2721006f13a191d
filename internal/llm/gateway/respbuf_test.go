package gateway

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadPooled(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	tests := []struct {
		name    string
		r       io.Reader
		n       int64
		want    string
		wantErr bool
	}{
		{"known length", strings.NewReader(`{"id":"a"}`), 10, `{"id":"a"}`, false},
		{"unknown length", strings.NewReader(`{"id":"b"}`), -1, `{"id":"b"}`, false},
		{"length understated", strings.NewReader(`{"id":"longer"}`), 3, `{"id":"longer"}`, false},
		{"length overstated", strings.NewReader(`{}`), 500, `{}`, false},
		{"empty", strings.NewReader(""), 0, "", false},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(`{"id":"c"}`)), -1, `{"id":"c"}`, false},
		{"larger than the pooled cap", strings.NewReader(big), -1, big, false},
		{"declared length above the up-front cap", iotest.HalfReader(strings.NewReader(big)), int64(len(big)), big, false},
		{"read error", io.MultiReader(strings.NewReader("par"), iotest.ErrReader(errors.New("boom"))), -1, "par", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bp, err := readPooled(tt.r, tt.n, MaxResponseBytes+1)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if string(*bp) != tt.want {
				t.Fatalf("got %d bytes %.20q, want %d bytes", len(*bp), *bp, len(tt.want))
			}
			releaseResp(bp)
		})
	}
}

// An upstream that declares a large Content-Length and sends nothing does
// not make readPooled allocate it.
func TestReadPooledDeclaredLengthNotTrusted(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	bp, _ := readPooled(iotest.ErrReader(errors.New("quiet")), 8<<20, MaxResponseBytes+1)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got >= 1<<20 {
		t.Fatalf("%d bytes allocated for an answer that sent nothing (declared 8 MiB)", got)
	}
	releaseResp(bp)
}

// A buffer handed back is reused, and a reused buffer holds only the new
// answer (no bytes of the previous one).
func TestReadPooledReuse(t *testing.T) {
	first, _ := readPooled(strings.NewReader(strings.Repeat("a", 2000)), 2000, MaxResponseBytes+1)
	keep := bytes.Clone(*first)
	releaseResp(first)
	second, _ := readPooled(strings.NewReader("bb"), 2, MaxResponseBytes+1)
	if string(*second) != "bb" {
		t.Fatalf("reused buffer holds %q", *second)
	}
	if string(keep) != strings.Repeat("a", 2000) {
		t.Fatal("a clone taken before release changed")
	}
	releaseResp(second)
}
