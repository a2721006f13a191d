package admin

import (
	"runtime"
	"strings"
	"testing"
)

func TestDefaultHeapProfilingKeepsGODEBUG(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		off     bool
	}{
		{"", true},
		{"gctrace=1", true},
		{"memprofilerate=1", false},
		{"gctrace=1, memprofilerate=0", false},
		{"xmemprofilerate=1", true},
	} {
		t.Run(tc.godebug, func(t *testing.T) {
			restore := saveHeapProfiling(t)
			defer restore()
			runtime.MemProfileRate = 4096
			if got := DefaultHeapProfiling(tc.godebug); got != tc.off {
				t.Fatalf("DefaultHeapProfiling(%q) = %v, want %v", tc.godebug, got, tc.off)
			}
			want := 4096
			if tc.off {
				want = 0
			}
			if runtime.MemProfileRate != want {
				t.Fatalf("MemProfileRate = %d, want %d", runtime.MemProfileRate, want)
			}
		})
	}
}

// TestHeapProfileStartsOnFirstUse: with profiling off, a binary heap or
// allocs profile is refused once with 503 saying why, and sampling is on
// from then; the text form and a delta profile are served at once.
func TestHeapProfileStartsOnFirstUse(t *testing.T) {
	h, _ := newTestAdmin(nil)
	for _, tc := range []struct {
		path      string
		firstCode int
	}{
		{"/debug/pprof/heap", 503},
		{"/debug/pprof/allocs", 503},
		{"/debug/pprof/heap?debug=1", 200},
		{"/debug/pprof/allocs?seconds=1", 200},
	} {
		t.Run(tc.path, func(t *testing.T) {
			restore := saveHeapProfiling(t)
			defer restore()
			DefaultHeapProfiling("")
			w := do(t, h, "GET", tc.path, nil, nil)
			if w.Code != tc.firstCode {
				t.Fatalf("first GET: %d %q, want %d", w.Code, w.Body.String(), tc.firstCode)
			}
			if w.Code == 503 && (!strings.Contains(w.Body.String(), "memprofilerate") || w.Header().Get("Retry-After") == "") {
				t.Errorf("503 does not explain itself: %q, Retry-After %q", w.Body.String(), w.Header().Get("Retry-After"))
			}
			if runtime.MemProfileRate != defaultMemProfileRate {
				t.Fatalf("MemProfileRate after the first GET = %d, want %d", runtime.MemProfileRate, defaultMemProfileRate)
			}
			if w := do(t, h, "GET", tc.path, nil, nil); w.Code != 200 || w.Body.Len() == 0 {
				t.Fatalf("second GET: %d, %d bytes", w.Code, w.Body.Len())
			}
		})
	}
	// Profiling on from the start (GODEBUG): served at once.
	restore := saveHeapProfiling(t)
	defer restore()
	DefaultHeapProfiling("memprofilerate=524288")
	if w := do(t, h, "GET", "/debug/pprof/heap", nil, nil); w.Code != 200 {
		t.Fatalf("heap with GODEBUG's rate: %d", w.Code)
	}
}

func saveHeapProfiling(t *testing.T) func() {
	t.Helper()
	rate := runtime.MemProfileRate
	heapProfiling.Lock()
	off := heapProfiling.off
	heapProfiling.off = false
	heapProfiling.Unlock()
	return func() {
		heapProfiling.Lock()
		heapProfiling.off = off
		heapProfiling.Unlock()
		runtime.MemProfileRate = rate
	}
}
