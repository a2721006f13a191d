package gateway_test

import (
	"reflect"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/azure"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
	"github.com/agentgw/agentgateway/internal/llm/provider/vertex"
)

// TestBuildChatLeavesTheRequest: no provider's BuildChat modifies the
// request it is given, except that it may fill Raw from Body (the same
// map a parse of Body gives). chatAttempt relies on it: every attempt of
// a failover shares the request unless its model differs.
func TestBuildChatLeavesTheRequest(t *testing.T) {
	providers := append(allProviders(),
		azure.New(azure.Spec{Resource: "r", Deployment: "d"}),
		vertex.New(vertex.Spec{Project: "p", Model: "gemini-2.0-flash"}),
		vertex.New(vertex.Spec{Project: "p", Model: "claude-sonnet-4"}),
		openai.New(openai.Spec{Model: "other-model"}))
	type parser struct {
		name  string
		parse func([]byte) (*llm.Request, error)
		body  string
	}
	parsers := []parser{
		{"openai parse", openai.Client{}.ParseRequest, openAIRequest},
		{"openai peek", openai.Client{}.PeekRequest, string(benchRequest)},
		{"openai peek, stream", openai.Client{}.PeekRequest, string(withStream(benchRequest))},
		{"responses parse", openai.Responses{}.ParseRequest, responsesRequest},
		{"gemini parse", gemini.Client{}.ParseRequest, geminiRequest},
		{"anthropic parse", anthropic.Client{}.ParseRequest, anthropicRequest},
		{"anthropic peek", anthropic.Client{}.PeekRequest, anthropicRequest},
	}
	for _, ps := range parsers {
		for _, p := range providers {
			t.Run(ps.name+" to "+p.System()+" "+reflect.TypeOf(p).String(), func(t *testing.T) {
				req, err := ps.parse([]byte(ps.body))
				if err != nil {
					t.Fatal(err)
				}
				want, _ := ps.parse([]byte(ps.body))
				if _, err := p.BuildChat(req); err != nil {
					t.Logf("not translatable: %v", err) // the request must still be as it was
				}
				if req.Raw != nil && want.Raw == nil {
					if err := want.EnsureRaw(); err != nil {
						t.Fatal(err)
					}
				}
				if !reflect.DeepEqual(req, want) {
					t.Fatalf("BuildChat modified the request:\n got %+v\nwant %+v", req, want)
				}
			})
		}
	}
}
