// Package exepages gives back the pages of the gateway's own executable
// that only start-up needed.
//
// Package initialisation (protobuf registries, cloud SDK endpoint tables,
// CEL's type provider) and the first config compile execute and read code
// and data scattered over most of the binary. The kernel maps file pages
// 64 KiB around each fault, so after start-up about half of the 49 MiB
// executable counts in the process's RSS although the request path uses a
// fraction of it. Release drops the process's mappings of those pages with
// madvise(MADV_DONTNEED); the pages stay in the page cache (shared, clean,
// reclaimable), and what the running gateway needs again is mapped back by
// a minor fault on first use.
//
// Only read-only mappings of the executable file with no private
// (copy-on-write) page are released: for those, MADV_DONTNEED cannot lose
// anything, because every page is identical to the file. Writable mappings
// (.data, .bss, the GOT) are never touched, nor is anything while a
// debugger is attached (its breakpoints are private text pages).
package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Mapping is one region of /proc/self/smaps.
type Mapping struct {
	Start, End uint64
	Perms      string
	Inode      uint64
	Path       string
	Rss        int64 // bytes
	Anonymous  int64 // bytes: private copies (copy-on-write) of file pages
}

// releasable reports whether m maps the executable (matched by inode and
// path), read-only, with no private copy of a page (Anonymous: a page
// written through the mapping, e.g. a relocation or a breakpoint). Dirty
// page-cache pages (a binary just written, not yet flushed) count in
// Private_Dirty but are still the file's pages, so they do not block it.
func (m Mapping) releasable(inode uint64, path string) bool {
	if m.Inode != inode || m.Path != path || len(m.Perms) < 4 {
		return false
	}
	if m.Perms[0] != 'r' || m.Perms[1] != '-' || m.Perms[3] != 'p' {
		return false
	}
	return m.Anonymous == 0 && m.End > m.Start
}

// ParseSmaps reads the smaps format: a header line per mapping
// ("start-end perms offset dev inode [path]") followed by "Key: N kB"
// lines. Lines it does not understand are skipped; a malformed header is
// an error naming the line.
func ParseSmaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if key, val, ok := bytes.Cut(b, []byte(":")); ok && isKey(key) {
			if len(out) == 0 {
				continue
			}
			m := &out[len(out)-1]
			switch string(key) {
			case "Rss":
				m.Rss = kib(val)
			case "Anonymous":
				m.Anonymous = kib(val)
			}
			continue
		}
		m, err := parseHeader(b)
		if err != nil {
			return nil, fmt.Errorf("smaps line %d: %w", line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// isKey reports a smaps field name: letters, digits and '_' only (a
// mapping header has '-' and spaces before any ':').
func isKey(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// kib parses " 1234 kB" into bytes; anything else is 0.
func kib(v []byte) int64 {
	f := bytes.Fields(v)
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return 0
	}
	return n << 10
}

func parseHeader(b []byte) (Mapping, error) {
	f := bytes.Fields(b)
	if len(f) < 5 {
		return Mapping{}, fmt.Errorf("mapping header %q: want at least 5 fields", b)
	}
	lo, hi, ok := bytes.Cut(f[0], []byte("-"))
	if !ok {
		return Mapping{}, fmt.Errorf("mapping range %q", f[0])
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	inode, err3 := strconv.ParseUint(string(f[4]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || end < start {
		return Mapping{}, fmt.Errorf("mapping header %q", b)
	}
	m := Mapping{Start: start, End: end, Perms: string(f[1]), Inode: inode}
	if len(f) > 5 {
		// The path is the rest of the line (it may hold spaces).
		i := bytes.Index(b, f[5])
		m.Path = string(bytes.TrimRight(b[i:], " "))
	}
	return m, nil
}
