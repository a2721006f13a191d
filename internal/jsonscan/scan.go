package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Byte-level reads and edits of a JSON object: the LLM gateway's
// same-dialect fast path forwards a client's body as it came with only the
// top-level members it owns (model, stream_options) replaced or added, and
// the MCP gateway reads a JSON-RPC message's members without a decode into
// a map. The input must be valid JSON (Valid).

// skipWS returns the index of the first non-space byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ { // number, true, false, null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// PeekString decodes a raw JSON string value (a copy; escapes resolved,
// invalid UTF-8 replaced by U+FFFD, as encoding/json does).
func PeekString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// member is the span of one top-level member's value.
type member struct{ start, end int }

// topMembers calls fn for every top-level member of the object in b with
// its raw (still quoted, unescaped) key; fn returns false to stop.
func topMembers(b []byte, fn func(key []byte, v member) bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return
		}
		ke := skipString(b, i)
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return
		}
		vs := skipWS(b, i+1)
		ve := skipValue(b, vs)
		if !fn(key, member{vs, ve}) {
			return
		}
		i = skipWS(b, ve)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

// TopLevel returns the raw value of the top-level member key of the JSON
// object b (the last one if repeated), and whether there is one.
func TopLevel(b []byte, key string) ([]byte, bool) {
	var out []byte
	found := false
	topMembers(b, func(k []byte, v member) bool {
		if string(k) == key {
			out, found = b[v.start:v.end], true
		}
		return true
	})
	return out, found
}

// SetTopLevel returns a copy of the JSON object b with every top-level
// member key set to the raw JSON value val, or the member added at the
// end when there is none.
func SetTopLevel(b []byte, key string, val []byte) []byte {
	return setTopLevel(make([]byte, 0, len(b)+len(key)+len(val)+4), b, key, val)
}

func setTopLevel(out, b []byte, key string, val []byte) []byte {
	var one [2]member
	spans := one[:0]
	topMembers(b, func(k []byte, v member) bool {
		if string(k) == key {
			spans = append(spans, v)
		}
		return true
	})
	if len(spans) == 0 {
		end := len(b) - 1
		for end >= 0 && b[end] != '}' {
			end--
		}
		if end < 0 {
			return append(out, b...)
		}
		j := end - 1
		for j >= 0 && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j--
		}
		out = append(out, b[:j+1]...)
		if j >= 0 && b[j] != '{' {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, key...)
		out = append(out, `":`...)
		out = append(out, val...)
		return append(out, b[end:]...)
	}
	prev := 0
	for _, s := range spans {
		out = append(out, b[prev:s.start]...)
		out = append(out, val...)
		prev = s.end
	}
	return append(out, b[prev:]...)
}

// AppendJSONString appends s as a JSON string.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// HasKeyValue reports whether data has a member "key" (at any depth)
// whose value does not start with null: a cheap pre-filter, never a false
// negative for a key written unescaped.
func HasKeyValue(data []byte, key string) bool {
	for i := 0; i+len(key)+2 <= len(data); {
		j := indexQuotedKey(data[i:], key)
		if j < 0 {
			return false
		}
		k := skipWS(data, i+j+len(key)+2)
		if k < len(data) && data[k] == ':' {
			k = skipWS(data, k+1)
			if k >= len(data) || data[k] != 'n' {
				return true
			}
		}
		i += j + 1
	}
	return false
}

func indexQuotedKey(b []byte, key string) int {
	for i := 0; i+len(key)+2 <= len(b); i++ {
		if b[i] == '"' && b[i+len(key)+1] == '"' && string(b[i+1:i+1+len(key)]) == key {
			return i
		}
	}
	return -1
}

// TopLevelValues sets vals[i] to the raw value of the top-level member
// keys[i] of the JSON object b (the last one if repeated; nil if none).
// It reports false when b is not an object or has a member whose key
// matches one of keys only case-insensitively (encoding/json would take
// it): the caller then decodes the body properly.
func TopLevelValues(b []byte, keys []string, vals [][]byte) bool {
	return topLevel(b, keys, vals, false)
}

// topLevel is TopLevelValues; with once, a key seen twice also reports
// false.
func topLevel(b []byte, keys []string, vals [][]byte, once bool) bool {
	if i := skipWS(b, 0); i >= len(b) || b[i] != '{' {
		return false
	}
	for i := range vals {
		vals[i] = nil
	}
	ok := true
	topMembers(b, func(k []byte, v member) bool {
		if bytes.IndexByte(k, '\\') >= 0 {
			ok = false
			return false
		}
		for i, key := range keys {
			// A name encoding/json would match to key folds to it with
			// Unicode case folding, and is never shorter ('ſ' is two bytes
			// for 's', the Kelvin sign three for 'k').
			if len(k) < len(key) {
				continue
			}
			if string(k) != key {
				if bytes.EqualFold(k, []byte(key)) {
					ok = false
					return false
				}
				continue
			}
			if once && vals[i] != nil {
				ok = false
				return false
			}
			vals[i] = b[v.start:v.end]
		}
		return true
	})
	return ok
}

// HasQuotedFold reports whether data holds the quoted string key in any
// letter case (what encoding/json would match a field against): a cheap
// test before decoding a rare member.
func HasQuotedFold(data []byte, key string) bool {
	for i := 0; i+len(key)+2 <= len(data); i++ {
		if data[i] == '"' && data[i+len(key)+1] == '"' && bytes.EqualFold(data[i+1:i+1+len(key)], []byte(key)) {
			return true
		}
	}
	return false
}
