// Package phttp holds the HTTP helpers the route policies share: a
// ResponseWriter wrapper that lets a policy edit response headers exactly
// once just before they are sent, header name/value validation, and small
// host and scheme helpers.
package phttp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Header is one header name and value as given in config.
type Header struct{ Name, Value string }

// Hook edits response headers before they are sent.
type Hook interface {
	// BeforeHeaders is called once per response, with the header map about
	// to be sent and the status (200 when the handler wrote a body, or
	// nothing at all, without calling WriteHeader).
	BeforeHeaders(h http.Header, status int)
}

// Writer wraps an http.ResponseWriter and calls its Hook exactly once, at the
// first final WriteHeader, Write, ReadFrom or Flush, or at Finish if the
// handler wrote nothing. 1xx informational responses (other than 101) pass
// through untouched. It keeps Flush (http.Flusher), Hijack (http.Hijacker),
// io.ReaderFrom and Unwrap, so http.ResponseController works through it.
//
// Writer is meant to be embedded in a policy's per-request struct so one
// allocation covers both; call Reset before use.
type Writer struct {
	rw   http.ResponseWriter
	hook Hook
	done bool
}

// NewWriter returns a Writer around rw calling hook.
func NewWriter(rw http.ResponseWriter, hook Hook) *Writer {
	return &Writer{rw: rw, hook: hook}
}

// Reset points w at rw and hook.
func (w *Writer) Reset(rw http.ResponseWriter, hook Hook) {
	w.rw, w.hook, w.done = rw, hook, false
}

func (w *Writer) apply(status int) {
	if !w.done {
		w.done = true
		w.hook.BeforeHeaders(w.rw.Header(), status)
	}
}

// Header returns the wrapped writer's header map.
func (w *Writer) Header() http.Header { return w.rw.Header() }

// WriteHeader runs the hook (for a final status) and sends the header.
func (w *Writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.apply(code)
	}
	w.rw.WriteHeader(code)
}

// Write runs the hook if the header was not sent yet and writes p.
func (w *Writer) Write(p []byte) (int, error) {
	w.apply(http.StatusOK)
	return w.rw.Write(p)
}

// ReadFrom runs the hook and copies from src, using the wrapped writer's
// ReadFrom (sendfile) when it has one.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	w.apply(http.StatusOK)
	return io.Copy(w.rw, src)
}

// FlushError runs the hook and flushes; http.ResponseController uses it.
func (w *Writer) FlushError() error {
	w.apply(http.StatusOK)
	switch f := w.rw.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(w.rw).Flush()
}

// Flush implements http.Flusher.
func (w *Writer) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker through the wrapped writer. The hook does
// not run: whoever hijacks writes the response.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.done = true
	}
	return c, rw, err
}

// AdoptHeader passes the header on (Header is the wrapped writer's; the
// hook sees whatever map is the header when it runs).
func (w *Writer) AdoptHeader(h http.Header) bool {
	a, ok := w.rw.(interface{ AdoptHeader(http.Header) bool })
	return ok && a.AdoptHeader(h)
}

// Unwrap returns the wrapped writer (for http.ResponseController).
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }

// Finish runs the hook if nothing was written, so headers still apply to the
// implicit empty 200 net/http sends when the handler returns. Call it after
// the next handler returns.
func (w *Writer) Finish() { w.apply(http.StatusOK) }

// ValidHeaderName reports whether s is an RFC 9110 token.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether s may be sent as a field value: no CR, LF,
// NUL or other control characters except horizontal tab.
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// CheckHeader returns an error naming what is wrong with a configured header.
func CheckHeader(name, value string) error {
	if !ValidHeaderName(name) {
		return fmt.Errorf("invalid header name %q", name)
	}
	if !ValidHeaderValue(value) {
		return fmt.Errorf("header %q: value has control characters", name)
	}
	return nil
}

// SplitHostPort splits "host:port", "[v6]:port", "host" or "[v6]" without
// failing; port is "" when absent. The brackets of an IPv6 literal are kept.
func SplitHostPort(hostport string) (host, port string) {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i > 0 {
			host, rest := hostport[:i+1], hostport[i+1:]
			if strings.HasPrefix(rest, ":") {
				return host, rest[1:]
			}
			return host, ""
		}
		return hostport, ""
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && strings.IndexByte(hostport[:i], ':') < 0 {
		return hostport[:i], hostport[i+1:]
	}
	return hostport, ""
}

// Scheme is the scheme the client used to reach the gateway: "https" over
// TLS, else "http". Client-sent X-Forwarded-Proto is never trusted.
func Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// DefaultPort reports whether port is the default for scheme.
func DefaultPort(scheme, port string) bool {
	return scheme == "http" && port == "80" || scheme == "https" && port == "443"
}
