package backend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// newRecorder starts an upstream that sends a copy of every request it
// sees to the returned channel, then runs h.
func newRecorder(t *testing.T, h http.HandlerFunc) (*httptest.Server, chan *http.Request) {
	ch := make(chan *http.Request, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- r.Clone(context.Background())
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestHeaderHygiene(t *testing.T) {
	up, seen := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Resp-Secret")
		w.Header().Set("X-Resp-Secret", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Resp-Kept", "1")
		io.WriteString(w, "ok")
	})
	f := newFront(t, newUp(t, UpstreamSpec{Name: "b1", Address: addr(up)}))

	req, _ := http.NewRequest("GET", f.URL+"/a/b%2Fc/../d?x=1&y=%20z", nil)
	req.Header.Set("Connection", "X-Forwarded-For, X-Custom, X-Forwarded-Proto")
	req.Header.Set("X-Custom", "dropped")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Prefix", "/admin")
	req.Header.Set("X-Forwarded-Port", "443")
	req.Header.Set("X-Real-IP", "1.2.3.4")
	req.Header.Set("Forwarded", "for=1.2.3.4")
	req.Header.Set("Proxy-Connection", "keep-alive")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("X-Kept", "yes")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	r := <-seen
	if got := r.RequestURI; got != "/a/b%2Fc/../d?x=1&y=%20z" {
		t.Errorf("path/query changed: %q", got)
	}
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  strings.TrimPrefix(f.URL, "http://"),
		"X-Kept":            "yes",
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"X-Custom", "X-Forwarded-Prefix", "X-Forwarded-Port", "X-Real-Ip",
		"Forwarded", "Proxy-Connection", "Keep-Alive"} {
		if v, ok := r.Header[k]; ok {
			t.Errorf("%s leaked upstream: %q", k, v)
		}
	}
	if c := r.Header.Get("Connection"); c != "" && !strings.EqualFold(c, "keep-alive") {
		t.Errorf("Connection forwarded: %q", c)
	}
	if resp.Header.Get("X-Resp-Secret") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("response hop-by-hop headers leaked: %v", resp.Header)
	}
	if resp.Header.Get("X-Resp-Kept") != "1" {
		t.Errorf("end-to-end response header lost")
	}
	info := f.info(t)
	if info.Backend != "b1" || info.Endpoint != addr(up) {
		t.Errorf("info backend=%q endpoint=%q", info.Backend, info.Endpoint)
	}
}

func TestHostForwarding(t *testing.T) {
	up, seen := newRecorder(t, nil)
	u := newUp(t, UpstreamSpec{Address: addr(up)})
	f := newFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("clear") != "" {
			r.Host = "" // a hostRewrite that asks for the upstream address
		}
		u.ServeHTTP(w, r)
	}))
	req, _ := http.NewRequest("GET", f.URL+"/", nil)
	req.Host = "api.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := <-seen; r.Host != "api.example.com" {
		t.Errorf("upstream Host = %q", r.Host)
	}
	get(t, nil, f.URL+"/?clear=1")
	if r := <-seen; r.Host != addr(up) {
		t.Errorf("upstream Host = %q, want %q", r.Host, addr(up))
	}
}

func TestBackendAuth(t *testing.T) {
	up, seen := newRecorder(t, nil)
	for _, tc := range []struct {
		spec, name, want string
	}{
		{"Authorization: Bearer sk-upstream", "Authorization", "Bearer sk-upstream"},
		{"x-api-key: k-up", "X-Api-Key", "k-up"},
	} {
		f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up), AuthHeader: tc.spec}))
		req, _ := http.NewRequest("GET", f.URL, nil)
		req.Header.Set("Authorization", "Bearer client-token")
		req.Header.Set("X-Api-Key", "client-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r := <-seen
		if got := r.Header.Values(tc.name); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: %s = %q", tc.spec, tc.name, got)
		}
		if tc.name != "Authorization" && r.Header.Get("Authorization") != "" {
			t.Errorf("client Authorization forwarded: %q", r.Header.Get("Authorization"))
		}
	}
	for _, bad := range []string{"NoColon", "Bad Name: v", "X: a\nb", ": v"} {
		if _, err := NewUpstream(UpstreamSpec{Address: "127.0.0.1:1", AuthHeader: bad}, NewTransports()); err == nil {
			t.Errorf("AuthHeader %q accepted", bad)
		}
	}
}

func TestSpecValidation(t *testing.T) {
	tr := NewTransports()
	for _, s := range []UpstreamSpec{
		{Address: "noport"}, {Address: ":80"}, {Address: "h:99999"}, {Address: "h:1", Scheme: "ftp"},
		{Address: "h:1", HTTP1: true, HTTP2: true},
		{Address: "h:1", TLS: &TLSSpec{CertFile: "x"}},
		{Address: "h:1", TLS: &TLSSpec{RootFile: "/nonexistent"}},
	} {
		if _, err := NewUpstream(s, tr); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
}

func TestStreamingFlush(t *testing.T) {
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
		}
		w.WriteHeader(200)
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "data: two\n\n")
	}))
	defer up.Close()
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	for _, path := range []string{"/sse", "/chunked"} {
		resp, err := http.Get(f.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		first := make(chan string, 1)
		go func() {
			l, _ := br.ReadString('\n')
			first <- l
		}()
		select {
		case l := <-first:
			if l != "data: one\n" {
				t.Fatalf("%s: first line %q", path, l)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: first event not delivered before the second was written", path)
		}
		next <- struct{}{}
		rest, _ := io.ReadAll(br)
		resp.Body.Close()
		if string(rest) != "\ndata: two\n\n" {
			t.Fatalf("%s: rest %q", path, rest)
		}
	}
}

// wsUpstream answers a websocket handshake and then echoes bytes.
func wsUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want websocket", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func rawRequest(t *testing.T, a, req string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp
}

func TestWebSocket(t *testing.T) {
	up := wsUpstream(t)
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	c, br, resp := rawRequest(t, addr(f.Server), "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"+
		"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	io.WriteString(c, "ping-123")
	buf := make([]byte, 8)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping-123" {
		t.Fatalf("echo %q %v", buf, err)
	}
}

func TestUpgradeAllowlist(t *testing.T) {
	up, seen := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") })
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	_, br, resp := rawRequest(t, addr(f.Server), "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
	body, _ := io.ReadAll(io.LimitReader(br, 5))
	if resp.StatusCode != 200 || string(body) != "plain" {
		t.Fatalf("h2c upgrade: %d %q", resp.StatusCode, body)
	}
	r := <-seen
	for _, k := range []string{"Upgrade", "Http2-Settings"} {
		if v := r.Header.Get(k); v != "" {
			t.Errorf("%s forwarded: %q", k, v)
		}
	}

	// An upstream that switches protocols although no upgrade was
	// forwarded must not get a tunnel.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		time.Sleep(100 * time.Millisecond)
		conn.Close()
	}))
	defer evil.Close()
	f2 := newFront(t, newUp(t, UpstreamSpec{Address: addr(evil)}))
	_, _, resp = rawRequest(t, addr(f2.Server), "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("forced 101: status %d, want 502", resp.StatusCode)
	}
}

func TestConnectRefused(t *testing.T) {
	f := newFront(t, newUp(t, UpstreamSpec{Address: refusedAddr(t)}))
	resp, body := get(t, nil, f.URL)
	if resp.StatusCode != 502 || body != "upstream connect error\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	if info := f.info(t); info.Err != "upstream connect error" {
		t.Errorf("info.Err = %q", info.Err)
	}
}

func TestUpstreamResetMidBody(t *testing.T) {
	var n atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 {
			io.WriteString(w, "healthy")
			return
		}
		conn, brw, _ := http.NewResponseController(w).Hijack()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789")
		brw.Flush()
		conn.(*net.TCPConn).SetLinger(0) // RST
		conn.Close()
	}))
	defer up.Close()
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	// The client must see an error: either the connection closes before
	// the (buffered) header is flushed, or the body ends early.
	resp, err := http.Get(f.URL)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) >= 100000 {
			t.Fatalf("got the whole body")
		}
	}
	if err == nil {
		t.Fatal("truncation not visible to the client")
	}
	if info := f.info(t); info.Err != "upstream response truncated" {
		t.Errorf("info.Err = %q", info.Err)
	}
	if _, body := get(t, nil, f.URL); body != "healthy" {
		t.Fatalf("follow-up: %q", body)
	}
}

func TestKeepAliveReuse(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 1000))
	}))
	up.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	for i := 0; i < 50; i++ {
		if resp, _ := get(t, nil, f.URL); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Fatalf("upstream saw %d connections for 50 sequential requests", got)
	}
}

func h2cProtocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &p
}

func TestH2CUpstreamTrailers(t *testing.T) {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Header.Get("Te") != "trailers" {
			http.Error(w, fmt.Sprintf("proto %s te %q", r.Proto, r.Header.Get("Te")), 400)
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(200)
		io.WriteString(w, "\x00\x00\x00\x00\x02hi")
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "ok")
	}))
	up.Config.Protocols = h2cProtocols()
	up.Start()
	defer up.Close()

	proxy := httptest.NewUnstartedServer(newUp(t, UpstreamSpec{Address: addr(up), HTTP2: true}))
	proxy.Config.Protocols = h2cProtocols()
	proxy.Start()
	defer proxy.Close()

	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &cp}}
	req, _ := http.NewRequest("POST", proxy.URL+"/pkg.Svc/Method", strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("got %s %s %q", resp.Proto, resp.Status, body)
	}
	if resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "ok" {
		t.Fatalf("trailers lost: %v", resp.Trailer)
	}
}

func TestClientCancel(t *testing.T) {
	arrived := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer up.Close()
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.URL, nil)
	go func() { <-arrived; cancel() }()
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	info := f.info(t)
	if info.Status != StatusClientClosed || info.Err != "client disconnected" {
		t.Fatalf("info status=%d err=%q", info.Status, info.Err)
	}
}

func TestOverflow(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer up.Close()
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up), MaxRequests: 1}))
	done := make(chan struct{})
	go func() { get(t, nil, f.URL); close(done) }()
	<-arrived
	resp, body := get(t, nil, f.URL)
	close(release)
	<-done
	if resp.StatusCode != 503 || body != "upstream overflow\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestRequestTrailersDropped(t *testing.T) {
	up, seen := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%q", r.Trailer)
	})
	f := newFront(t, newUp(t, UpstreamSpec{Address: addr(up)}))
	req, _ := http.NewRequest("POST", f.URL, io.NopCloser(strings.NewReader("body")))
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Forwarded-Prefix": {"/admin"}, "Authorization": {"Bearer x"}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	<-seen
	if string(b) != "map[]" {
		t.Fatalf("upstream saw trailers %s", b)
	}
}

// An accepted upgrade outlives the whole-request timeout.
func TestWebSocketOutlivesRequestTimeout(t *testing.T) {
	up := wsUpstream(t)
	svc, err := NewService(ServiceSpec{
		Targets:        []Target{{Handler: newUp(t, UpstreamSpec{Address: addr(up)})}},
		RequestTimeout: 30 * time.Millisecond,
		Retry:          &RetrySpec{Codes: []int{503}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFront(t, svc)
	c, br, resp := rawRequest(t, addr(f.Server), "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond) // past the request timeout
	io.WriteString(c, "still-up")
	buf := make([]byte, 8)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "still-up" {
		t.Fatalf("tunnel closed by the request timeout: %q %v", buf, err)
	}
}

// A request body that cannot be read (malformed chunked framing, a client
// gone mid-upload) is the client's fault: 400, not a 502 blaming the upstream.
func TestClientBodyReadErrorIs400(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer up.Close()
	u := newUp(t, UpstreamSpec{Address: addr(up)})
	body := io.NopCloser(io.MultiReader(strings.NewReader("partial"), errReader{errors.New("malformed chunked encoding")}))
	r := httptest.NewRequest("POST", "/upload", body)
	r.ContentLength = -1
	info := &pipeline.Info{}
	r = r.WithContext(pipeline.WithInfo(r.Context(), info))
	w := httptest.NewRecorder()
	u.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || w.Body.String() != "request body read error\n" {
		t.Fatalf("got %d %q, want 400", w.Code, w.Body.String())
	}
	if info.Err != "request body read error" {
		t.Errorf("info.Err = %q", info.Err)
	}
}
