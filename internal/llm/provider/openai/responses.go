package openai

import (
	"errors"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Responses is the Responses API client dialect (/v1/responses).
type Responses struct{ Client }

// Dialect implements llm.Format.
func (Responses) Dialect() llm.Dialect { return llm.DialectResponses }

// ParseRequest implements llm.Format.
func (Responses) ParseRequest([]byte) (*llm.Request, error) {
	return nil, errors.New("the responses API is not served by this gateway yet")
}
