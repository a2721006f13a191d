package admin

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Default addresses, as agentgateway's.
const (
	DefaultAdminAddr     = "127.0.0.1:15000"
	DefaultStatsAddr     = "0.0.0.0:15020"
	DefaultReadinessAddr = "0.0.0.0:15021"
)

// Environment variables overriding the addresses.
const (
	EnvAdminAddr     = "ADMIN_ADDR"
	EnvStatsAddr     = "STATS_ADDR"
	EnvReadinessAddr = "READINESS_ADDR"
)

// Off is the address value that disables a server.
const Off = "off"

// ResolveAddr picks a server address: the environment variable env if set
// and non-empty, else *configValue if set, else def (agentgateway's
// precedence). The result may be "off".
func ResolveAddr(configValue *string, env, def string) string {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return v
	}
	if configValue != nil && strings.TrimSpace(*configValue) != "" {
		return strings.TrimSpace(*configValue)
	}
	return def
}

// NewStats returns the stats server's handler: metrics (e.g.
// telemetry.Metrics.Handler) on GET /metrics and GET /stats/prometheus.
func NewStats(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /stats/prometheus", metrics)
	return mux
}

// NewReadiness returns the readiness server's handler: GET /healthz/ready
// answers 200 "ready" while ready() is true, else 503 "not ready".
func NewReadiness(ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/ready", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if ready != nil && ready() {
			plain(w, http.StatusOK, "ready\n")
			return
		}
		plain(w, http.StatusServiceUnavailable, "not ready\n")
	})
	return mux
}

// NewServer returns an http.Server for a management handler with sane
// limits: ReadHeaderTimeout 10 s, ReadTimeout 30 s, IdleTimeout 120 s,
// 64 KiB of headers. It has no WriteTimeout, because
// /debug/pprof/profile?seconds=N streams for N seconds.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// Server is a management server bound to one address; see Listen.
type Server struct {
	name string
	addr string
	srv  *http.Server
	ln   net.Listener
	log  *slog.Logger
	done chan struct{}
}

// Listen binds addr ("host:port", "unix:/path", or "off" for a server that
// never serves) and serves h on it in the background with NewServer's
// limits. A bind failure (port in use) is returned here. name labels logs.
func Listen(name, addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{name: name, addr: strings.TrimSpace(addr), log: log, srv: NewServer(h), done: make(chan struct{})}
	s.srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	if !s.Enabled() {
		close(s.done)
		return s, nil
	}
	network, address := "tcp", s.addr
	if p, ok := strings.CutPrefix(s.addr, "unix:"); ok {
		network, address = "unix", p
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, errors.New(name + ": listen on " + s.addr + ": " + err.Error())
	}
	s.ln = ln
	log.Info("serving "+name, "addr", ln.Addr().String())
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" server stopped", "error", err)
		}
	}()
	return s, nil
}

// Enabled reports whether the server has an address to serve on.
func (s *Server) Enabled() bool { return s.addr != "" && !strings.EqualFold(s.addr, Off) }

// Addr returns the bound address (useful with port 0), or the configured
// one ("off") for a disabled server.
func (s *Server) Addr() string {
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// Shutdown stops accepting, waits for in-flight requests until ctx ends,
// then closes whatever is left.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	return err
}
