package compile

import (
	"net/http"

	"github.com/agentgw/agentgateway/internal/config"
)

// backends dispatches a route's backends by kind. A route serves one kind:
// plain HTTP hosts (proxied by internal/backend), LLM providers (ai and the
// short openAI/anthropic/… forms, served by the LLM layer), or one MCP
// backend (served by the MCP layer).
func (rc *routeCtx) backends(p *config.Policies, bs []config.Backend) http.Handler {
	var llm, mcp, other int
	for i := range bs {
		switch kind, _, _ := backendKind(&bs[i]); kind {
		case "mcp":
			mcp++
		case "host", "unsupported":
			other++
		default:
			llm++
		}
	}
	switch {
	case llm > 0 && (mcp > 0 || other > 0), mcp > 0 && other > 0:
		rc.c.errs.add(rc.path+".backends", "a route's backends must be of one kind: HTTP hosts, LLM providers, or one MCP backend")
		return http.NotFoundHandler()
	case mcp > 1:
		rc.c.errs.add(rc.path+".backends", "a route can have one mcp backend (list several targets inside it)")
		return http.NotFoundHandler()
	case llm > 0:
		return rc.llmService(p, bs)
	case mcp == 1:
		return rc.mcpService(p, &bs[0])
	}
	return fullDuplex(rc.service(p, bs))
}

// fullDuplex lets a proxied HTTP/1 request body keep streaming upstream
// while the response is already coming back (SSE answers, early errors).
// By default net/http discards the unread request body when the response
// starts, which would cut the upstream request short. Routes that read the
// whole body before answering (LLM, MCP) do not need it.
func fullDuplex(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && r.ContentLength != 0 {
			_ = http.NewResponseController(w).EnableFullDuplex()
		}
		next.ServeHTTP(w, r)
	})
}
