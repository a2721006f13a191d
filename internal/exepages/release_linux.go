package exepages

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Release drops the process's mappings of the executable's read-only
// pages (see the package comment) and returns the resident bytes it
// released. It does nothing while a debugger is attached.
func Release() (int64, error) {
	if traced() {
		return 0, nil
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	maps, err := ParseSmaps(f)
	_ = f.Close()
	if err != nil {
		return 0, err
	}
	var released int64
	var errs []error
	for _, m := range maps {
		if !m.releasable(st.Ino, exe) {
			continue
		}
		_, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.Start), uintptr(m.End-m.Start), syscall.MADV_DONTNEED)
		if e != 0 {
			errs = append(errs, fmt.Errorf("madvise %x-%x: %w", m.Start, m.End, e))
			continue
		}
		released += m.Rss
	}
	return released, errors.Join(errs...)
}

// traced reports a tracer (debugger) attached to the process.
func traced() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true // unknown: be safe
	}
	_, rest, ok := bytes.Cut(b, []byte("\nTracerPid:"))
	if !ok {
		return true
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	return string(bytes.TrimSpace(line)) != "0"
}
