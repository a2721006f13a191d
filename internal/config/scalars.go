package config

import "time"

// Duration is a duration string such as "10s", "1m30s" or "500ms".
type Duration struct{ time.Duration }

// Raw holds a value this gateway keeps as-is (its shape is checked where it is used).
type Raw struct{ Value any }

// Bytes is a body: a string, or a list of byte values.
type Bytes []byte

// StringOrList is a string or a list of strings.
type StringOrList []string
