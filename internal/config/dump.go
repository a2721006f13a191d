package config

import (
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Redacted replaces secrets in Dump.
const Redacted = "<redacted>"

// sensitiveHeaders are header names whose values Dump redacts.
var sensitiveHeaders = map[string]bool{"authorization": true, "proxy-authorization": true,
	"cookie": true, "set-cookie": true, "x-api-key": true, "api-key": true}

// sensitiveRawKeys are keys whose values Dump redacts inside Raw values.
var sensitiveRawKeys = map[string]bool{"apikey": true, "clientsecret": true, "secretaccesskey": true,
	"sessiontoken": true, "password": true, "privatekey": true, "signingkey": true, "token": true,
	"authorization": true, "cookie": true, "x-api-key": true, "secret": true}

// Dump returns a JSON-marshalable view of the config (maps, slices,
// strings, numbers, bools) using the YAML key names, with secrets replaced
// by "<redacted>": API keys, backendAuth keys, the session key, apiKey
// keys, inline htpasswd, client secrets and tokens, and the values of
// Authorization/Cookie/x-api-key headers in header modifiers. Unset
// optional fields are left out. Unbuilt top-level keys appear as written.
func Dump(c *Config) any {
	if c == nil {
		return nil
	}
	m, _ := dumpValue(reflect.ValueOf(c).Elem(), "").(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	for k, r := range c.Unbuilt {
		m[k] = dumpRaw(r.Value)
	}
	return m
}

// dumper is implemented by types whose YAML form is not a plain struct.
type dumper interface {
	dump(redact bool) any
}

var dumperType = reflect.TypeFor[dumper]()

func dumpValue(v reflect.Value, redact string) any {
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Interface {
			return dumpRaw(v.Interface())
		}
		v = v.Elem()
	}
	if reflect.PointerTo(v.Type()).Implements(dumperType) {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		return p.Interface().(dumper).dump(redact == "true")
	}
	if redact == "true" {
		return Redacted
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		for _, fi := range getStructInfo(v.Type()).fields {
			fv := v.FieldByIndex(fi.index)
			if fi.altMap != nil {
				if alt := v.FieldByIndex(fi.altMap); !alt.IsNil() {
					fv = alt
				}
			}
			if omit(fv, fi.required) {
				continue
			}
			out[fi.key] = dumpValue(fv, fi.redact)
		}
		return out
	case reflect.Slice:
		s := make([]any, v.Len())
		for i := range s {
			s[i] = dumpValue(v.Index(i), "")
		}
		return s
	case reflect.Map:
		m := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			if redact == "headers" && sensitiveHeaders[strings.ToLower(k)] {
				m[k] = Redacted
				continue
			}
			m[k] = dumpValue(iter.Value(), "")
		}
		return m
	case reflect.Float32, reflect.Float64:
		return dumpRaw(v.Float())
	}
	return v.Interface()
}

// omit reports whether a field is left out of the dump: nil pointers,
// slices and maps, and zero values of optional non-pointer fields.
func omit(v reflect.Value, required bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return v.IsNil()
	case reflect.Struct:
		return false
	}
	return !required && v.IsZero()
}

// dumpRaw copies a Raw value, redacting secret-looking keys and turning
// non-finite floats into strings (JSON cannot hold them).
func dumpRaw(x any) any {
	switch t := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			if sensitiveRawKeys[strings.ToLower(k)] {
				if _, isMap := v.(map[string]any); !isMap {
					m[k] = Redacted
					continue
				}
			}
			m[k] = dumpRaw(v)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, v := range t {
			s[i] = dumpRaw(v)
		}
		return s
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return formatFloat(t)
		}
	}
	return x
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	}
	return "-.inf"
}

func (x *Duration) dump(bool) any { return x.String() }

func (r *Raw) dump(bool) any { return dumpRaw(r.Value) }

func (b *Bytes) dump(redact bool) any {
	if redact {
		return Redacted
	}
	if utf8.Valid(*b) {
		return string(*b)
	}
	s := make([]any, len(*b))
	for i, c := range *b {
		s[i] = int(c)
	}
	return s
}

func (s *StringOrList) dump(bool) any {
	if len(*s) == 1 {
		return (*s)[0]
	}
	out := make([]any, len(*s))
	for i, v := range *s {
		out[i] = v
	}
	return out
}

func (h *HostRewrite) dump(bool) any {
	switch {
	case h.Auto:
		return "auto"
	case h.None:
		return "none"
	case h.Full != nil:
		return map[string]any{"full": *h.Full}
	case h.Host != nil:
		return map[string]any{"host": *h.Host}
	case h.Port != nil:
		return map[string]any{"port": *h.Port}
	}
	return nil
}

func (f *FileOrInline) dump(redact bool) any {
	switch {
	case f.File != nil:
		return map[string]any{"file": *f.File}
	case f.Inline != nil && redact:
		return Redacted
	case f.Inline != nil:
		return *f.Inline
	}
	return nil
}

func (f *FileInlineOrRemote) dump(bool) any {
	switch {
	case f.File != nil:
		return map[string]any{"file": *f.File}
	case f.URL != nil:
		return map[string]any{"url": *f.URL}
	case f.Inline != nil:
		return *f.Inline
	}
	return nil
}

func (k *BackendKey) dump(bool) any {
	v := k.Value.dump(true)
	if k.Location == nil && k.Loc == nil {
		return v
	}
	out := map[string]any{"value": v}
	if k.Loc != nil {
		out["location"] = dumpValue(reflect.ValueOf(k.Loc), "")
	} else {
		out["location"] = dumpRaw(k.Location.Value)
	}
	return out
}

func (b *BackendAuth) dump(bool) any {
	if b.Copilot {
		return "copilot"
	}
	type plain BackendAuth
	return dumpValue(reflect.ValueOf((*plain)(b)).Elem(), "")
}

func (l *LocalRateLimit) dump(bool) any {
	if l.Conditional != nil {
		return map[string]any{"conditional": dumpValue(reflect.ValueOf(l.Conditional), "")}
	}
	if l.Limits == nil {
		return []any{}
	}
	return dumpValue(reflect.ValueOf(l.Limits), "")
}

func (r *AuthRule) dump(bool) any {
	switch {
	case r.Deny != nil:
		return map[string]any{"deny": *r.Deny}
	case r.Require != nil:
		return map[string]any{"require": *r.Require}
	case r.Allow != nil:
		return *r.Allow
	}
	return nil
}

func (f *ExtAuthzFailureMode) dump(bool) any {
	if f.Mode == "denyWithStatus" {
		return map[string]any{"denyWithStatus": f.DenyWithStatus}
	}
	return f.Mode
}
