package admin

import (
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"sync"
)

// Heap profiling is off until someone asks for a heap profile. The Go
// runtime samples one allocation per 512 KiB by default and keeps a
// record per distinct call stack, found through a 1.4 MiB hash table;
// a gateway that has carried HTTP, LLM and MCP traffic holds about
// 1 MiB more RSS for it (measured: docs/performance.md, "Memory,
// session 10"), and walks a stack for every sample. Envoy's heap
// profiler is off by default too.
//
// GODEBUG=memprofilerate=N, read by the runtime before main, keeps its
// rate. Otherwise the first GET of /debug/pprof/heap or /debug/pprof/allocs
// turns sampling on at the runtime's default rate, from then on.

// defaultMemProfileRate is the runtime's default (runtime.MemProfileRate).
const defaultMemProfileRate = 512 * 1024

var heapProfiling struct {
	sync.Mutex
	off bool // DefaultHeapProfiling turned it off and nobody has asked since
}

// DefaultHeapProfiling turns the runtime's heap profiling off unless
// godebug (the GODEBUG environment variable) sets memprofilerate. Call
// it at the start of main. It reports whether it turned profiling off.
func DefaultHeapProfiling(godebug string) bool {
	for _, kv := range strings.Split(godebug, ",") {
		if k, _, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "memprofilerate" {
			return false
		}
	}
	heapProfiling.Lock()
	defer heapProfiling.Unlock()
	runtime.MemProfileRate = 0
	heapProfiling.off = true
	return true
}

// startHeapProfiling turns sampling on if DefaultHeapProfiling turned it
// off; it reports whether it did.
func startHeapProfiling() bool {
	heapProfiling.Lock()
	defer heapProfiling.Unlock()
	if !heapProfiling.off {
		return false
	}
	heapProfiling.off = false
	runtime.MemProfileRate = defaultMemProfileRate
	return true
}

// heapProfileHandler serves the named profile ("heap" or "allocs") as
// net/http/pprof does, first turning heap profiling on. A profile that
// would be empty because sampling starts only now is refused with 503 and
// says so; the text form (debug=1: its runtime.MemStats are whole) and a
// delta profile (seconds=N: it covers only what comes next) are served.
func heapProfileHandler(name string) http.HandlerFunc {
	h := pprof.Handler(name)
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if startHeapProfiling() && (q.Get("debug") == "" || q.Get("debug") == "0") && (q.Get("seconds") == "" || q.Get("seconds") == "0") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("heap profiling was off (the default, to save memory) and is on from now: " +
				"ask again once the traffic you want to see has run, ask for a delta (" + r.URL.Path + "?seconds=30), " +
				"or start the gateway with GODEBUG=memprofilerate=524288 to sample from the start\n"))
			return
		}
		h.ServeHTTP(w, r)
	}
}
