package mcp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const petstore = `
openapi: 3.0.0
info: {title: pets, version: "1"}
paths:
  /pets/{id}:
    get:
      operationId: getPet
      summary: Get a pet
      parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
      - {name: verbose, in: query, schema: {type: boolean}}
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string}}}
`

func TestOpenAPITarget(t *testing.T) {
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/pets/7":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":7,"verbose":"`+r.URL.Query().Get("verbose")+`","auth":"`+r.Header.Get("Authorization")+`"}`)
		case r.Method == "POST" && r.URL.Path == "/api/pets":
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(201)
			w.Write(b)
		default:
			http.Error(w, "no such pet", 404)
		}
	}))
	t.Cleanup(rest.Close)
	tg := &TargetSpec{Name: "pets", Kind: KindOpenAPI, URL: rest.URL + "/api", Schema: []byte(petstore),
		Headers: []Header{{Name: "Authorization", Value: "Bearer k", Op: HeaderSet}}}
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{tg}})
	cs := connect(t, gw.URL+"/mcp", nil)
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(lt.Tools) != 2 {
		t.Fatalf("tools: %+v %v", lt, err)
	}
	schema, _ := json.Marshal(lt.Tools[1].InputSchema)
	if lt.Tools[1].Name != "getPet" || !strings.Contains(string(schema), `"required":["id"]`) {
		t.Fatalf("getPet schema: %s %s", lt.Tools[1].Name, schema)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "getPet", Arguments: map[string]any{"id": 7, "verbose": true}})
	if err != nil || res.IsError || !strings.Contains(text(t, res), `"verbose":"true","auth":"Bearer k"`) {
		t.Fatalf("getPet: %+v %v", res, err)
	}
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "addPet", Arguments: map[string]any{"body": map[string]any{"name": "rex"}}})
	if err != nil || res.IsError || text(t, res) != `{"name":"rex"}` {
		t.Fatalf("addPet: %+v %v", res, err)
	}
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "getPet", Arguments: map[string]any{"id": 8}})
	if err != nil || !res.IsError || !strings.Contains(text(t, res), "HTTP 404") {
		t.Fatalf("404 → tool error: %+v %v", res, err)
	}
}
