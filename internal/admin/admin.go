// Package admin serves the gateway's management plane, on agentgateway's
// ports: the admin API (default 127.0.0.1:15000: config dump, runtime log
// level, pprof, quit, later the UI), the Prometheus stats endpoint
// (0.0.0.0:15020, /metrics and /stats/prometheus) and the readiness probe
// (0.0.0.0:15021, /healthz/ready).
//
// The admin API only answers loopback peers unless told otherwise, caps
// request bodies at 1 MiB, and rejects cross-origin state-changing
// requests (http.CrossOriginProtection); state changes are POST only.
package admin

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"

	"github.com/agentgw/agentgateway/internal/telemetry"
)

// MaxBodyBytes caps admin API request bodies.
const MaxBodyBytes = 1 << 20

// AdminOptions configures NewAdmin. Every field is optional.
type AdminOptions struct {
	// ConfigDump returns the value GET /config_dump encodes as JSON. It must
	// already have secrets redacted.
	ConfigDump func() any
	// Level is the process log level that /logging reads and changes.
	Level *slog.LevelVar
	// Quit is called (once per request, asynchronously after the response
	// is written) by POST /quitquitquit.
	Quit func()
	// UI, if set, is served under /ui/.
	UI http.Handler
	// Logger records admin actions (level changes, quit requests).
	Logger *slog.Logger
	// AllowedPeers are the client networks the admin API answers; nil means
	// loopback only (127.0.0.0/8 and ::1). Unix-socket peers are always
	// allowed.
	AllowedPeers []netip.Prefix
	// TrustedOrigins are origins (e.g. "http://localhost:3000" for UI
	// development) allowed to make cross-origin state-changing requests.
	TrustedOrigins []string
}

var loopbackPeers = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// endpoint is one row of the index page.
type endpoint struct{ method, path, help string }

var endpoints = []endpoint{
	{"GET", "/config_dump", "dump the running configuration as JSON"},
	{"GET", "/logging", "show the log level"},
	{"POST", "/logging?level=debug", "change the log level (trace, debug, info, warn, error, off)"},
	{"GET", "/debug/pprof/", "Go runtime profiles (heap, goroutine, profile?seconds=N, trace, ...); heap profiling starts at the first heap or allocs request"},
	{"POST", "/quitquitquit", "shut the gateway down"},
}

// NewAdmin returns the admin API handler.
func NewAdmin(opts AdminOptions) http.Handler {
	a := &adminAPI{opts: opts, log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.index)
	mux.HandleFunc("GET /config_dump", a.configDump)
	mux.HandleFunc("GET /logging", a.getLogging)
	mux.HandleFunc("POST /logging", a.postLogging)
	mux.HandleFunc("POST /quitquitquit", a.quit)

	mux.HandleFunc("GET /debug/pprof/", pprof.Index)                    // named profiles: heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("GET /debug/pprof/heap", heapProfileHandler("heap")) // heap profiling starts on first use: heapprof.go
	mux.HandleFunc("GET /debug/pprof/allocs", heapProfileHandler("allocs"))
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)

	if opts.UI != nil {
		mux.Handle("/ui/", opts.UI)
		mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	}

	cop := http.NewCrossOriginProtection()
	for _, o := range opts.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			a.log.Warn("admin: ignoring invalid trusted origin", "origin", o, "error", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.Warn("admin: rejected cross-origin request", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "peer", r.RemoteAddr)
		plain(w, http.StatusForbidden, "cross-origin request rejected\n")
	}))

	peers := opts.AllowedPeers
	if peers == nil {
		peers = loopbackPeers
	}
	inner := cop.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !peerAllowed(r.RemoteAddr, peers) {
			a.log.Warn("admin: rejected peer", "peer", r.RemoteAddr, "path", r.URL.Path)
			plain(w, http.StatusForbidden, "forbidden\n")
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		inner.ServeHTTP(w, r)
	})
}

// peerAllowed reports whether a request from remoteAddr may use the admin
// API. An address that is not ip:port (a Unix socket peer) is allowed: the
// socket's file permissions guard it.
func peerAllowed(remoteAddr string, peers []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return remoteAddr == "" || remoteAddr == "@"
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range peers {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

type adminAPI struct {
	opts AdminOptions
	log  *slog.Logger
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (a *adminAPI) index(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	b.WriteString("agentgateway admin API\n\n")
	for _, e := range endpoints {
		b.WriteString(e.method)
		b.WriteString(strings.Repeat(" ", 5-len(e.method)))
		b.WriteString(e.path)
		b.WriteString(strings.Repeat(" ", max(1, 24-len(e.path))))
		b.WriteString(e.help)
		b.WriteByte('\n')
	}
	if a.opts.UI != nil {
		b.WriteString("GET  /ui/                    web UI\n")
	}
	plain(w, http.StatusOK, b.String())
}

func (a *adminAPI) configDump(w http.ResponseWriter, _ *http.Request) {
	var v any = struct{}{}
	if a.opts.ConfigDump != nil {
		v = a.opts.ConfigDump()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		a.log.Error("admin: config dump", "error", err)
		plain(w, http.StatusInternalServerError, "config dump failed\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func (a *adminAPI) levelText() string {
	return "current log level is " + telemetry.LevelName(a.opts.Level.Level()) + "\n"
}

func (a *adminAPI) getLogging(w http.ResponseWriter, _ *http.Request) {
	if a.opts.Level == nil {
		plain(w, http.StatusNotImplemented, "log level is not adjustable\n")
		return
	}
	plain(w, http.StatusOK, a.levelText())
}

// postLogging sets the level from ?level= (or a form field of that name);
// without one it reports the current level, as agentgateway does.
func (a *adminAPI) postLogging(w http.ResponseWriter, r *http.Request) {
	if a.opts.Level == nil {
		plain(w, http.StatusNotImplemented, "log level is not adjustable\n")
		return
	}
	if err := r.ParseForm(); err != nil {
		plain(w, http.StatusBadRequest, "bad request\n")
		return
	}
	s := r.Form.Get("level")
	if s == "" {
		plain(w, http.StatusOK, a.levelText())
		return
	}
	lvl, err := telemetry.ParseLevel(s)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	old := a.opts.Level.Level()
	a.opts.Level.Set(lvl)
	a.log.Info("admin: log level changed", "from", telemetry.LevelName(old), "to", telemetry.LevelName(lvl), "peer", r.RemoteAddr)
	plain(w, http.StatusOK, a.levelText())
}

func (a *adminAPI) quit(w http.ResponseWriter, r *http.Request) {
	if a.opts.Quit == nil {
		plain(w, http.StatusNotImplemented, "quit is not available\n")
		return
	}
	a.log.Warn("admin: shutdown requested", "peer", r.RemoteAddr)
	plain(w, http.StatusOK, "OK\n")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go a.opts.Quit()
}
