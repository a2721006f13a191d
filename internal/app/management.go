package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/agentgw/agentgateway/internal/admin"
	"github.com/agentgw/agentgateway/internal/compile"
	"github.com/agentgw/agentgateway/internal/config"
)

// management runs the admin, stats and readiness servers.
type management struct {
	servers                             []*http.Server
	adminAddr, statsAddr, readinessAddr string
	quit                                chan struct{}
	quitOnce                            sync.Once
}

func (a *App) startManagement(s compile.Settings) (*management, error) {
	m := &management{quit: make(chan struct{})}
	adminH := admin.NewAdmin(admin.AdminOptions{
		ConfigDump: a.configDump,
		Level:      a.level,
		Quit:       func() { m.quitOnce.Do(func() { close(m.quit) }) },
	})
	type srv struct {
		addr *string
		h    http.Handler
		name string
	}
	for _, x := range []srv{
		{&m.adminAddr, adminH, "admin"},
		{&m.statsAddr, admin.NewStats(a.metrics.Handler()), "stats"},
		{&m.readinessAddr, admin.NewReadiness(a.ready.Load), "readiness"},
	} {
		addr := s.Addr(x.name)
		*x.addr = addr
		if addr == "off" || addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			m.shutdown(context.Background())
			return nil, fmt.Errorf("%s server on %s: %w (set config.%sAddr or %s_ADDR, or \"off\")", x.name, addr, err, x.name, envName(x.name))
		}
		*x.addr = ln.Addr().String()
		hs := admin.NewServer(x.h)
		m.servers = append(m.servers, hs)
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("management server failed", "server", x.name, "error", err)
			}
		}()
	}
	return m, nil
}

func envName(server string) string {
	switch server {
	case "admin":
		return "ADMIN"
	case "stats":
		return "STATS"
	default:
		return "READINESS"
	}
}

func (m *management) shutdown(ctx context.Context) {
	for _, s := range m.servers {
		if err := s.Shutdown(ctx); err != nil {
			_ = s.Close()
		}
	}
}

// configDump is what GET /config_dump returns: the running config (secrets
// redacted), the compiled snapshot's summary, and the last reload's outcome.
func (a *App) configDump() any {
	snap := a.cur.Load()
	return map[string]any{
		"config":     config.Dump(snap.Config),
		"snapshot":   snap.Dump(),
		"lastReload": a.reloadStatus(),
		"ready":      a.ready.Load(),
	}
}
