// Package listen owns the data-plane sockets. One HTTP server runs per bound
// port; a reload reconciles the set of ports: a port that stays keeps its
// socket and its open connections (only the handler behind it changes), a new
// port is opened, and a port that is gone is drained and closed.
package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Safe server defaults (see docs/hardening.md).
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// ConnHook observes downstream connections of a port (for metrics).
type ConnHook func(port int, state http.ConnState)

// Manager runs one server per port.
type Manager struct {
	log  *slog.Logger
	hook ConnHook
	// Addr is the IP the data plane binds ("" = all interfaces, like agentgateway).
	host string
	// lean serves plain HTTP/1.1 requests with the lean loop (see
	// lean_server.go); AGW_LEAN_HTTP1=off turns it off.
	lean bool

	mu      sync.Mutex
	servers map[int]*server
}

type server struct {
	port    int
	ln      net.Listener
	srv     *http.Server
	handler atomic.Pointer[http.Handler]
	done    chan struct{}
	lean    *leanServer // nil: plain http.Server
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.handler.Load()).ServeHTTP(w, r)
}

// NewManager returns a manager binding host (empty for all interfaces).
func NewManager(log *slog.Logger, host string, hook ConnHook) *Manager {
	return &Manager{log: log, host: host, hook: hook, lean: leanEnabled(), servers: map[int]*server{}}
}

// Reconcile makes the served ports exactly those in handlers. Existing ports
// keep their sockets and get the new handler. If any new port fails to open,
// the ports it opened in this call are closed again, nothing else changes,
// and the error names the port.
func (m *Manager) Reconcile(handlers map[int]http.Handler) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	var opened []*server
	for _, port := range sortedPorts(handlers) {
		if _, ok := m.servers[port]; ok {
			continue
		}
		s, err := m.open(port)
		if err != nil {
			for _, o := range opened {
				_ = o.ln.Close()
			}
			return err
		}
		opened = append(opened, s)
	}
	// Everything opened: swap handlers, start new servers, retire old ports.
	for _, s := range opened {
		m.servers[s.port] = s
	}
	for port, h := range handlers {
		h := h
		m.servers[port].handler.Store(&h)
	}
	for _, s := range opened {
		go m.serve(s)
	}
	for port, s := range m.servers {
		if _, ok := handlers[port]; ok {
			continue
		}
		delete(m.servers, port)
		go func(s *server) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = s.shutdown(ctx)
			m.log.Info("listener closed", "port", s.port)
		}(s)
	}
	return nil
}

func (m *Manager) open(port int) (*server, error) {
	addr := net.JoinHostPort(m.host, fmt.Sprint(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bind port %d: %w", port, err)
	}
	s := &server{port: port, ln: ln, done: make(chan struct{})}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true) // h2c prior knowledge, for gRPC clients
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		Protocols:         &protos,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:          100,
			MaxReceiveBufferPerStream:     1 << 20,
			MaxReceiveBufferPerConnection: 4 << 20,
		},
	}
	if m.hook != nil {
		s.srv.ConnState = func(c net.Conn, st http.ConnState) {
			if _, handedOff := c.(*replayConn); handedOff && st == http.StateNew {
				return // counted by the lean loop at accept
			}
			m.hook(port, st)
		}
	}
	if m.lean {
		var hook func(http.ConnState)
		if m.hook != nil {
			hook = func(st http.ConnState) { m.hook(port, st) }
		}
		s.lean = newLeanServer(s.srv, ln.Addr(), hook)
	}
	m.log.Info("listener started", "bind", fmt.Sprintf("bind/%d", port), "addr", ln.Addr().String())
	return s, nil
}

func (m *Manager) serve(s *server) {
	defer close(s.done)
	var err error
	if s.lean != nil {
		err = s.lean.serve(s.ln)
	} else {
		err = s.srv.Serve(s.ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		m.log.Error("listener failed", "port", s.port, "error", err)
	}
}

// Ports returns the ports being served.
func (m *Manager) Ports() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	ports := make([]int, 0, len(m.servers))
	for p := range m.servers {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports
}

// Shutdown stops accepting on every port and waits for in-flight requests
// until ctx ends; then it closes what is left.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	servers := make([]*server, 0, len(m.servers))
	for _, s := range m.servers {
		servers = append(servers, s)
	}
	m.servers = map[int]*server{}
	m.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.shutdown(ctx); err != nil {
				errs[i] = fmt.Errorf("port %d: %w", s.port, err)
				s.close()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// shutdown drains the port: the http.Server (handed-off connections,
// RegisterOnShutdown hooks) and the lean connections in parallel.
func (s *server) shutdown(ctx context.Context) error {
	if s.lean == nil {
		return s.srv.Shutdown(ctx)
	}
	leanErr := make(chan error, 1)
	go func() { leanErr <- s.lean.shutdown(ctx) }()
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, <-leanErr)
}

// close closes everything the port still has open.
func (s *server) close() {
	_ = s.srv.Close()
	if s.lean != nil {
		s.lean.closeAll()
	}
}

func sortedPorts(h map[int]http.Handler) []int {
	ports := make([]int, 0, len(h))
	for p := range h {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports
}
