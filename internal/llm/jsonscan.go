package llm

import "github.com/agentgw/agentgateway/internal/jsonscan"

// The JSON scanners live in internal/jsonscan (the MCP gateway uses them
// too); these names keep the LLM code reading as before.

// Valid: jsonscan.Valid.
func Valid(b []byte) bool { return jsonscan.Valid(b) }

// PeekString: jsonscan.PeekString.
func PeekString(v []byte) (string, bool) { return jsonscan.PeekString(v) }

// PeekStringOrNull: jsonscan.PeekStringOrNull.
func PeekStringOrNull(v []byte) (string, bool) { return jsonscan.PeekStringOrNull(v) }

// PeekInt: jsonscan.PeekInt.
func PeekInt(v []byte) (int, bool) { return jsonscan.PeekInt(v) }

// IsNull: jsonscan.IsNull.
func IsNull(v []byte) bool { return jsonscan.IsNull(v) }

// TopLevel: jsonscan.TopLevel.
func TopLevel(b []byte, key string) ([]byte, bool) { return jsonscan.TopLevel(b, key) }

// TopLevelValues: jsonscan.TopLevelValues.
func TopLevelValues(b []byte, keys []string, vals [][]byte) bool {
	return jsonscan.TopLevelValues(b, keys, vals)
}

// Members: jsonscan.Members.
func Members(b []byte, keys []string, vals [][]byte) bool { return jsonscan.Members(b, keys, vals) }

// Elements: jsonscan.Elements.
func Elements(b []byte, fn func(v []byte) bool) bool { return jsonscan.Elements(b, fn) }

// SetTopLevel: jsonscan.SetTopLevel.
func SetTopLevel(b []byte, key string, val []byte) []byte { return jsonscan.SetTopLevel(b, key, val) }

// SetTopLevelTo: jsonscan.SetTopLevelTo.
func SetTopLevelTo(dst, b []byte, key string, val []byte) []byte {
	return jsonscan.SetTopLevelTo(dst, b, key, val)
}

// AppendJSONString: jsonscan.AppendJSONString.
func AppendJSONString(dst []byte, s string) []byte { return jsonscan.AppendJSONString(dst, s) }

// HasKeyValue: jsonscan.HasKeyValue.
func HasKeyValue(data []byte, key string) bool { return jsonscan.HasKeyValue(data, key) }

// HasQuotedFold: jsonscan.HasQuotedFold.
func HasQuotedFold(data []byte, key string) bool { return jsonscan.HasQuotedFold(data, key) }

var peekKeys = []string{"model", "usage"}

// PeekResponse reads only the model and usage of a non-streamed answer
// that goes back to a client of the same dialect unchanged (Raw), without
// decoding the content. usage decodes the dialect's usage object; full is
// the dialect's complete parse, which decides whenever the body is not
// plain JSON with those keys (invalid JSON, case-folded or escaped keys, a
// model that is not a string) so both paths agree on every input.
func PeekResponse(body []byte, d Dialect, usage func([]byte) (*Usage, error), full func([]byte) (*Response, error)) (*Response, error) {
	var v [2][]byte
	if !Valid(body) || !TopLevelValues(body, peekKeys, v[:]) {
		return full(body)
	}
	resp := &Response{Dialect: d, Raw: body}
	var ok bool
	if resp.Model, ok = PeekString(v[0]); !ok && len(v[0]) > 0 && string(v[0]) != "null" {
		return full(body)
	}
	if len(v[1]) > 0 && string(v[1]) != "null" {
		u, err := usage(v[1])
		if err != nil {
			return nil, err
		}
		resp.Usage = u
	}
	return resp, nil
}
