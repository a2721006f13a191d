package listen

import (
	"bufio"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/agentgw/agentgateway/internal/httphead"
)

// Header helpers of the lean response writer, each matching net/http's
// rule of the same name.

// extraHeader holds the headers the server adds (net/http's order).
type extraHeader struct {
	contentType      string
	connection       string
	transferEncoding string
	date             []byte
	contentLength    []byte
}

func (h *extraHeader) write(w *bufio.Writer) {
	if h.date != nil {
		_, _ = w.WriteString("Date: ")
		_, _ = w.Write(h.date)
		_, _ = w.Write(crlf)
	}
	if h.contentLength != nil {
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.Write(h.contentLength)
		_, _ = w.Write(crlf)
	}
	for i, v := range [3]string{h.contentType, h.connection, h.transferEncoding} {
		if v != "" {
			_, _ = w.WriteString([3]string{"Content-Type: ", "Connection: ", "Transfer-Encoding: "}[i])
			_, _ = w.WriteString(v)
			_, _ = w.Write(crlf)
		}
	}
}

func writeStatusLine(bw *bufio.Writer, code int, scratch []byte) {
	_, _ = bw.WriteString("HTTP/1.1 ")
	if text := http.StatusText(code); text != "" {
		_, _ = bw.Write(strconv.AppendInt(scratch[:0], int64(code), 10))
		_ = bw.WriteByte(' ')
		_, _ = bw.WriteString(text)
		_, _ = bw.WriteString("\r\n")
	} else {
		_, _ = fmt.Fprintf(bw, "%03d status code %d\r\n", code, code)
	}
}

func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == 204, status == 304:
		return false
	}
	return true
}

func suppressedHeaders(status int) []string {
	switch {
	case status == 304:
		return []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	case !bodyAllowedForStatus(status):
		return []string{"Content-Length", "Transfer-Encoding"}
	}
	return nil
}

func isProtocolSwitchResponse(code int, h http.Header) bool {
	return code == http.StatusSwitchingProtocols && h.Get("Upgrade") != "" &&
		httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade")
}

// foreachHeaderElement calls fn for each non-empty element of a
// comma-separated header value.
func foreachHeaderElement(v string, fn func(string)) {
	v = textproto.TrimString(v)
	if v == "" {
		return
	}
	if !strings.Contains(v, ",") {
		fn(v)
		return
	}
	for f := range strings.SplitSeq(v, ",") {
		if f = textproto.TrimString(f); f != "" {
			fn(f)
		}
	}
}

// hasToken reports whether token appears in v, case-insensitively, on
// space, comma or tab boundaries (net/http's rule).
func hasToken(v, token string) bool {
	if len(token) > len(v) || token == "" {
		return false
	}
	if v == token {
		return true
	}
	for sp := 0; sp <= len(v)-len(token); sp++ {
		if b := v[sp]; b != token[0] && b|0x20 != token[0] {
			continue
		}
		if sp > 0 && !isTokenBoundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !isTokenBoundary(v[end]) {
			continue
		}
		if httphead.EqualFoldASCII(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

// dateCache holds the formatted Date of the current second.
type dateCache struct {
	sec int64
	b   []byte
}

var dateNow atomic.Pointer[dateCache]

func httpDate() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := dateNow.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &dateCache{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, len(http.TimeFormat)), http.TimeFormat)}
	dateNow.Store(d)
	return d.b
}
