// Package app wires the gateway together: it loads and compiles the config,
// serves the admin, metrics and readiness endpoints, reconciles the data-plane
// listeners, reloads on file changes (all-or-nothing), and drains on SIGTERM.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentgw/agentgateway/internal/compile"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/listen"
	"github.com/agentgw/agentgateway/internal/telemetry"
	"github.com/agentgw/agentgateway/internal/version"
)

// App is a running gateway.
type App struct {
	opts    Options
	src     source
	log     *slog.Logger
	level   *slog.LevelVar
	metrics *telemetry.Metrics
	deps    *compile.Deps
	lm      *listen.Manager

	cur   atomic.Pointer[compile.Snapshot]
	ready atomic.Bool

	reloadMu   sync.Mutex // serialises reloads
	lastReload reloadStatus
	statusMu   sync.RWMutex
}

type reloadStatus struct {
	Time    time.Time `json:"time"`
	Success bool      `json:"success"`
	Source  string    `json:"source"`
	Error   string    `json:"error,omitempty"`
}

// Run loads the config and serves until ctx is done. It returns the process
// exit code: 0 on a clean shutdown (or a valid config with ValidateOnly),
// 1 when the config is invalid or a socket cannot be opened.
func Run(ctx context.Context, opts Options) int {
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	src := opts.source()
	data, err := opts.read()
	if err != nil {
		fmt.Fprintf(stderr, "agentgateway: %v\n", err)
		return 1
	}
	cfg, err := config.Load(data, os.LookupEnv)
	if err != nil {
		printConfigError(stderr, src.name, err)
		return 1
	}
	settings := compile.SettingsOf(cfg)
	log, level, err := telemetry.NewLogger(stderr, settings.LogFormat, settings.LogLevel)
	if err != nil {
		printConfigError(stderr, src.name, err)
		return 1
	}
	metrics := telemetry.NewMetrics(version.Version, version.Revision())
	a := &App{opts: opts, src: src, log: log, level: level, metrics: metrics}
	access := telemetry.NewBufferedWriter(stderr, 100*time.Millisecond)
	defer func() { _ = access.Close() }()
	a.deps = compile.NewDeps(log, metrics, access, level)

	snap, err := compile.Compile(cfg, a.deps)
	if err != nil {
		printConfigError(stderr, src.name, err)
		return 1
	}
	if opts.ValidateOnly {
		fmt.Fprintf(stderr, "agentgateway: config %s is valid (%s)\n", src.name, snap.Summary())
		snap.Close()
		return 0
	}

	if src.builtin {
		log.Info("no config given (-f/-c): running the built-in default config; see docs/getting-started.md to add a backend")
	} else {
		log.Info("starting agentgateway", "config", src.name, "version", version.String())
	}
	for _, w := range snap.Warnings {
		log.Warn(w)
	}
	return a.serve(ctx, snap)
}

func (a *App) serve(ctx context.Context, snap *compile.Snapshot) int {
	mgmt, err := a.startManagement(snap.Settings)
	if err != nil {
		a.log.Error("cannot start management servers", "error", err)
		return 1
	}
	a.lm = listen.NewManager(a.log, "", a.metrics.ConnHook())
	a.cur.Store(snap)
	if err := a.lm.Reconcile(a.portHandlers(snap)); err != nil {
		a.log.Error("cannot start listeners", "error", err)
		mgmt.shutdown(context.Background())
		return 1
	}
	snap.Activate()
	a.recordReload(true, "initial load", nil)
	a.ready.Store(true)
	a.log.Info("gateway ready", "ports", a.lm.Ports(), "admin", mgmt.adminAddr, "stats", mgmt.statsAddr, "readiness", mgmt.readinessAddr)
	go a.releaseExePages("start-up")

	var wg sync.WaitGroup
	watchCtx, stopWatch := context.WithCancel(ctx)
	if a.src.path != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.watch(watchCtx, a.src.path)
		}()
	}

	select {
	case <-ctx.Done():
	case <-mgmt.quit:
		a.log.Info("shutdown requested through the admin API")
	}
	stopWatch()
	wg.Wait()
	return a.shutdown(mgmt)
}

// shutdown fails readiness, stops accepting, and drains in-flight requests
// up to the termination deadline.
func (a *App) shutdown(mgmt *management) int {
	a.ready.Store(false)
	snap := a.cur.Load()
	deadline := snap.Settings.TerminationDeadline
	a.log.Info("draining", "deadline", deadline.String())
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	code := 0
	if err := a.lm.Shutdown(ctx); err != nil {
		a.log.Warn("drain deadline reached; closed remaining connections", "error", err)
	}
	mgmt.shutdown(ctx)
	snap.Close()
	a.log.Info("stopped")
	return code
}

// portHandlers returns, for each port of snap, a handler that serves the
// snapshot current at the time each request arrives. A request pins one
// snapshot for its whole life, so a reload never mixes two configs.
func (a *App) portHandlers(snap *compile.Snapshot) map[int]http.Handler {
	hs := make(map[int]http.Handler, len(snap.Binds))
	for port := range snap.Binds {
		hs[port] = portHandler{app: a, port: port}
	}
	return hs
}

type portHandler struct {
	app  *App
	port int
}

func (p portHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := p.app.cur.Load().Binds[p.port]; h != nil {
		h.ServeHTTP(w, r)
		return
	}
	// The port is being retired by a reload that removed it.
	http.Error(w, "listener removed", http.StatusServiceUnavailable)
}

func (a *App) recordReload(ok bool, source string, err error) {
	st := reloadStatus{Time: time.Now().UTC(), Success: ok, Source: source}
	if err != nil {
		st.Error = err.Error()
	}
	a.statusMu.Lock()
	a.lastReload = st
	a.statusMu.Unlock()
	a.metrics.ConfigReload(ok)
}

func (a *App) reloadStatus() reloadStatus {
	a.statusMu.RLock()
	defer a.statusMu.RUnlock()
	return a.lastReload
}

func printConfigError(w io.Writer, name string, err error) {
	var errs *config.Errors
	if errors.As(err, &errs) {
		fmt.Fprintf(w, "agentgateway: config %s is invalid (%d error(s)):\n", name, len(errs.List()))
		for _, e := range errs.List() {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	fmt.Fprintf(w, "agentgateway: config %s is invalid:\n  %v\n", name, err)
}
