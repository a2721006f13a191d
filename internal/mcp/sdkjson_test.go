package mcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	segjson "github.com/segmentio/encoding/json"
)

// The go-sdk decodes every JSON value with a segmentio/encoding Decoder
// over a bytes.Reader. The copy of segmentio/encoding this module uses
// (third_party/segmentio-encoding, PATCHED.md) sizes that Decoder's first
// buffer from the reader's Len instead of 32 KiB. These tests hold the
// sized path to the unsized one: the same values, errors and remainder for
// any input, and far fewer bytes for a small message.

// plainReader hides Len, so the Decoder takes its unsized path.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

type sdkMsg struct {
	JSONRPC string             `json:"jsonrpc"`
	ID      any                `json:"id,omitempty"`
	Method  string             `json:"method"`
	Params  segjson.RawMessage `json:"params,omitempty"`
}

// decodeAll decodes values from r until an error, as text.
func decodeAll(r io.Reader, into func() any) string {
	dec := segjson.NewDecoder(r)
	dec.DontMatchCaseInsensitiveStructFields()
	var out strings.Builder
	for i := 0; i < 64; i++ {
		v := into()
		err := dec.Decode(v)
		if err != nil {
			fmt.Fprintf(&out, "error %T %v (EOF %v)", err, err, errors.Is(err, io.EOF))
			break
		}
		fmt.Fprintf(&out, "%#v\n", reflect.ValueOf(v).Elem().Interface())
	}
	return out.String()
}

func checkSizedDecoder(t *testing.T, data []byte) {
	t.Helper()
	for _, into := range []func() any{func() any { return new(any) }, func() any { return new(sdkMsg) }} {
		sized := decodeAll(bytes.NewReader(data), into)
		plain := decodeAll(plainReader{bytes.NewReader(data)}, into)
		if sized != plain {
			t.Fatalf("input %q:\nsized: %s\nplain: %s", data, sized, plain)
		}
	}
}

func TestSizedDecoderReadsAsUnsized(t *testing.T) {
	big := `"` + strings.Repeat("x", 40<<10) + `"`
	cases := []string{
		``, ` `, `{}`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`{"jsonrpc":"2.0"`, `{"a":1} {"b":2}`, `{"a":1} garbage`, `[1,2,3]`, `nul`, `"\u00e9"`,
		`{"Method":"case","method":"exact"}`, big, big + ` ` + big, `[` + strings.Repeat(`1,`, 20000) + `1]`,
	}
	for _, n := range []int{32<<10 - 3, 32<<10 - 2, 32<<10 - 1, 32 << 10, 32<<10 + 1} { // around the unsized buffer
		cases = append(cases, `"`+strings.Repeat("y", n-2)+`"`)
	}
	for _, c := range cases {
		checkSizedDecoder(t, []byte(c))
	}
}

func FuzzSizedDecoder(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"a":[1,2,{"b":null}]} 7 "x"`, `{"jsonrpc":"2.0","id":"a","method":"m","params":[]}`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkSizedDecoder(t, data) })
}

// TestSizedDecoderAllocatesLittle fails if the module stops using the
// patched copy (the replace directive in go.mod): a 100-byte message then
// costs a 32 KiB buffer again.
func TestSizedDecoderAllocatesLittle(t *testing.T) {
	msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100
	for range n {
		var m sdkMsg
		if err := segjson.NewDecoder(bytes.NewReader(msg)).Decode(&m); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 4<<10 {
		t.Fatalf("%d B allocated per decode of a %d-byte message: is go.mod's replace of github.com/segmentio/encoding gone?", per, len(msg))
	}
}
