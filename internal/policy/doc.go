// Package policy is the home of the route policies, one package each:
//
//	headers   requestHeaderModifier, responseHeaderModifier
//	cors      cors (answers preflights itself)
//	redirect  requestRedirect (answers every request)
//	rewrite   urlRewrite
//	direct    directResponse (answers every request)
//	phttp     shared helpers: the response-header hook writer, validation
//
// Each exposes New(Spec) (pipeline.Middleware, error); Specs are plain
// structs the compiler fills from config (no import of internal/config).
// Everything is validated and precomputed in New; per request the policies
// only read their compiled state. Policies that read the router's matched
// prefix (rewrite, redirect) expect route.Table.ServeHTTP, or code doing
// the same, to have set pipeline.Info.MatchedPrefix.
//
// A sensible chain order inside a route: cors (so preflights never reach
// auth or the backend), then authn/authz and rate limits, then
// requestRedirect or directResponse (terminal), then requestHeaderModifier,
// responseHeaderModifier and urlRewrite, then the backend.
package policy
