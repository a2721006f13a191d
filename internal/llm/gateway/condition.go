package gateway

import (
	"net/http"

	agcel "github.com/agentgw/agentgateway/internal/cel"
)

// Condition is a compiled boolean CEL expression over request.*,
// source.*, jwt.*, apiKey.*, basicAuth.* and llmRequest.* (the gateway's
// one CEL environment, internal/cel).
type Condition struct{ prg *agcel.Program }

// String returns the expression's source.
func (c *Condition) String() string { return c.prg.String() }

// CompileCondition compiles a virtual model's `when` expression.
func CompileCondition(expr string) (*Condition, error) {
	prg, err := agcel.CompileBool(expr)
	if err != nil {
		return nil, err
	}
	return &Condition{prg: prg}, nil
}

// Eval evaluates the condition for r and its parsed JSON body (nil when
// the body is not a JSON object: llmRequest is then empty). The caller
// counts an error as false, as agentgateway does for routing.
func (c *Condition) Eval(r *http.Request, llmRequest map[string]any) (bool, error) {
	return c.prg.EvalBool(agcel.NewActivation(r).WithLLMRequest(llmRequest))
}
