package jsonscan

// Targeted reads of small JSON objects (usage counts, stream chunk
// envelopes) without encoding/json. Each reports ok=false whenever the
// input is not the plain shape it expects, so callers decode in full and
// both paths agree on every input. The input must be valid JSON (Valid).

// PeekInt decodes a raw JSON value as encoding/json does into an int
// field: null and an absent value (nil) are 0; ok=false for anything
// else than an integer literal that fits (fractions and exponents are
// errors for encoding/json too).
func PeekInt(v []byte) (int, bool) {
	if len(v) == 0 || string(v) == "null" {
		return 0, true
	}
	neg := v[0] == '-'
	d := v
	if neg {
		d = v[1:]
	}
	if len(d) == 0 || len(d) > 18 {
		return 0, false // 18 digits always fit; longer ones: let encoding/json decide
	}
	n := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// PeekStringOrNull is PeekString that also accepts null and an absent
// value (nil) as "" (what encoding/json leaves in a string field).
func PeekStringOrNull(v []byte) (string, bool) {
	if len(v) == 0 || string(v) == "null" {
		return "", true
	}
	return PeekString(v)
}

// IsNull reports whether a raw member value is absent (nil) or null.
func IsNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// Members is TopLevelValues that also reports false when one of keys
// appears twice (encoding/json would merge repeated objects into one
// value; a targeted read takes only the last).
func Members(b []byte, keys []string, vals [][]byte) bool {
	return topLevel(b, keys, vals, true)
}

// Elements calls fn for each element of the JSON array b; it reports
// false when b is not an array or fn returned false.
func Elements(b []byte, fn func(v []byte) bool) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for i < len(b) {
		e := skipValue(b, i)
		if !fn(b[i:e]) {
			return false
		}
		i = skipWS(b, e)
		if i >= len(b) || b[i] != ',' {
			return i < len(b) && b[i] == ']'
		}
		i = skipWS(b, i+1)
	}
	return false
}

// SetTopLevelTo is SetTopLevel appending the result to dst (which must
// not overlap b).
func SetTopLevelTo(dst, b []byte, key string, val []byte) []byte {
	return setTopLevel(dst, b, key, val)
}
