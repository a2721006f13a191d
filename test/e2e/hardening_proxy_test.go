package e2e

// Bad-input and protocol tests for what the gateway forwards (hardening.md
// (b), B2 and B8): upgrades, HTTP/2, paths, forwarding headers, weighted
// backends.

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHardeningH2CUpgradeNotForwarded: T-18. A client asking to upgrade to
// h2c (the h2c smuggling trick) must not get a tunnel: the upstream never
// sees Upgrade/HTTP2-Settings, and even an upstream that answers 101 anyway
// does not open one.
func TestHardeningH2CUpgradeNotForwarded(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []http.Header
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		// A hostile upstream switches protocols whatever it was asked.
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "h2c")
		w.WriteHeader(http.StatusSwitchingProtocols)
	}))
	t.Cleanup(evil.Close)
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: evil
      matches: [{path: {pathPrefix: /evil}}]
      backends: [{host: %s}]
    - name: main
      backends: [{host: %s}]
`, port, hostOf(evil), up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const upgrade = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"

	res := rawExchange(t, addr, "GET /echo HTTP/1.1\r\nHost: gw.test\r\n"+upgrade, 300*time.Millisecond)
	t.Logf("h2c upgrade to a plain upstream: status %d", res.first())
	if got := res.first(); got != 200 && got != 400 {
		t.Fatalf("status %d, want 200 (served as HTTP/1.1) or 400", got)
	}
	if res.first() == 200 {
		h := decodeSeen(t, res.Resps[0].Body).Header
		if h.Get("Upgrade") != "" || h.Get("Http2-Settings") != "" || strings.Contains(strings.ToLower(h.Get("Connection")), "upgrade") {
			t.Fatalf("upgrade headers forwarded upstream: %v", h)
		}
	}

	res = rawExchange(t, addr, "GET /evil HTTP/1.1\r\nHost: gw.test\r\n"+upgrade, 300*time.Millisecond)
	t.Logf("h2c upgrade to an upstream that answers 101: status %d, err %v", res.first(), res.Err)
	if got := res.first(); got == http.StatusSwitchingProtocols || got == 0 {
		t.Fatalf("status %d: the gateway relayed a switch to h2c (responses %+v, err %v)", got, res.Resps, res.Err)
	}
	mu.Lock()
	for _, h := range got {
		if h.Get("Upgrade") != "" || h.Get("Http2-Settings") != "" {
			t.Errorf("upgrade headers reached the upstream: %v", h)
		}
	}
	mu.Unlock()
	assertHealthy(t, g, "http://"+addr+"/after")
}

// wsUpstream completes a WebSocket handshake by hand and echoes each frame
// (unmasked, as a server sends) until the peer closes.
func wsUpstream(t testing.TB) *httptest.Server {
	return echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "websocket only", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		if brw.Flush() != nil {
			return
		}
		for {
			op, payload, err := wsRead(brw.Reader)
			if err != nil || op == 0x8 {
				return
			}
			if wsWrite(c, op, payload, false) != nil {
				return
			}
		}
	})
}

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsWrite writes one final frame; masked frames (client to server) use a
// fixed key, which is fine for a test.
func wsWrite(w io.Writer, op byte, payload []byte, masked bool) error {
	hdr := []byte{0x80 | op}
	maskBit := byte(0)
	if masked {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, maskBit|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, maskBit|126, byte(n>>8), byte(n))
	default:
		return errors.New("frame too large for this test")
	}
	body := append([]byte(nil), payload...)
	if masked {
		key := []byte{1, 2, 3, 4}
		hdr = append(hdr, key...)
		for i := range body {
			body[i] ^= key[i%4]
		}
	}
	_, err := w.Write(append(hdr, body...))
	return err
}

func wsRead(r *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	op = h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		return 0, nil, errors.New("64-bit frame length not supported here")
	}
	var key [4]byte
	if h[1]&0x80 != 0 {
		if _, err = io.ReadFull(r, key[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return op, payload, nil
}

// TestHardeningWebSocket: a WebSocket upgrade works end to end, frames flow
// both ways, and the gateway keeps serving afterwards.
func TestHardeningWebSocket(t *testing.T) {
	t.Parallel()
	ws := wsUpstream(t)
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: ws
      matches: [{path: {pathPrefix: /chat}}]
      backends: [{host: %s}]
    - name: main
      backends: [{host: %s}]
`, port, hostOf(ws), up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(c, "GET /chat HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	for i, msg := range []string{"hello", strings.Repeat("x", 300), "last"} {
		if err := wsWrite(c, 0x1, []byte(msg), true); err != nil {
			t.Fatal(err)
		}
		op, payload, err := wsRead(br)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if op != 0x1 || string(payload) != msg {
			t.Fatalf("frame %d: echo op %d %q", i, op, payload)
		}
	}
	_ = wsWrite(c, 0x8, nil, true) // close
	c.Close()
	assertHealthy(t, g, "http://"+addr+"/after")
}

// TestHardeningH2CEndToEnd: an HTTP/2 prior-knowledge client, through the
// gateway, to an h2c upstream (backend http.version HTTP/2); gRPC-style
// trailers reach the client.
func TestHardeningH2CEndToEnd(t *testing.T) {
	t.Parallel()
	h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2, got "+r.Proto, http.StatusHTTPVersionNotSupported)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(200)
		fmt.Fprintf(w, "proto=%s te=%s body=%s", r.Proto, r.Header.Get("Te"), body)
		w.(http.Flusher).Flush()
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "ok")
		// An unannounced trailer, sent with the TrailerPrefix convention.
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	}))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2.Config.Protocols = &p
	h2.Start()
	t.Cleanup(h2.Close)

	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: grpc
      backends:
      - host: %s
        policies: {http: {version: HTTP/2}}
`, port, hostOf(h2)))

	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &cp}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/pkg.Service/Method", port)
	for i := 0; i < 3; i++ { // several streams on one connection
		req, _ := http.NewRequest("POST", url, strings.NewReader("ping"))
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
			t.Fatalf("client side: %s %d %q", resp.Proto, resp.StatusCode, body)
		}
		if string(body) != "proto=HTTP/2.0 te=trailers body=ping" {
			t.Fatalf("upstream saw %q", body)
		}
		if resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "ok" || resp.Trailer.Get("X-Late") != "late" {
			t.Fatalf("trailers lost: %v", resp.Trailer)
		}
	}
	assertHealthy(t, g, fmt.Sprintf("http://127.0.0.1:%d/after", port))
}

// TestHardeningPathNormalization: T-93. The path is cleaned once; the
// cleaned path is what routes (and so which policies run) and what the
// upstream receives. Go clients clean paths, so these are raw request lines.
func TestHardeningPathNormalization(t *testing.T) {
	t.Parallel()
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: secret
      matches: [{path: {pathPrefix: /secret}}]
      policies:
        directResponse: {status: 403, body: "forbidden"}
    - name: admin
      matches: [{path: {pathPrefix: /admin}}]
      policies:
        requestHeaderModifier: {set: {x-route: admin}}
      backends: [{host: %[2]s}]
    - name: api
      matches: [{path: {pathPrefix: /api}}]
      policies:
        requestHeaderModifier: {set: {x-route: api}}
      backends: [{host: %[2]s}]
`, port, up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	cases := []struct {
		target    string
		status    int
		route     string // x-route the upstream saw ("" for no upstream contact)
		path      string // path the upstream saw
		notRouted string // for odd forms: a route that must not have been chosen
	}{
		{"/api/../admin/users", 200, "admin", "/admin/users", ""},
		{"/api/%2e%2e/admin/users", 200, "admin", "/admin/users", ""},
		{"/api/%2E%2E/admin", 200, "admin", "/admin", ""},
		{"/api/./v1//items", 200, "api", "/api/v1/items", ""},
		{"//admin", 200, "admin", "/admin", ""},
		{"/../../admin/x", 200, "admin", "/admin/x", ""},
		{"/%61dmin/x", 200, "admin", "/admin/x", ""},
		{"/api/v1/../../secret/keys", 403, "", "", ""},
		{"/api/%2e%2e/secret", 403, "", "", ""},
		{"/admin/../api/x", 200, "api", "/api/x", ""},
		// An encoded slash or a backslash is no segment boundary: these may be
		// 404 or routed to api, never to admin and never past the secret route.
		{"/api%2F..%2Fadmin", 0, "", "", "admin"},
		{"/api%2fadmin", 0, "", "", "admin"},
		{`/api\..\admin`, 0, "", "", "admin"},
		{"/api;x/../secret", 403, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			before := up.count()
			res := rawExchange(t, addr, "GET "+tc.target+" HTTP/1.1\r\nHost: gw.test\r\n\r\n", 200*time.Millisecond)
			got := res.first()
			if got == 200 {
				s := decodeSeen(t, res.Resps[0].Body)
				t.Logf("status 200, route %q, upstream path %q", s.Header.Get("X-Route"), s.Path)
			} else {
				t.Logf("status %d", got)
			}
			if tc.notRouted != "" {
				if got != 404 && got != 400 && got != 200 {
					t.Fatalf("status %d", got)
				}
				if got == 200 {
					if r := decodeSeen(t, res.Resps[0].Body).Header.Get("X-Route"); r == tc.notRouted {
						t.Fatalf("%s reached route %q", tc.target, r)
					}
				}
				return
			}
			if got != tc.status {
				t.Fatalf("status %d, want %d (%+v)", got, tc.status, res.Resps)
			}
			if tc.route == "" {
				if n := up.count() - before; n != 0 {
					t.Fatalf("request reached the upstream: %v", up.paths())
				}
				return
			}
			s := decodeSeen(t, res.Resps[0].Body)
			if r := s.Header.Get("X-Route"); r != tc.route || s.Path != tc.path {
				t.Fatalf("routed to %q with path %q, want %q with %q", r, s.Path, tc.route, tc.path)
			}
		})
	}
	assertHealthy(t, g, "http://"+addr+"/api/after")
}

// TestHardeningForwardedHeaders: T-13/T-14. Client-supplied forwarding
// headers are not trusted, and naming a header in Connection cannot remove
// what the gateway (or a route policy) sets.
func TestHardeningForwardedHeaders(t *testing.T) {
	t.Parallel()
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: main
      policies:
        requestHeaderModifier: {set: {x-gateway-user: verified}}
      backends: [{host: %s}]
`, port, up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	spoof := "X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n" +
		"X-Forwarded-Port: 8443\r\nX-Forwarded-Prefix: /admin\r\nForwarded: for=1.2.3.4;host=evil.example;proto=https\r\n" +
		"X-Real-IP: 1.2.3.4\r\nX-Gateway-User: attacker\r\n"
	check := func(t *testing.T, extra string) {
		t.Helper()
		res := rawExchange(t, addr, "GET /fwd HTTP/1.1\r\nHost: gw.test\r\n"+spoof+extra+"\r\n", 200*time.Millisecond)
		if res.first() != 200 {
			t.Fatalf("status %d", res.first())
		}
		h := decodeSeen(t, res.Resps[0].Body).Header
		want := map[string]string{
			"X-Forwarded-For":    "127.0.0.1",
			"X-Forwarded-Host":   "gw.test",
			"X-Forwarded-Proto":  "http",
			"X-Forwarded-Port":   "",
			"X-Forwarded-Prefix": "",
			"Forwarded":          "",
			"X-Real-Ip":          "",
			"X-Gateway-User":     "verified",
		}
		for k, v := range want {
			if got := strings.Join(h.Values(k), ","); got != v {
				t.Errorf("upstream saw %s = %q, want %q", k, got, v)
			}
		}
	}
	t.Run("spoofed forwarding headers", func(t *testing.T) { check(t, "") })
	t.Run("forwarding headers named in Connection", func(t *testing.T) {
		check(t, "Connection: keep-alive, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Gateway-User\r\n")
	})
	t.Run("Connection split over two lines", func(t *testing.T) {
		check(t, "Connection: X-Forwarded-For\r\nConnection: x-gateway-user\r\n")
	})
	assertHealthy(t, g, "http://"+addr+"/after")
}

// TestHardeningWeightedBackends: weight 3 vs weight 1 over 400 requests:
// both are used and the heavier one gets clearly more (loose bounds:
// the lighter one expects 100, σ ≈ 8.7).
func TestHardeningWeightedBackends(t *testing.T) {
	t.Parallel()
	heavy, light := echoBackend(t, "heavy"), echoBackend(t, "light")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: split
      backends:
      - {host: %s, weight: 3}
      - {host: %s, weight: 1}
`, port, hostOf(heavy), hostOf(light)))
	url := fmt.Sprintf("http://127.0.0.1:%d/w", port)
	counts := map[string]int{}
	for i := 0; i < 400; i++ {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		counts[resp.Header.Get("X-Backend")]++
	}
	t.Logf("distribution over 400 requests: %v", counts)
	if counts["heavy"]+counts["light"] != 400 {
		t.Fatalf("unexpected backends: %v", counts)
	}
	if counts["light"] < 40 || counts["light"] > 160 || counts["heavy"] < 2*counts["light"] {
		t.Fatalf("distribution %v is far from 3:1", counts)
	}
	assertNoPanic(t, g)
}
