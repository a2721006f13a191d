package gateway_test

import (
	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// allFormats and allProviders are every client dialect and provider
// (FuzzTranslate feeds each of them).
func allFormats() []llm.Format {
	return []llm.Format{openai.Client{}, anthropic.Client{}, gemini.Client{}, openai.Responses{}}
}

func allProviders() []llm.Provider {
	return []llm.Provider{openai.New(openai.Spec{}), anthropic.New(anthropic.Spec{}), gemini.New(gemini.Spec{}), bedrockProvider(), openai.New(openai.Spec{Responses: true})}
}

var fuzzSeeds = []string{geminiRequest, geminiResponse, geminiStream, geminiStreamError, bedrockResponse, bedrockStream(false), bedrockStream(true), responsesRequest, responsesResponse, responsesStream}
