package compile

import (
	"fmt"
	"net/http"

	"github.com/agentgw/agentgateway/internal/config"
)

// llmService builds an LLM route: every backend is an LLM provider.
// Until the LLM layer lands it answers 501.
func (rc *routeCtx) llmService(_ *config.Policies, bs []config.Backend) http.Handler {
	rc.dumpBackends(bs)
	return rc.notBuilt(fmt.Sprintf("%s.backends[0]", rc.path), &bs[0])
}
