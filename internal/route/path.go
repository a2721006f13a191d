package route

import (
	"net/http"
	"net/url"
	"strings"
)

// NormalizePath returns the canonical form of an escaped request path (as
// returned by url.URL.EscapedPath), which is what the router matches on:
//
//   - percent-encoded unreserved characters (ALPHA, DIGIT, '-', '.', '_', '~')
//     are decoded (RFC 3986 §6.2.2.2), so "%2e%2e" is a dot-segment and
//     "/%61pi" is "/api";
//   - duplicate slashes are merged ("/a//b" is "/a/b");
//   - "." and ".." segments are resolved (RFC 3986 §5.2.4), never climbing
//     above the root; a trailing dot-segment leaves a trailing slash
//     ("/a/b/.." is "/a/");
//   - every other escape, notably %2F (an encoded slash) and %25, is kept as
//     it is: an encoded slash is never turned into a segment boundary;
//   - a stray '%' not followed by two hex digits (which EscapedPath never
//     produces) is written as "%25".
//
// An empty path becomes "/". A path that does not start with '/' (such as
// "*" for "OPTIONS *") is returned unchanged. NormalizePath does not allocate
// when p is already normal, which is the common case, and it is idempotent.
func NormalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' || !needsNormalize(p) {
		return p
	}
	dec := decodeUnreserved(p)
	out := make([]byte, 0, len(dec))
	trailing := false
	for i := 1; i <= len(dec); {
		j := strings.IndexByte(dec[i:], '/')
		last := j < 0
		if last {
			j = len(dec) - i
		}
		seg := dec[i : i+j]
		i += j + 1
		switch seg {
		case "", ".":
			trailing = last
		case "..":
			if k := lastSlash(out); k >= 0 {
				out = out[:k]
			}
			trailing = last
		default:
			out = append(out, '/')
			out = append(out, seg...)
			trailing = false
		}
	}
	if trailing || len(out) == 0 {
		out = append(out, '/')
	}
	return string(out)
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

// needsNormalize reports whether p (starting with '/') has a duplicate slash,
// a dot-segment or an escaped unreserved character.
func needsNormalize(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '/':
			rest := p[i+1:]
			if rest != "" && rest[0] == '/' {
				return true
			}
			if isDotSegment(rest) {
				return true
			}
		case '%':
			if i+2 >= len(p) {
				return true // stray '%'
			}
			if c, ok := unhex2(p[i+1], p[i+2]); !ok || unreserved(c) {
				return true
			}
		}
	}
	return false
}

// isDotSegment reports whether rest begins with a "." or ".." segment.
func isDotSegment(rest string) bool {
	if rest == "" || rest[0] != '.' {
		return false
	}
	if len(rest) == 1 || rest[1] == '/' {
		return true
	}
	return rest[1] == '.' && (len(rest) == 2 || rest[2] == '/')
}

func decodeUnreserved(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		c, ok := byte(0), false
		if i+2 < len(p) {
			c, ok = unhex2(p[i+1], p[i+2])
		}
		switch {
		case !ok:
			b.WriteString("%25") // a stray '%' stands for itself
		case unreserved(c):
			b.WriteByte(c)
			i += 2
		default:
			b.WriteString(p[i : i+3])
			i += 2
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// NormalizeRequest returns r with its URL path normalized by NormalizePath.
// When the path is already normal it returns r itself (no allocation);
// otherwise it returns a shallow copy with a copied URL whose RawPath is the
// normalized escaped path and whose Path is its decoded form, so the backend
// forwards exactly the path the router matched.
func NormalizeRequest(r *http.Request) *http.Request {
	p := r.URL.EscapedPath()
	n := NormalizePath(p)
	if n == p {
		return r
	}
	dec, err := url.PathUnescape(n)
	if err != nil {
		return r
	}
	u := *r.URL
	u.Path = dec
	u.RawPath = n
	r2 := r.WithContext(r.Context())
	r2.URL = &u
	return r2
}

// splitSegments walks the segments of a normalized path without allocating.
// It calls fn for each segment after the leading slash and stops when fn
// returns false.
func splitSegments(p string, fn func(seg string) bool) {
	if p == "" || p[0] != '/' {
		return
	}
	for i := 1; i < len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			fn(p[i:])
			return
		}
		if !fn(p[i : i+j]) {
			return
		}
		i += j + 1
	}
}
