// Package compile turns a validated config into an immutable runtime
// snapshot: per port, a handler holding the listeners' route tables, each
// route's policy chain and its backend pool. Compiling is pure apart from
// reading files the config names (certificates, keys) and sharing upstream
// transports through Deps, so a failed compile changes nothing.
package compile

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/agentgw/agentgateway/internal/backend"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// Deps are the long-lived parts snapshots share across reloads.
type Deps struct {
	Log        *slog.Logger
	Metrics    *telemetry.Metrics
	Transports *backend.Transports
	// AccessLogOut is where access-log lines go (the process log's writer).
	AccessLogOut interface{ Write([]byte) (int, error) }
	Level        slog.Leveler
}

// NewDeps returns the shared parts for a process.
func NewDeps(log *slog.Logger, metrics *telemetry.Metrics, accessOut interface{ Write([]byte) (int, error) }, level slog.Leveler) *Deps {
	return &Deps{Log: log, Metrics: metrics, Transports: backend.NewTransports(), AccessLogOut: accessOut, Level: level}
}

// Snapshot is one compiled config. It is immutable once built.
type Snapshot struct {
	Config   *config.Config
	Settings Settings
	// Binds maps a port to the handler serving it.
	Binds    map[int]http.Handler
	Warnings []string

	binds []*bindDump
	keys  []backend.TransportKey
	deps  *Deps
	// closers release what route handlers hold (MCP sessions and their
	// stdio processes); Close runs them.
	closers []func()
}

// Summary is a one-line description for logs.
func (s *Snapshot) Summary() string {
	listeners, routes := 0, 0
	for _, b := range s.binds {
		listeners += len(b.Listeners)
		for _, l := range b.Listeners {
			routes += len(l.Routes)
		}
	}
	return fmt.Sprintf("%d bind(s), %d listener(s), %d route(s)", len(s.binds), listeners, routes)
}

// Dump is the compiled view shown by the admin API's /config_dump.
func (s *Snapshot) Dump() any {
	return map[string]any{"binds": s.binds, "warnings": s.Warnings}
}

// Activate tells the shared transport cache which transports this snapshot
// uses, releasing the idle connections of transports no snapshot uses any
// more. Call it once the snapshot is the running one.
func (s *Snapshot) Activate() {
	if s.deps != nil {
		s.deps.Transports.Retain(s.keys...)
	}
}

// Close releases what only this snapshot holds: idle upstream connections
// and MCP sessions (clients resume those on the next snapshot from their
// sealed ids).
func (s *Snapshot) Close() {
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
}

// errs collects compile errors with the config positions of their fields.
type errs struct {
	cfg  *config.Config
	list []*config.FieldError
}

func (e *errs) add(path, format string, args ...any) {
	fe := &config.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if p, ok := e.cfg.Pos(path); ok {
		fe.Line, fe.Col = p.Line, p.Col
	}
	e.list = append(e.list, fe)
}

func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	sort.SliceStable(e.list, func(i, j int) bool {
		a, b := e.list[i], e.list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := config.Errors(e.list)
	return &out
}

// Compile builds a snapshot from cfg (already validated by config.Load).
// Every error is reported, with its field path and position.
func Compile(cfg *config.Config, deps *Deps) (*Snapshot, error) {
	e := &errs{cfg: cfg}
	full := config.Expand(cfg)
	snap := &Snapshot{Config: cfg, Settings: SettingsOf(cfg), Binds: map[int]http.Handler{}, deps: deps}
	c := &compiler{deps: deps, errs: e, snap: snap, access: newAccessLog(deps, snap.Settings)}

	for _, key := range sortedKeys(full.Unbuilt) {
		what := "top-level key"
		if strings.ContainsAny(key, ".[") {
			what = "key"
		}
		e.add(key, "%s %q is part of agentgateway's config language but not supported by this gateway yet", what, key)
	}
	if s := full.Config; s != nil && s.Tracing != nil {
		snap.Warnings = append(snap.Warnings, "config.tracing is accepted but OpenTelemetry export is not built yet: no spans are sent")
	}
	c.checkUnbuiltSettings(full)
	for i := range full.Binds {
		c.bind(fmt.Sprintf("binds[%d]", i), &full.Binds[i])
	}
	if err := e.err(); err != nil {
		snap.Close()
		return nil, err
	}
	sort.Slice(c.snap.binds, func(i, j int) bool { return c.snap.binds[i].Port < c.snap.binds[j].Port })
	return snap, nil
}

type compiler struct {
	deps   *Deps
	errs   *errs
	snap   *Snapshot
	access *telemetry.AccessLog
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newAccessLog(deps *Deps, s Settings) *telemetry.AccessLog {
	if deps.AccessLogOut == nil {
		return nil
	}
	al, err := telemetry.NewAccessLog(deps.AccessLogOut, s.LogFormat, deps.Level)
	if err != nil {
		return nil
	}
	return al
}
