// Package httphead parses the plain HTTP/1.1 message heads that make up
// nearly all of a proxy's traffic, with the results net/http's
// http.ReadRequest and http.ReadResponse give for them, in far fewer
// allocations: the head is copied into one string, every method, path,
// header key and value is a substring of it, and the values share one
// backing slice.
//
// It parses only the plain cases and reports everything else (a bare LF,
// a folded line, a space before a colon, a percent-escaped path, a
// Transfer-Encoding, two Content-Lengths, HTTP/1.0, ...) as not handled,
// so the caller hands the same bytes to net/http, which judges them.
// What it accepts, net/http accepts with the same result; the fuzz
// targets beside it check that, field by field.
package httphead

import (
	"bytes"
	"net/http"
	"net/url"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// Request parses head, a whole request head (request line, header lines,
// each ending in CRLF, and the empty line), into req and u as
// http.ReadRequest would, for a request the lean server may serve itself:
// HTTP/1.1, a method other than CONNECT, HEAD and PRI, an origin-form
// target, exactly one valid Host header, no Transfer-Encoding, Upgrade or
// Expect header, at most one Content-Length. It reports false, leaving
// req and u partly set, for anything else.
func Request(head []byte, req *http.Request, u *url.URL) bool {
	var p parsed
	if !p.own(head) {
		return false
	}
	line := p.line
	// Method SP request-target SP HTTP/1.1: one space each (net/http
	// cuts at the first two spaces; anything odder is its call).
	m := 0
	for m < len(line) && isTokenByte(line[m]) {
		m++
	}
	if m == 0 || m >= len(line) || line[m] != ' ' {
		return false
	}
	method := line[:m]
	switch method {
	case "CONNECT", "HEAD", "PRI":
		return false
	}
	const proto = " HTTP/1.1"
	if len(line) < m+1+len(proto) || line[len(line)-len(proto):] != proto {
		return false
	}
	target := line[m+1 : len(line)-len(proto)]
	if !parseTarget(target, u) {
		return false
	}
	// Decided on the fields before the header map is built.
	nHost, host := p.count("Host")
	if nHost != 1 || !httpguts.ValidHostHeader(host) {
		return false
	}
	if u, _ := p.count("Upgrade"); u > 0 {
		return false
	}
	if e, _ := p.count("Expect"); e > 0 {
		return false
	}
	if t, _ := p.count("Transfer-Encoding"); t > 0 {
		return false
	}
	var n int64
	if nCL, cl := p.count("Content-Length"); nCL > 0 {
		var ok bool
		if n, ok = contentLength(nCL, cl); !ok {
			return false
		}
	}
	h := p.header()
	delete(h, "Host") // as http.ReadRequest
	fixPragmaCacheControl(h)
	*req = http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: n,
		Close:         httpguts.HeaderValuesContainsToken(h["Connection"], "close"),
		Host:          host,
		RequestURI:    target,
	}
	return true
}

// Response parses head, a whole response head, into res as
// http.ReadResponse would, for a response with a delimited body: HTTP/1.1,
// a three-digit status from 200 to 599 other than 204 and 304, and either
// exactly one Content-Length and no Transfer-Encoding, or one
// "Transfer-Encoding: chunked" without Content-Length or Trailer
// (res.ContentLength -1, res.TransferEncoding ["chunked"]; the caller
// reads the chunked body and its trailer section). (The caller knows the
// request was not HEAD.) res.Body and res.Request are left for the
// caller. It reports false for anything else.
func Response(head []byte, res *http.Response) bool {
	var p parsed
	if !p.own(head) {
		return false
	}
	status := p.line[min(len(p.line), len(statusProto)):]
	code, ok := statusLine(p.line)
	if !ok {
		return false
	}
	// Decided on the fields before the header map is built.
	var n int64
	var te []string
	nTE, v := p.count("Transfer-Encoding")
	nCL, cl := p.count("Content-Length")
	if nTE > 0 {
		nTrailer, _ := p.count("Trailer")
		if nTE != 1 || !EqualFoldASCII(v, "chunked") || nCL > 0 || nTrailer > 0 {
			return false
		}
		n, te = -1, chunked
	} else {
		if nCL == 0 {
			return false // delimited by the connection's close: net/http's way
		}
		if n, ok = contentLength(nCL, cl); !ok {
			return false
		}
	}
	h := p.header()
	if te != nil {
		delete(h, "Transfer-Encoding") // as http.ReadResponse
	}
	fixPragmaCacheControl(h)
	closing := httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	if closing {
		delete(h, "Connection") // http.ReadResponse does the same
	}
	*res = http.Response{
		Status:           status,
		StatusCode:       code,
		Proto:            "HTTP/1.1",
		ProtoMajor:       1,
		ProtoMinor:       1,
		Header:           h,
		ContentLength:    n,
		TransferEncoding: te,
		Close:            closing,
	}
	return true
}

const statusProto = "HTTP/1.1 "

// statusLine reads a status line Response accepts: "HTTP/1.1", a space,
// three digits, then the end or a space and the reason; a final status
// from 200 to 599 other than 204 and 304.
func statusLine(line string) (code int, ok bool) {
	if len(line) < len(statusProto)+3 || line[:len(statusProto)] != statusProto {
		return 0, false
	}
	status := line[len(statusProto):]
	for i := range 3 {
		d := status[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		code = code*10 + int(d-'0')
	}
	if len(status) > 3 && status[3] != ' ' {
		return 0, false
	}
	if code < 200 || code > 599 || code == 204 || code == 304 {
		return 0, false
	}
	return code, true
}

// chunked is Response.TransferEncoding of every chunked response parsed
// here (shared: nothing writes into it).
var chunked = []string{"chunked"}

// EqualFoldASCII reports whether a and b are equal under ASCII case
// folding only (HTTP tokens; strings.EqualFold would also fold 'K' and
// the Kelvin sign, which net/http does not).
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// field is one header line's key and value, as offsets into the head.
type field struct{ k0, k1, v0, v1 int }

// maxFields is the most header lines parsed here; a head with more is
// left to net/http (clients send 2 to 20).
const maxFields = 32

// parsed is a head copied into one string, with its first line and its
// header lines located. It lives on the caller's stack.
type parsed struct {
	s      string // the head
	line   string // the first line, without its CRLF
	n      int    // fields in use
	fields [maxFields]field
}

// maxHead bounds the heads parsed here; callers read heads of a few KiB.
const maxHead = 1 << 20

// own copies head into a string the results point into, in one pass:
// every line must end in CRLF, header keys must be tokens (they are put
// in canonical form, as textproto.CanonicalMIMEHeaderKey, in the copy
// before it becomes the string) followed by a colon, values must be
// textproto's value bytes (they are located without surrounding spaces
// and tabs), and the head must end with the empty line. Anything else
// (a folded line, a space before the colon, a bare LF, ...) is refused.
func (p *parsed) own(head []byte) bool {
	n := len(head)
	if n < 4 || n > maxHead || string(head[n-4:]) != "\r\n\r\n" {
		return false
	}
	b := make([]byte, n)
	copy(b, head)
	first := bytes.IndexByte(b, '\n')
	if first < 1 || b[first-1] != '\r' {
		return false
	}
	p.n = 0
	for i := first + 1; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 1 || b[i+j-1] != '\r' {
			return false
		}
		line := b[i : i+j-1]
		if len(line) == 0 {
			if i+j+1 != n {
				return false
			}
			break
		}
		if p.n == maxFields {
			return false
		}
		f, ok := headerLine(line, i)
		if !ok {
			return false
		}
		p.fields[p.n] = f
		p.n++
		i += j + 1
	}
	p.s = unsafe.String(&b[0], n) //nolint:gosec // b is not written again and does not escape otherwise (strings.Builder's way)
	p.line = p.s[:first-1]
	return true
}

// headerLine checks one header line (at offset off of the head),
// canonicalizes its key in place and locates its key and value.
func headerLine(line []byte, off int) (field, bool) {
	k := 0
	upper := true
	for ; k < len(line); k++ {
		c := line[k]
		if c == ':' {
			break
		}
		if !isTokenByte(c) {
			return field{}, false // also a folded line's leading space
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		line[k] = c
		upper = c == '-'
	}
	if k == 0 || k == len(line) {
		return field{}, false
	}
	v0, v1 := k+1, len(line)
	for i := v0; i < v1; i++ {
		if !validValueByte(line[i]) {
			return field{}, false
		}
	}
	for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
		v0++
	}
	for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
		v1--
	}
	return field{k0: off, k1: off + k, v0: off + v0, v1: off + v1}, true
}

// count reports how many fields of p have the canonical key, and the
// first one's value.
func (p *parsed) count(key string) (n int, first string) {
	for _, f := range p.fields[:p.n] {
		if f.k1-f.k0 == len(key) && p.s[f.k0:f.k1] == key {
			if n == 0 {
				first = p.s[f.v0:f.v1]
			}
			n++
		}
	}
	return n, first
}

// header builds the header map of p, as textproto's ReadMIMEHeader:
// repeated keys keep their values in order; single values share one
// backing slice.
func (p *parsed) header() http.Header {
	h := make(http.Header, p.n)
	if p.n == 0 {
		return h
	}
	vals := make([]string, p.n)
	for _, f := range p.fields[:p.n] {
		key, v := p.s[f.k0:f.k1], p.s[f.v0:f.v1]
		if vv, ok := h[key]; ok {
			h[key] = append(vv, v)
			continue
		}
		vals[0] = v
		h[key], vals = vals[:1:1], vals[1:]
	}
	return h
}

// contentLength reads the one Content-Length value (of count) net/http
// reads the same way: 1 to 18 digits (two values, even equal ones, are
// left to it).
func contentLength(count int, v string) (int64, bool) {
	if count != 1 || len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		d := v[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// fixPragmaCacheControl is net/http's rule (RFC 7234, section 5.4).
func fixPragmaCacheControl(h http.Header) {
	if hp, ok := h["Pragma"]; ok && len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
}

// parseTarget sets u from an origin-form request target as
// url.ParseRequestURI would, for targets whose path needs no escaping
// (no percent sign, no byte the path would be escaped for) and whose
// query is printable ASCII.
func parseTarget(t string, u *url.URL) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	path, query, hasQuery := t, "", false
	for i := 0; i < len(t); i++ {
		if t[i] == '?' {
			path, query, hasQuery = t[:i], t[i+1:], true
			break
		}
		if !isPathByte(t[i]) {
			return false
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return true
}

// Byte classes, as 128-bit sets.
type byteSet [2]uint64

func (s *byteSet) has(c byte) bool { return c < 128 && s[c>>6]&(1<<(c&63)) != 0 }

func makeSet(chars string) byteSet {
	var s byteSet
	for i := 0; i < len(chars); i++ {
		c := chars[i]
		s[c>>6] |= 1 << (c & 63)
	}
	return s
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var (
	// tchar, RFC 9110 section 5.6.2 (textproto's validHeaderFieldByte).
	tokenSet = makeSet(alnum + "!#$%&'*+-.^_`|~")
	// Path bytes net/url keeps as they are (unreserved, and the reserved
	// ones it does not escape in a path): such a path has no RawPath.
	pathSet = makeSet(alnum + "-._~$&+,/:;=@")
)

func isTokenByte(c byte) bool { return tokenSet.has(c) }
func isPathByte(c byte) bool  { return pathSet.has(c) }

// validValueByte is textproto's rule for a header value byte: VCHAR, SP,
// HTAB or obs-text.
func validValueByte(c byte) bool { return c >= 0x80 || c == '\t' || (c >= 0x20 && c != 0x7f) }

// ResponseLine reports whether line (without its line end) may be part
// of a head Response accepts: the status line when status is set, else a
// header line (a token key, a colon and
// value bytes). A reader that waits for a whole head checks each line as
// it arrives and stops at the first that is not, where net/http stops too
// (with an error).
func ResponseLine(line []byte, status bool) bool {
	if status {
		_, ok := statusLine(string(line))
		return ok
	}
	k := 0
	for k < len(line) && line[k] != ':' {
		if !isTokenByte(line[k]) {
			return false
		}
		k++
	}
	if k == 0 || k == len(line) {
		return false
	}
	for _, c := range line[k+1:] {
		if !validValueByte(c) {
			return false
		}
	}
	return true
}
