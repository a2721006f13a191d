package mcp

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLoadOpenAPI(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(t *testing.T, d *oaDoc)
		wantErr   string
	}{
		{name: "refs to components are inlined; cookie parameters dropped; path-item parameters first", doc: `
openapi: 3.1.0
info: {version: "2"}
servers: [{url: "https://api.example.com/v1"}]
paths:
  /pets/{id}:
    parameters: [{$ref: "#/components/parameters/Id"}]
    post:
      operationId: upd
      parameters:
      - {name: s, in: cookie}
      - {name: q, in: query, schema: {$ref: "#/components/schemas/Q"}}
      requestBody: {$ref: "#/components/requestBodies/Pet"}
      responses: {200: {description: ok}}
components:
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: integer}}
  schemas:
    Q: {type: string, enum: [a, b]}
    Pet: {type: object, properties: {name: {type: string}, friend: {$ref: "#/components/schemas/Pet"}}}
  requestBodies:
    Pet: {required: true, description: the pet, content: {"application/json; charset=utf-8": {schema: {$ref: "#/components/schemas/Pet"}}}}
`, check: func(t *testing.T, d *oaDoc) {
			if d.version != "2" || len(d.servers) != 1 || d.servers[0] != "https://api.example.com/v1" {
				t.Fatalf("info/servers: %q %q", d.version, d.servers)
			}
			op := d.paths["/pets/{id}"]["POST"]
			if op == nil || op.id != "upd" || len(op.params) != 2 || op.params[0].Name != "id" || op.params[1].Name != "q" {
				t.Fatalf("op: %+v", op)
			}
			if b, _ := json.Marshal(op.params[1].Schema); string(b) != `{"enum":["a","b"],"type":"string"}` {
				t.Fatalf("q schema: %s", b)
			}
			b, _ := json.Marshal(op.body)
			if !op.bodyRequired || op.bodyDesc != "the pet" || string(b) != `{"properties":{"friend":{},"name":{"type":"string"}},"type":"object"}` {
				t.Fatalf("body: %v %q %s", op.bodyRequired, op.bodyDesc, b)
			}
		}},
		{name: "JSON document", doc: `{"openapi":"3.0.0","paths":{"/a":{"get":{"summary":"A"}},"x-ext":{}}}`,
			check: func(t *testing.T, d *oaDoc) {
				if len(d.paths) != 1 || d.paths["/a"]["GET"].summary != "A" || d.paths["/a"]["GET"].body != nil {
					t.Fatalf("paths: %+v", d.paths)
				}
			}},
		{name: "external ref", doc: "paths: {/a: {get: {parameters: [{$ref: 'other.yaml#/p'}]}}}", wantErr: "only references within the document"},
		{name: "missing ref", doc: "paths: {/a: {get: {requestBody: {$ref: '#/components/requestBodies/X'}}}}", wantErr: `no "components"`},
		{name: "parameter without name", doc: "paths: {/a: {get: {parameters: [{in: query}]}}}", wantErr: "paths./a.get.parameters[0]: a parameter needs a name"},
		{name: "operation not an object", doc: "paths: {/a: {get: 3}}", wantErr: "paths./a.get: want an object"},
		{name: "ref loop", doc: "paths: {/a: {$ref: '#/paths/~1a'}}", wantErr: "$ref chain too long"},
		{name: "not a document", doc: "- a\n- b", wantErr: "not an object"},
		{name: "bad YAML", doc: "paths: [", wantErr: "not YAML or JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := loadOpenAPI([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d)
		})
	}
}

// TestLoadOpenAPIExpansionBound: references that fan out exponentially
// fail instead of exhausting memory.
func TestLoadOpenAPIExpansionBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("paths: {/a: {post: {requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/S0'}}}}}}}\ncomponents:\n  schemas:\n")
	for i := range 30 {
		b.WriteString("    S" + itoa(i) + ": {properties: {a: {$ref: '#/components/schemas/S" + itoa(i+1) + "'}, b: {$ref: '#/components/schemas/S" + itoa(i+1) + "'}}}\n")
	}
	b.WriteString("    S30: {type: string}\n")
	if _, err := loadOpenAPI([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "expand to more than") {
		t.Fatalf("err = %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// FuzzLoadOpenAPI: no document makes the loader panic.
func FuzzLoadOpenAPI(f *testing.F) {
	f.Add([]byte(petstore))
	f.Add([]byte(`{"paths":{"/a":{"get":{"parameters":[{"$ref":"#/paths"}]}}}}`))
	f.Add([]byte("paths: {/a: {get: {requestBody: {content: {'*/*': {schema: {$ref: '#'}}}}}}}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = loadOpenAPI(b)
	})
}
