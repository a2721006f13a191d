package headers

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRequestModifier(t *testing.T) {
	tests := []struct {
		name     string
		mod      Modifier
		in       http.Header
		want     http.Header
		wantHost string
	}{
		{
			name: "add appends",
			mod:  Modifier{Add: []Header{hd("x-a", "2"), hd("x-new", "n")}},
			in:   http.Header{"X-A": {"1"}},
			want: http.Header{"X-A": {"1", "2"}, "X-New": {"n"}},
		},
		{
			name: "set replaces",
			mod:  Modifier{Set: []Header{hd("X-A", "s")}},
			in:   http.Header{"X-A": {"1", "2"}},
			want: http.Header{"X-A": {"s"}},
		},
		{
			name: "remove is case-insensitive",
			mod:  Modifier{Remove: []string{"x-secret"}},
			in:   http.Header{"X-Secret": {"1"}, "X-Keep": {"k"}},
			want: http.Header{"X-Keep": {"k"}},
		},
		{
			name: "order add, set, remove",
			mod:  Modifier{Add: []Header{hd("x-a", "add")}, Set: []Header{hd("x-a", "set"), hd("x-b", "b")}, Remove: []string{"x-b"}},
			in:   http.Header{},
			want: http.Header{"X-A": {"set"}},
		},
		{
			name:     "set host",
			mod:      Modifier{Set: []Header{hd("Host", "backend.internal:8080")}},
			in:       http.Header{},
			want:     http.Header{},
			wantHost: "backend.internal:8080",
		},
		{
			name:     "add :authority",
			mod:      Modifier{Add: []Header{hd(":authority", "other")}},
			in:       http.Header{},
			want:     http.Header{},
			wantHost: "other",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := New(Spec{Request: tc.mod})
			if err != nil {
				t.Fatal(err)
			}
			var got *http.Request
			h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header = tc.in
			h.ServeHTTP(httptest.NewRecorder(), r)
			if !reflect.DeepEqual(got.Header, tc.want) {
				t.Fatalf("header = %v, want %v", got.Header, tc.want)
			}
			wantHost := tc.wantHost
			if wantHost == "" {
				wantHost = "example.com"
			}
			if got.Host != wantHost {
				t.Fatalf("host = %q, want %q", got.Host, wantHost)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Request: Modifier{Add: []Header{hd("bad name", "v")}}}, `requestHeaderModifier.add: invalid header name "bad name"`},
		{Spec{Response: Modifier{Set: []Header{hd("x", "a\r\nb")}}}, `responseHeaderModifier.set: header "x": value has control characters`},
		{Spec{Request: Modifier{Remove: []string{"Host"}}}, `cannot be removed`},
		{Spec{Request: Modifier{Set: []Header{hd("host", "a/b")}}}, `invalid Host`},
		{Spec{Response: Modifier{Remove: []string{""}}}, `invalid header name`},
	}
	for _, tc := range tests {
		_, err := New(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want containing %q", err, tc.want)
		}
	}
}

func hd(name, value string) Header { return Header{Name: name, Value: value} }

var respSpec = Spec{Response: Modifier{
	Add:    []Header{hd("x-added", "a")},
	Set:    []Header{hd("Server", "agentgateway")},
	Remove: []string{"x-internal"},
}}

func TestResponseModifier(t *testing.T) {
	mw, err := New(respSpec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  int
		body    string
	}{
		{"write header", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Internal", "1")
			w.Header().Set("Server", "upstream")
			w.Header().Add("X-Added", "up")
			w.WriteHeader(http.StatusCreated)
		}, http.StatusCreated, ""},
		{"implicit write", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Internal", "1")
			_, _ = io.WriteString(w, "hello")
		}, http.StatusOK, "hello"},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Internal", "1")
		}, http.StatusOK, ""},
		{"informational first", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("X-Internal", "1")
			w.WriteHeader(http.StatusAccepted)
		}, http.StatusAccepted, ""},
		{"headers changed after write are not re-applied", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.Header().Set("Server", "late")
			_, _ = w.Write([]byte("x"))
		}, http.StatusOK, "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(mw(tc.handler))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || string(body) != tc.body {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Server"); got != "agentgateway" {
				t.Errorf("Server = %q", got)
			}
			if got := resp.Header.Values("X-Added"); got[len(got)-1] != "a" {
				t.Errorf("X-Added = %q", got)
			}
			if got := resp.Header.Get("X-Internal"); got != "" {
				t.Errorf("X-Internal = %q", got)
			}
		})
	}
}

func TestResponseModifierAppliedOnce(t *testing.T) {
	mw, err := New(Spec{Response: Modifier{Add: []Header{hd("x-once", "1")}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.WriteHeader(http.StatusOK) // superfluous, must not re-apply
		_, _ = w.Write([]byte("a"))
		http.NewResponseController(w).Flush()
		_, _ = w.Write([]byte("b"))
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Values("X-Once"); len(got) != 1 {
		t.Fatalf("X-Once = %q", got)
	}
}

func TestResponseModifierStreamingFlush(t *testing.T) {
	mw, err := New(respSpec)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		if _, ok := w.(http.Flusher); !ok {
			t.Error("not a Flusher")
		}
		<-release
		_, _ = io.WriteString(w, "data: 2\n\n")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.Header.Get("Server") != "agentgateway" {
		t.Fatalf("Server = %q", resp.Header.Get("Server"))
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: 1\n" {
		t.Fatalf("first event before handler finished: %q %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: 2\n\n" {
		t.Fatalf("rest = %q", rest)
	}
}

func TestResponseModifierHijackAndDeadline(t *testing.T) {
	mw, err := New(respSpec)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", err)
		}
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("not a Hijacker")
		}
		conn, bw, err := rc.Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nX-Raw: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		_ = bw.Flush()
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Raw") != "1" || resp.Header.Get("Server") != "" {
		t.Fatalf("hijacked response headers: %v", resp.Header)
	}
}

func TestPassThroughWhenEmpty(t *testing.T) {
	mw, err := New(Spec{})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if reflect.ValueOf(mw(h)).Pointer() != reflect.ValueOf(h).Pointer() {
		t.Fatal("empty spec should not wrap")
	}
}
