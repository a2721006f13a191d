// Package authz is the authorization policy: CEL rules over request.*,
// source.*, jwt.*, apiKey.*, basicAuth.* (and mcp.* for mcpAuthorization).
//
// Semantics are agentgateway's: any matching deny rule denies; every
// require rule must hold; when allow rules exist one must match (a set of
// only deny and require rules allows by default). One difference, on
// purpose: a rule whose evaluation fails (a missing claim, a wrong type, the
// cost limit) denies the request, whatever its kind. agentgateway treats the
// error as "false", so an erroring deny rule lets the request through.
package authz

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

// Kind is a rule's kind.
type Kind uint8

// Kinds.
const (
	Allow Kind = iota
	Deny
	Require
)

func (k Kind) String() string {
	switch k {
	case Deny:
		return "deny"
	case Require:
		return "require"
	}
	return "allow"
}

// Rule is one CEL rule.
type Rule struct {
	Kind Kind
	Expr string
}

// Spec is an ordered rule list.
type Spec struct {
	Rules []Rule
}

// RuleError is a rule that does not compile; Index is its position in
// Spec.Rules, so the caller can point at its config path.
type RuleError struct {
	Index int
	Err   error
}

func (e *RuleError) Error() string { return fmt.Sprintf("rules[%d]: %v", e.Index, e.Err) }
func (e *RuleError) Unwrap() error { return e.Err }

type rule struct {
	kind Kind
	prg  *cel.Program
}

// Policy is a compiled rule set, safe for concurrent use. The MCP layer
// uses Allowed to filter lists and check calls.
type Policy struct {
	rules    []rule
	hasAllow bool
}

// Compile compiles every rule; the first failure is returned as a
// *RuleError (all rules are checked, the errors joined).
func Compile(spec Spec) (*Policy, error) {
	p := &Policy{}
	var errs []error
	for i, r := range spec.Rules {
		prg, err := cel.CompileBool(r.Expr)
		if err != nil {
			errs = append(errs, &RuleError{Index: i, Err: err})
			continue
		}
		p.rules = append(p.rules, rule{kind: r.Kind, prg: prg})
		if r.Kind == Allow {
			p.hasAllow = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Decision is the outcome of one evaluation.
type Decision struct {
	Allowed bool
	// Rule is the expression that decided a denial ("" when no allow rule
	// matched); Err is set when an evaluation failed.
	Rule string
	Err  error
}

// Evaluate applies the rules to act. Deny rules are checked first, then
// require rules, then allow rules; an evaluation error denies at once.
func (p *Policy) Evaluate(act *cel.Activation) Decision {
	if len(p.rules) == 0 {
		return Decision{Allowed: true}
	}
	for _, want := range [...]Kind{Deny, Require} {
		for _, r := range p.rules {
			if r.kind != want {
				continue
			}
			ok, err := r.prg.EvalBool(act)
			if err != nil {
				return Decision{Rule: r.prg.String(), Err: err}
			}
			if want == Deny && ok || want == Require && !ok {
				return Decision{Rule: r.prg.String()}
			}
		}
	}
	if !p.hasAllow {
		return Decision{Allowed: true}
	}
	for _, r := range p.rules {
		if r.kind != Allow {
			continue
		}
		ok, err := r.prg.EvalBool(act)
		if err != nil {
			return Decision{Rule: r.prg.String(), Err: err}
		}
		if ok {
			return Decision{Allowed: true}
		}
	}
	return Decision{}
}

// Allowed evaluates the rules for r, with mcp.* set to m when m is not
// nil. It is the hook of mcpAuthorization: call it per listed tool, prompt
// or resource (hide the denied ones) and again on each call.
func (p *Policy) Allowed(r *http.Request, m *cel.MCP) bool {
	act := cel.NewActivation(r)
	if m != nil {
		act = act.WithMCP(*m)
	}
	return p.Evaluate(act).Allowed
}

// New returns the `authorization` middleware: 403 when the rules deny,
// including when one fails to evaluate.
func New(spec Spec) (pipeline.Middleware, error) {
	p, err := Compile(spec)
	if err != nil {
		return nil, err
	}
	return p.Middleware(), nil
}

// Middleware returns the HTTP authorization middleware of p.
func (p *Policy) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := p.Evaluate(cel.NewActivation(r))
			if d.Allowed {
				next.ServeHTTP(w, r)
				return
			}
			info := pipeline.InfoFrom(r.Context())
			switch {
			case d.Err != nil:
				info.Err = "authorization: rule failed to evaluate (denied): " + d.Err.Error()
			case d.Rule != "":
				info.Err = "authorization: denied by a rule"
			default:
				info.Err = "authorization: no allow rule matched"
			}
			authn.Deny(w, r, http.StatusForbidden, "forbidden")
		})
	}
}
