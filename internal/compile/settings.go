package compile

import (
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// Default addresses, as agentgateway's.
const (
	DefaultAdminAddr     = "127.0.0.1:15000"
	DefaultStatsAddr     = "0.0.0.0:15020"
	DefaultReadinessAddr = "0.0.0.0:15021"
	// DefaultTerminationDeadline bounds the SIGTERM drain (inside Kubernetes' 30 s grace).
	DefaultTerminationDeadline = 25 * time.Second
)

// Settings are the process-wide settings of the `config:` block, resolved
// against the environment. Addresses are read at start-up only.
type Settings struct {
	AdminAddr, StatsAddr, ReadinessAddr string
	LogFormat, LogLevel                 string
	SlogLevel                           slog.Level
	TerminationDeadline                 time.Duration
}

// Addr returns the address of the named management server (admin, stats, readiness).
func (s Settings) Addr(name string) string {
	switch name {
	case "admin":
		return s.AdminAddr
	case "stats":
		return s.StatsAddr
	default:
		return s.ReadinessAddr
	}
}

// SameStatic reports whether the start-up-only settings are unchanged.
func (s Settings) SameStatic(o Settings) bool {
	return s.AdminAddr == o.AdminAddr && s.StatsAddr == o.StatsAddr && s.ReadinessAddr == o.ReadinessAddr
}

// SettingsOf resolves cfg's `config:` block. Environment variables
// ADMIN_ADDR, STATS_ADDR and READINESS_ADDR override it, as in agentgateway;
// an empty variable counts as unset.
func SettingsOf(cfg *config.Config) Settings {
	s := Settings{
		AdminAddr:           DefaultAdminAddr,
		StatsAddr:           DefaultStatsAddr,
		ReadinessAddr:       DefaultReadinessAddr,
		LogFormat:           "text",
		LogLevel:            "info",
		TerminationDeadline: DefaultTerminationDeadline,
	}
	if c := cfg.Config; c != nil {
		setStr(&s.AdminAddr, c.AdminAddr)
		setStr(&s.StatsAddr, c.StatsAddr)
		setStr(&s.ReadinessAddr, c.ReadinessAddr)
		if l := c.Logging; l != nil {
			setStr(&s.LogFormat, l.Format)
			if l.Level != nil && len(*l.Level) > 0 {
				s.LogLevel = (*l.Level)[0]
			}
		}
		if d := c.ConnectionTerminationDeadline; d != nil {
			s.TerminationDeadline = d.Duration
		}
	}
	env := func(dst *string, name string) {
		if v := os.Getenv(name); v != "" {
			*dst = v
		}
	}
	env(&s.AdminAddr, "ADMIN_ADDR")
	env(&s.StatsAddr, "STATS_ADDR")
	env(&s.ReadinessAddr, "READINESS_ADDR")
	if v := os.Getenv("CONNECTION_TERMINATION_DEADLINE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			s.TerminationDeadline = d
		}
	}
	// agentgateway accepts "info,module=debug": the first entry is the default level.
	s.LogLevel = strings.TrimSpace(strings.SplitN(s.LogLevel, ",", 2)[0])
	if lvl, err := telemetry.ParseLevel(s.LogLevel); err == nil {
		s.SlogLevel = lvl
	}
	return s
}

func setStr(dst *string, v *string) {
	if v != nil && *v != "" {
		*dst = *v
	}
}
