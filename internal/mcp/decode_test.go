package mcp

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The in-place readers (decodeMessage, rawMsg.decode, fastCall's params)
// must agree with a full decode on every input: the differential tests
// below hold them to the decoders they replaced.

var decodeSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}`,
	`{"jsonrpc":"2.0","id":"s","method":"ping"}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":null,"method":"n"}`,
	`{"jsonrpc":"2.0","id":2,"result":{"ok":true}}`,
	`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}}`,
	`{"jsonrpc":"2.0","id":1.5,"method":"m"}`, `{"jsonrpc":"2.0","id":-1,"method":"m"}`,
	`{"jsonrpc":"2.0","id":123456789012345678,"method":"m"}`, `{"jsonrpc":"2.0","id":0,"method":"m"}`,
	`{"jsonrpc":"2.0","id":"\u0041b","method":"m\u0065"}`, `{"jsonrpc":"2\u002e0","id":1,"method":"m"}`,
	`{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}`, `{"jsonrpc":"2.0","id":1,"Method":"m","method":"n"}`,
	`{"jsonrpc":"2.0","ID":1,"Method":"m"}`, `{"jsonrpc":"2.0","id":1,"meth\u006fd":"m"}`,
	`{"jsonrpc":"2.0","id":1,"method":null}`, `{"jsonrpc":"2.0","id":1,"method":3}`,
	`{"jsonrpc":"2.0","id":{},"method":"m"}`, `{"jsonrpc":"2.0","id":1,"method":"m","params":3}`,
	`{"jsonrpc":"1.0","id":1,"method":"m"}`, `{"jsonrpc":null}`, `{"jsonrpc":"2.0","id":true}`,
	`{"jsonrpc":"2.0","id":5,"result":null,"error":null}`, `{"jsonrpc":"2.0","id":5,"error":{"code":"x"}}`,
	` { "jsonrpc" : "2.0" , "id" : 7 , "method" : "m" , "params" : [ 1 ] } `, `[]`, `null`, `"x"`, `{}`,
	`{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1},"paramſ":{"b":2}}`,
}

// decodeMessageRef is decodeMessage as it was: a decode into a map.
func decodeMessageRef(raw json.RawMessage) (jsonrpc.Message, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, "not a JSON object"
	}
	var version string
	if v, ok := m["jsonrpc"]; !ok || json.Unmarshal(v, &version) != nil || version != "2.0" {
		return nil, `"jsonrpc" must be "2.0"`
	}
	var id jsonrpc.ID
	if raw := m["id"]; len(raw) > 0 {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return nil, "not a JSON-RPC 2.0 message"
		}
		switch v.(type) {
		case nil, string, float64:
		default:
			return nil, `"id" must be a string, a number or null`
		}
		var err error
		if id, err = jsonrpc.MakeID(v); err != nil {
			return nil, "not a JSON-RPC 2.0 message"
		}
	}
	if rawMethod, ok := m["method"]; ok {
		var method string
		if json.Unmarshal(rawMethod, &method) != nil {
			return nil, "not a JSON-RPC 2.0 message"
		}
		params := m["params"]
		if len(params) > 0 && params[0] != '{' && params[0] != '[' && string(params) != "null" {
			return nil, `"params" must be an object or an array`
		}
		return &jsonrpc.Request{ID: id, Method: method, Params: params}, ""
	}
	if !id.IsValid() {
		return nil, "not a JSON-RPC 2.0 message"
	}
	resp := &jsonrpc.Response{ID: id, Result: m["result"]}
	if e := m["error"]; len(e) > 0 && string(e) != "null" {
		var we jsonrpc.Error
		if json.Unmarshal(e, &we) != nil {
			return nil, "not a JSON-RPC 2.0 message"
		}
		resp.Error = &we
	}
	return resp, ""
}

func checkDecodeMessage(t *testing.T, b []byte) {
	if !json.Valid(b) {
		return // decodeMessage's callers validate first
	}
	got, gotErr := decodeMessage(b)
	want, wantErr := decodeMessageRef(b)
	if gotErr != wantErr {
		t.Fatalf("%s: error %q, the map decode %q", b, gotErr, wantErr)
	}
	if gotErr != "" {
		return
	}
	ge, _ := jsonrpc.EncodeMessage(got)
	we, _ := jsonrpc.EncodeMessage(want)
	if !bytes.Equal(ge, we) {
		t.Fatalf("%s: decoded as %s, the map decode as %s", b, ge, we)
	}
	if g, ok := got.(*jsonrpc.Request); ok {
		w := want.(*jsonrpc.Request)
		if !bytes.Equal(g.Params, w.Params) || (g.Params == nil) != (w.Params == nil) {
			t.Fatalf("%s: params %q, the map decode %q", b, g.Params, w.Params)
		}
	}
}

func checkRawDecode(t *testing.T, b []byte) {
	var got, want rawMsg
	gotErr := got.decode(b)
	wantErr := json.Unmarshal(b, &want)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%s: error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	same := func(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }
	if got.Method != want.Method || !same(got.ID, want.ID) || !same(got.Params, want.Params) ||
		!same(got.Result, want.Result) || !same(got.Error, want.Error) {
		t.Fatalf("%s:\n got  %+v\n want %+v", b, got, want)
	}
}

func TestDecodeMessageMatchesMapDecode(t *testing.T) {
	for _, s := range decodeSeeds {
		checkDecodeMessage(t, []byte(s))
	}
}

func TestRawDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range append(decodeSeeds, `{"id":1,"ID":2}`, `{"result":1,"result":2}`, `{"Result":{"a":1}}`, `{"id":1,"method":"x","params":{`,
		// encoding/json folds names with Unicode case folding: "ſ" (U+017F) is an "s".
		`{"jsonrpc":"2.0","id":1,"result":{"a":1},"reſult":{"b":2}}`, `{"jsonrpc":"2.0","id":1,"reſult":{"b":2}}`,
		`{"jsonrpc":"2.0","method":"m","params":{"a":1},"paramſ":{"b":2}}`) {
		checkRawDecode(t, []byte(s))
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeMessage(t, b)
		checkRawDecode(t, b)
	})
}
