package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	celgo "cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	agcel "github.com/agentgw/agentgateway/internal/cel"
)

// VarLLMRequest is the CEL variable holding the LLM request body (the
// client's JSON: model, messages, max_tokens, metadata, …), as in
// agentgateway.
const VarLLMRequest = "llmRequest"

// condEnv is the gateway's CEL environment plus llmRequest.
var condEnv = sync.OnceValues(func() (*celgo.Env, error) {
	base, err := agcel.Env()
	if err != nil {
		return nil, err
	}
	return base.Extend(celgo.Variable(VarLLMRequest, celgo.MapType(celgo.StringType, celgo.DynType)))
})

// Condition is a compiled boolean CEL expression over request.*,
// source.*, jwt.*, apiKey.*, basicAuth.* and llmRequest.*.
type Condition struct {
	src string
	prg celgo.Program
}

// String returns the expression's source.
func (c *Condition) String() string { return c.src }

// CompileCondition compiles a virtual model's `when` expression.
func CompileCondition(expr string) (*Condition, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("empty CEL expression")
	}
	env, err := condEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("invalid CEL expression: %s", oneLine(iss.Err().Error()))
	}
	if out := ast.OutputType(); out.Kind() != types.DynKind && !celgo.BoolType.IsAssignableType(out) {
		return nil, fmt.Errorf("invalid CEL expression: it produces %s, want bool", celgo.FormatCELType(out))
	}
	prg, err := env.Program(ast, celgo.CostLimit(agcel.CostLimit), celgo.EvalOptions(celgo.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("invalid CEL expression: %w", err)
	}
	return &Condition{src: expr, prg: prg}, nil
}

// Eval evaluates the condition for r and its parsed JSON body (nil when
// the body is not a JSON object: llmRequest is then empty). An error
// counts as false.
func (c *Condition) Eval(r *http.Request, llmRequest map[string]any) (bool, error) {
	if llmRequest == nil {
		llmRequest = map[string]any{}
	}
	v, _, err := c.prg.Eval(condActivation{base: agcel.NewActivation(r), llm: llmRequest})
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expression produced %s, not a bool", v.Type().TypeName())
	}
	return bool(b), nil
}

type condActivation struct {
	base *agcel.Activation
	llm  map[string]any
}

func (a condActivation) ResolveName(name string) (any, bool) {
	if name == VarLLMRequest {
		return a.llm, true
	}
	return a.base.ResolveName(name)
}

func (a condActivation) Parent() interpreter.Activation { return nil }

// oneLine folds cel-go's multi-line error into one line.
func oneLine(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "|") {
			out = append(out, t)
		}
	}
	return strings.Join(out, "; ")
}
