package e2e

// Fault tests (hardening.md (b), B5 for plain HTTP and B9): upstreams that
// hang, reset, truncate or speak garbage; config reload storms under
// traffic; ports already taken at startup and on reload.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream accepts connections on loopback and hands each to handle.
func rawUpstream(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// readHead reads from c until the end of a request head (or an error).
func readHead(c net.Conn) {
	buf := make([]byte, 0, 1024)
	tmp := make([]byte, 512)
	for !strings.Contains(string(buf), "\r\n\r\n") {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			return
		}
	}
}

func TestHardeningUpstreamFaults(t *testing.T) {
	t.Parallel()
	hung := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	reset := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	silentClose := rawUpstream(t, func(c net.Conn) { readHead(c) })
	truncatedCL := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("a", 100))
		time.Sleep(50 * time.Millisecond)
	})
	truncatedChunked := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		time.Sleep(50 * time.Millisecond)
	})
	garbage := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		io.WriteString(c, "HELLO I AM NOT HTTP\r\n\r\n")
	})
	badStatus := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		io.WriteString(c, "HTTP/1.1 2000 Way Too OK\r\nContent-Length: 0\r\n\r\n")
	})
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: hung
      matches: [{path: {pathPrefix: /hung}}]
      policies:
        timeout: {backendRequestTimeout: 300ms}
      backends: [{host: %s}]
    - name: reset
      matches: [{path: {pathPrefix: /reset}}]
      backends: [{host: %s}]
    - name: silent
      matches: [{path: {pathPrefix: /silent}}]
      backends: [{host: %s}]
    - name: truncated-cl
      matches: [{path: {pathPrefix: /truncated-cl}}]
      backends: [{host: %s}]
    - name: truncated-chunked
      matches: [{path: {pathPrefix: /truncated-chunked}}]
      backends: [{host: %s}]
    - name: garbage
      matches: [{path: {pathPrefix: /garbage}}]
      backends: [{host: %s}]
    - name: bad-status
      matches: [{path: {pathPrefix: /bad-status}}]
      backends: [{host: %s}]
    - name: main
      backends: [{host: %s}]
`, port, hostOf(hung), reset, silentClose, truncatedCL, truncatedChunked, garbage, badStatus, up.host()))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 10 * time.Second}

	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/hung", 504},
		{"/reset", 502},
		{"/silent", 502},
		{"/garbage", 502},
		{"/bad-status", 502},
	} {
		t.Run(tc.path, func(t *testing.T) {
			start := time.Now()
			resp, err := client.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			if d := time.Since(start); tc.path == "/hung" && d > 5*time.Second {
				t.Fatalf("504 took %s with a 300ms backendRequestTimeout", d)
			}
			if strings.Contains(string(body), "dial tcp") || strings.Contains(string(body), "malformed") {
				t.Fatalf("error body leaks Go internals: %q", body)
			}
			assertHealthy(t, g, base+"/after")
		})
	}

	// An upstream that dies mid-body: the client sees an error, never a
	// clean (short) body, and the next request works. When the partial
	// response was still in the gateway's write buffer (a small body with a
	// Content-Length is not flushed early) the connection just closes before
	// any response; once bytes were flushed (chunked streams are flushed per
	// write) the client gets 200 and a body that ends in an error.
	for _, path := range []string{"/truncated-cl", "/truncated-chunked"} {
		t.Run(path, func(t *testing.T) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(base + path)
			if err != nil {
				t.Logf("request error (connection closed before a response): %v", err)
				assertHealthy(t, g, base+"/after")
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if err == nil {
				t.Fatalf("truncated upstream body delivered as a complete %d-byte body", len(body))
			}
			t.Logf("status 200, body error after %d bytes: %v", len(body), err)
			if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset") {
				t.Errorf("unexpected body error %v", err)
			}
			assertHealthy(t, g, base+"/after")
		})
	}
	g.WaitLog("upstream response truncated")
}

// TestHardeningClientGoneAbortsUpstream: a client that goes away while
// the gateway waits for the upstream's answer (header not yet there, or
// in the middle of the body) ends the upstream exchange: the upstream
// sees its connection closed, long before its own 10 s deadline, and the
// access log records the disconnect. This is the lean HTTP/1.1 server's
// disconnect watcher reaching the lean upstream client through the
// request context's abort slot (pipeline.RequestContext).
func TestHardeningClientGoneAbortsUpstream(t *testing.T) {
	t.Parallel()
	for _, midBody := range []bool{false, true} {
		t.Run(fmt.Sprintf("midBody=%t", midBody), func(t *testing.T) {
			t.Parallel()
			got := make(chan struct{}, 1)
			closed := make(chan error, 1)
			up := rawUpstream(t, func(c net.Conn) {
				readHead(c)
				if midBody {
					// Chunked: the gateway passes each piece on as it comes.
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
				}
				got <- struct{}{}
				_, err := c.Read(make([]byte, 1)) // EOF when the gateway closes; a timeout if it never does
				closed <- err
			})
			port := freePort(t)
			g := StartGateway(t, oneRoute(port, up))
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			<-got
			if midBody { // the header and the first bytes are through
				buf := make([]byte, 0, 512)
				tmp := make([]byte, 512)
				for !strings.Contains(string(buf), "first") {
					n, err := c.Read(tmp)
					if err != nil {
						t.Fatalf("reading the first bytes: %v (%q)", err, buf)
					}
					buf = append(buf, tmp[:n]...)
				}
			}
			c.Close()
			if err := <-closed; !errors.Is(err, io.EOF) {
				t.Fatalf("upstream read ended with %v, want EOF (the gateway closing the exchange)", err)
			}
			g.WaitLog("client disconnected")
		})
	}
}

// reloadCfg is a valid config sending everything on port to host.
func reloadCfg(port int, host, comment string) string {
	return fmt.Sprintf("# %s\n%s", comment, oneRoute(port, host))
}

// TestHardeningReloadStorm: T-99/T-100 in small. 20 config writes in quick
// succession (some invalid) while clients send requests: no request fails,
// the final valid config wins, the process stays up.
func TestHardeningReloadStorm(t *testing.T) {
	t.Parallel()
	a, b, final := echoBackend(t, "a"), echoBackend(t, "b"), echoBackend(t, "final")
	port := freePort(t)
	g := StartGateway(t, oneRoute(port, hostOf(a)))
	url := fmt.Sprintf("http://127.0.0.1:%d/storm", port)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent atomic.Int64
	var mu sync.Mutex
	var failures []string
	for i := 0; i < 4; i++ {
		tr := &http.Transport{DisableKeepAlives: i%2 == 1} // two keep-alive, two new-connection clients
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tr.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				sent.Add(1)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("status %d", resp.StatusCode))
					mu.Unlock()
				}
			}
		}()
	}

	invalid := []string{
		oneRoute(port, hostOf(b)) + "      bogusKey: 1\n", // unknown key
		"binds: [\n",               // truncated YAML
		oneRoute(70000, hostOf(b)), // port out of range
		strings.Replace(oneRoute(port, hostOf(b)), "- name: main", "- name: main\n      matches: [{path: {regex: \"([\"}}]", 1), // bad regex
	}
	for i := 0; i < 20; i++ {
		var cfg string
		switch {
		case i == 19:
			cfg = reloadCfg(port, hostOf(final), "final")
		case i%3 == 1:
			cfg = invalid[(i/3)%len(invalid)]
		case i%2 == 0:
			cfg = reloadCfg(port, hostOf(a), fmt.Sprint(i))
		default:
			cfg = reloadCfg(port, hostOf(b), fmt.Sprint(i))
		}
		g.WriteConfig(cfg)
		// Alternate bursts (coalesced by the watcher's debounce) with gaps
		// long enough for each write to be loaded on its own.
		if i%2 == 0 {
			time.Sleep(20 * time.Millisecond)
		} else {
			time.Sleep(300 * time.Millisecond)
		}
	}
	eventually(t, "final config serving", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Backend") == "final"
	})
	time.Sleep(300 * time.Millisecond) // a little traffic on the final config
	close(stop)
	wg.Wait()

	t.Logf("%d requests during the storm", sent.Load())
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during reloads, first: %s", len(failures), sent.Load(), failures[0])
	}
	if sent.Load() < 50 {
		t.Fatalf("only %d requests sent: the storm was not under traffic", sent.Load())
	}
	logs := g.Logs()
	if !strings.Contains(logs, "config reload failed") || !strings.Contains(logs, "config reloaded") {
		t.Fatalf("storm did not exercise both good and bad reloads:\n%s", logs)
	}
	select {
	case <-g.done:
		t.Fatalf("gateway exited: %v", g.exitErr)
	default:
	}
	for i := 0; i < 5; i++ { // stable on the final config
		resp, _ := get(t, url)
		if resp.Header.Get("X-Backend") != "final" {
			t.Fatalf("not on the final config: %q", resp.Header.Get("X-Backend"))
		}
	}
	assertHealthy(t, g, url)
}

// holdPort occupies a loopback port, as another process would.
func holdPort(t testing.TB) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

func TestHardeningPortTakenAtStartup(t *testing.T) {
	t.Parallel()
	up := newRecorder(t, "up")
	_, taken := holdPort(t)
	g := startGateway(t, oneRoute(taken, up.host()))
	code := g.Wait(20 * time.Second)
	logs := g.Logs()
	if code == 0 {
		t.Fatalf("gateway started on a taken port (exit 0):\n%s", logs)
	}
	if !strings.Contains(logs, fmt.Sprintf("port %d", taken)) {
		t.Fatalf("error does not name port %d:\n%s", taken, logs)
	}
	if strings.Contains(logs, "panic") || strings.Contains(logs, "goroutine ") {
		t.Fatalf("panic on a taken port:\n%s", logs)
	}
}

func TestHardeningPortTakenOnReload(t *testing.T) {
	t.Parallel()
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	port := freePort(t)
	g := StartGateway(t, oneRoute(port, hostOf(a)))
	holder, taken := holdPort(t)
	both := func(comment string) string {
		return fmt.Sprintf(`# %s
binds:
- port: %d
  listeners:
  - routes:
    - backends: [{host: %s}]
- port: %d
  listeners:
  - routes:
    - backends: [{host: %s}]
`, comment, port, hostOf(b), taken, hostOf(b))
	}
	g.WriteConfig(both("first try"))
	g.WaitLog("config reload failed")
	if l := grep(g.Logs(), "config reload failed"); !strings.Contains(l, fmt.Sprintf("port %d", taken)) {
		t.Fatalf("reload error does not name port %d: %s", taken, l)
	}
	// Nothing of the new config applies: the old port still serves the old backend.
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for i := 0; i < 5; i++ {
		resp, _ := get(t, url)
		if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "a" {
			t.Fatalf("after a failed reload: %d from %q, want 200 from a", resp.StatusCode, resp.Header.Get("X-Backend"))
		}
	}
	assertHealthy(t, g, url)

	// Once the port is free, the next change applies in full.
	holder.Close()
	g.WriteConfig(both("second try"))
	eventually(t, "both ports serving b", func() bool {
		for _, p := range []int{port, taken} {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p))
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Header.Get("X-Backend") != "b" {
				return false
			}
		}
		return true
	})
	assertNoPanic(t, g)
}
