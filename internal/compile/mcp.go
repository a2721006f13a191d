package compile

import (
	"fmt"
	"net/http"

	"github.com/agentgw/agentgateway/internal/config"
)

// mcpService builds an MCP route: one mcp backend federating its targets.
// Until the MCP layer lands it answers 501.
func (rc *routeCtx) mcpService(_ *config.Policies, b *config.Backend) http.Handler {
	rc.dumpBackends([]config.Backend{*b})
	return rc.notBuilt(fmt.Sprintf("%s.backends[0]", rc.path), b)
}
