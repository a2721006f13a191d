package azure

import (
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
)

func TestPaths(t *testing.T) {
	p := New(Spec{Deployment: "dep 1", Resource: "res"})
	call, err := p.BuildChat(&llm.Request{Model: "dep 1", Stream: true, Messages: []llm.Message{{Role: "user", Parts: []llm.Part{{Type: "text", Text: "x"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if call.Path != "/openai/deployments/dep%201/chat/completions?api-version=2024-10-21" || !call.FixedPath || p.DefaultHost() != "res.openai.azure.com:443" {
		t.Errorf("path %s host %s", call.Path, p.DefaultHost())
	}
	if path, ok := p.Path(llm.OpEmbeddings); !ok || path != "/openai/deployments/dep%201/embeddings?api-version=2024-10-21" {
		t.Errorf("embeddings %s", path)
	}
	v1 := New(Spec{Resource: "res", APIVersion: "v1"})
	call, _ = v1.BuildChat(&llm.Request{Model: "client-dep"})
	if call.Path != "/openai/v1/chat/completions" || string(call.Body) == "" || v1.System() != "azure.ai.openai" {
		t.Errorf("v1 path %s", call.Path)
	}
	if _, ok := New(Spec{Resource: "res"}).Path(llm.OpEmbeddings); ok {
		t.Error("embeddings without a deployment")
	}
}
