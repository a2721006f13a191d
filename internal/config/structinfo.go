package config

import (
	"reflect"
	"strings"
	"sync"
)

// Struct layout, cached per type.

type fieldInfo struct {
	key       string
	index     []int
	required  bool
	oneOfSkip bool
	altMap    []int  // decode a mapping value into this field instead
	redact    string // Dump: "true" (secret value) or "headers" (header map)
}

type structInfo struct {
	byKey  map[string]*fieldInfo
	keys   []string
	fields []*fieldInfo
	oneOf  bool
}

type oneOfer interface{ oneOf() }

// extraRawKeys is implemented by *Config: keys accepted as Raw values.
type extraRawKeys interface {
	rawKeys() []string
	setRaw(key string, r Raw)
}

var structInfos sync.Map // reflect.Type → *structInfo

func getStructInfo(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byKey: map[string]*fieldInfo{}, oneOf: t.Implements(reflect.TypeFor[oneOfer]())}
	var collect func(t reflect.Type, prefix []int)
	collect = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && tag == ",inline" && f.Type.Kind() == reflect.Struct {
				collect(f.Type, idx)
				continue
			}
			key, _, _ := strings.Cut(tag, ",")
			if key == "" || key == "-" || !f.IsExported() || f.Tag.Get("nodecode") == "true" {
				continue
			}
			fi := &fieldInfo{key: key, index: idx, required: f.Tag.Get("required") == "true",
				oneOfSkip: f.Tag.Get("oneof") == "-", redact: f.Tag.Get("redact")}
			if alt := f.Tag.Get("altmap"); alt != "" {
				if af, ok := t.FieldByName(alt); ok {
					fi.altMap = append(append([]int(nil), prefix...), af.Index...)
				}
			}
			si.byKey[key] = fi
			si.keys = append(si.keys, key)
			si.fields = append(si.fields, fi)
		}
	}
	collect(t, nil)
	actual, _ := structInfos.LoadOrStore(t, si)
	return actual.(*structInfo)
}
