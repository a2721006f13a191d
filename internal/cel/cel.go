// Package cel is the gateway's one CEL environment: agentgateway's variables
// (request.*, source.*, jwt.*, apiKey.*, basicAuth.*, mcp.*, llmRequest.*), the standard
// library and the strings, math, lists, sets, encoders and network (ip/cidr)
// extensions.
//
// Expressions are compiled once, when a config snapshot is built (a bad one
// rejects the config); evaluation is bounded by a cost limit. Callers that
// decide access must treat an evaluation error as a denial: see
// Program.EvalBool. This is stricter than agentgateway, whose rules turn an
// error into "false" (so an erroring deny rule lets the request through).
package cel

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// Variable names, as in agentgateway.
const (
	VarRequest   = "request"
	VarSource    = "source"
	VarJWT       = "jwt"
	VarAPIKey    = "apiKey"
	VarBasicAuth = "basicAuth"
	VarMCP       = "mcp"
	// VarLLMRequest is the LLM request body (the client's JSON: model,
	// messages, max_tokens, metadata, …); empty outside LLM routing.
	VarLLMRequest = "llmRequest"
)

// CostLimit bounds one evaluation (about 0.5 ms of work; Kubernetes counts
// one unit as ~50 ns). An expression that exceeds it fails, which denies.
const CostLimit = 10_000

// MaxExpressionSize bounds the source text of one expression.
const MaxExpressionSize = 16 << 10

var envOnce = sync.OnceValues(newEnv)

func newEnv() (*cel.Env, error) {
	mapType := cel.MapType(cel.StringType, cel.DynType)
	opts := []cel.EnvOption{
		cel.Variable(VarRequest, mapType),
		cel.Variable(VarSource, mapType),
		cel.Variable(VarJWT, mapType),
		cel.Variable(VarAPIKey, mapType),
		cel.Variable(VarBasicAuth, mapType),
		cel.Variable(VarMCP, mapType),
		cel.Variable(VarLLMRequest, mapType),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.ParserExpressionSizeLimit(MaxExpressionSize),
		cel.ParserRecursionLimit(64),
		ext.Strings(),
		ext.Math(),
		ext.Lists(),
		ext.Sets(),
		ext.Encoders(),
		ext.Network(),
	}
	return cel.NewEnv(opts...)
}

// Env returns the gateway's CEL environment (built once per process).
func Env() (*cel.Env, error) { return envOnce() }

// Program is a compiled expression, safe for concurrent use.
type Program struct {
	src string
	prg cel.Program
}

// String returns the expression's source.
func (p *Program) String() string { return p.src }

// CompileBool compiles an expression that must produce a bool (an
// authorization rule, a condition). Errors name the problem and its column
// in the expression.
func CompileBool(expr string) (*Program, error) {
	return compile(expr, cel.BoolType)
}

// CompileString compiles an expression that must produce a string (a header
// value, a path).
func CompileString(expr string) (*Program, error) {
	return compile(expr, cel.StringType)
}

func compile(expr string, want *cel.Type) (*Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("empty CEL expression")
	}
	env, err := Env()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("invalid CEL expression: %s", oneLine(iss.Err().Error()))
	}
	if out := ast.OutputType(); out.Kind() != types.DynKind && !want.IsAssignableType(out) {
		return nil, fmt.Errorf("invalid CEL expression: it produces %s, want %s", cel.FormatCELType(out), cel.FormatCELType(want))
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("invalid CEL expression: %w", err)
	}
	return &Program{src: expr, prg: prg}, nil
}

// oneLine folds cel-go's multi-line error (message, source line, caret) into
// one line fit for a config error.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "|") {
			continue
		}
		out = append(out, t)
	}
	return strings.Join(out, "; ")
}

// Eval evaluates the program against act.
func (p *Program) Eval(act *Activation) (ref.Val, error) {
	v, _, err := p.prg.Eval(act)
	if err != nil {
		return nil, err
	}
	if types.IsError(v) {
		return nil, fmt.Errorf("%v", v)
	}
	return v, nil
}

// EvalBool evaluates a boolean program. A non-bool result is an error.
// Callers deciding access must deny when err != nil.
func (p *Program) EvalBool(act *Activation) (bool, error) {
	v, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expression produced %s, not a bool", v.Type().TypeName())
	}
	return bool(b), nil
}

// EvalString evaluates a string program. A non-string result is an error.
func (p *Program) EvalString(act *Activation) (string, error) {
	v, err := p.Eval(act)
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", fmt.Errorf("expression produced %s, not a string", v.Type().TypeName())
	}
	return string(s), nil
}
