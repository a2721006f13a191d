package route

import (
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
)

type pseudo uint8

const (
	notPseudo pseudo = iota
	pseudoMethod
	pseudoAuthority
	pseudoPath
	pseudoScheme
)

// valueMatcher is one compiled header or query condition.
type valueMatcher struct {
	name   string // canonical header key, or query name
	pseudo pseudo
	exact  string
	re     *regexp.Regexp
}

func compileKVs(kvs []KV, header bool, at string) ([]valueMatcher, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make([]valueMatcher, 0, len(kvs))
	for i, kv := range kvs {
		m := valueMatcher{name: kv.Name}
		if kv.Name == "" {
			return nil, fmt.Errorf("%s[%d]: name is empty", at, i)
		}
		if header {
			switch strings.ToLower(kv.Name) {
			case ":method":
				m.pseudo = pseudoMethod
			case ":authority", "host":
				m.pseudo = pseudoAuthority
			case ":path":
				m.pseudo = pseudoPath
			case ":scheme":
				m.pseudo = pseudoScheme
			default:
				if !validToken(kv.Name) {
					return nil, fmt.Errorf("%s[%d]: invalid header name %q", at, i, kv.Name)
				}
				m.name = textproto.CanonicalMIMEHeaderKey(kv.Name)
			}
		}
		switch kv.Kind {
		case ValueExact:
			m.exact = kv.Value
		case ValueRegex:
			re, err := compileRegex(kv.Value)
			if err != nil {
				return nil, fmt.Errorf("%s[%d] %q: regex: %w", at, i, kv.Name, err)
			}
			m.re = re
		default:
			return nil, fmt.Errorf("%s[%d]: unknown value kind %d", at, i, kv.Kind)
		}
		out = append(out, m)
	}
	return out, nil
}

func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

func (m *valueMatcher) value(v string) bool {
	if m.re != nil {
		return m.re.MatchString(v)
	}
	return v == m.exact
}

func (m *valueMatcher) matchHeader(r *http.Request) bool {
	switch m.pseudo {
	case pseudoMethod:
		return m.value(r.Method)
	case pseudoAuthority:
		return m.value(r.Host)
	case pseudoPath:
		return m.value(r.URL.RequestURI())
	case pseudoScheme:
		s := "http"
		if r.TLS != nil {
			s = "https"
		}
		return m.value(s)
	}
	vs := r.Header[m.name]
	if len(vs) == 0 {
		return false
	}
	return m.value(vs[0])
}

// matchQuery finds the first parameter named m.name in the raw query and
// compares its decoded value. It allocates only to decode escaped names or
// values.
func (m *valueMatcher) matchQuery(raw string) bool {
	for raw != "" {
		var kv string
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			kv, raw = raw[:i], raw[i+1:]
		} else {
			kv, raw = raw, ""
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k != m.name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			var err error
			if v, err = url.QueryUnescape(v); err != nil {
				return false
			}
		}
		return m.value(v)
	}
	return false
}
