package exepages

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestRelease releases the test binary's own read-only pages: the process
// keeps running (it maps back what it uses) and its file-backed RSS drops.
func TestRelease(t *testing.T) {
	if traced() {
		t.Skip("running under a debugger")
	}
	before := rssFile(t)
	released, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if released <= 0 {
		t.Fatalf("released %d bytes, want > 0", released)
	}
	if after >= before {
		t.Errorf("RssFile %d KiB before, %d KiB after: want a drop", before>>10, after>>10)
	}
	t.Logf("released %d KiB; RssFile %d -> %d KiB", released>>10, before>>10, after>>10)
	// A second call finds the pages the test touched since and nothing breaks.
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
}
