package mcp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// streamTarget is a go-sdk MCP server on streamable HTTP that counts the
// standalone-stream GETs it receives; getStatus, when set, answers them
// with that status instead.
type streamTarget struct {
	*httptest.Server
	srv       *mcp.Server
	gets      atomic.Int32
	getStatus int
}

func newStreamTarget(t *testing.T, getStatus int) *streamTarget {
	t.Helper()
	st := &streamTarget{srv: newUpstreamServer("one"), getStatus: getStatus}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return st.srv }, nil)
	st.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			st.gets.Add(1)
			if st.getStatus != 0 {
				http.Error(w, "no stream here", st.getStatus)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(st.Close)
	return st
}

// addTool makes the target announce a tool list change on its sessions'
// standalone streams.
func (st *streamTarget) addTool(name string) {
	mcp.AddTool(st.srv, &mcp.Tool{Name: name}, func(context.Context, *mcp.CallToolRequest, echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
}

// openRaw opens a session with raw requests (no standalone GET).
func openRaw(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(benchInit))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || sid == "" {
		t.Fatalf("initialize: %d %q", resp.StatusCode, sid)
	}
	if code, _ := post(t, url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); code != http.StatusAccepted {
		t.Fatalf("initialized: %d", code)
	}
	return sid
}

// listenRaw opens the client's standalone stream and returns its lines
// and a function that closes it. While a closed stream is still being
// let go by the gateway, the SDK answers a new one 409: it is retried.
func listenRaw(t *testing.T, url, sid string) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var resp *http.Response
	for try := 0; ; try++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		var err error
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusConflict && try < 100 {
			_ = resp.Body.Close()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET: %d", resp.StatusCode)
		}
		break
	}
	lines := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines, cancel
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q on the stream", want)
		}
	}
}

func TestStandaloneStreamOpensWhenClientListens(t *testing.T) {
	st := newStreamTarget(t, 0)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: st.URL}}})
	url := gw.URL + "/mcp"
	sid := openRaw(t, url)
	if code, out := post(t, url, sid, benchList); code != 200 || !strings.Contains(out, "echo") {
		t.Fatalf("tools/list: %d %s", code, out)
	}
	if n := st.gets.Load(); n != 0 {
		t.Fatalf("the target got %d standalone GETs before the client listened", n)
	}
	lines, stop := listenRaw(t, url, sid)
	// The client's GET is answered once the target's is.
	if n := st.gets.Load(); n != 1 {
		t.Fatalf("the target got %d standalone GETs once the client listened, want 1", n)
	}
	st.addTool("late")
	waitLine(t, lines, "notifications/tools/list_changed")
	// The client's next GET (a reconnect) opens nothing more.
	stop()
	listenRaw(t, url, sid)
	if n := st.gets.Load(); n != 1 {
		t.Fatalf("the target got %d standalone GETs after the client's second, want 1", n)
	}
}

func TestStandaloneStreamWithSDKClient(t *testing.T) {
	st := newStreamTarget(t, 0)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: st.URL}}})
	changed := make(chan struct{}, 4)
	// The SDK's client opens its GET before Connect returns.
	cs := connect(t, gw.URL+"/mcp", &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	if n := st.gets.Load(); n != 1 {
		t.Fatalf("the target got %d standalone GETs, want 1", n)
	}
	st.addTool("late")
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("tools/list_changed never reached the client")
	}
	if names := toolNames(t, cs); !strings.Contains(strings.Join(names, ","), "late") {
		t.Fatalf("tools after the change: %v", names)
	}
}

// A target without a standalone stream (405, another 4xx) leaves the
// session working, as the SDK does; a failing one (5xx) does not hold the
// client's GET.
func TestStandaloneStreamRefusedByTarget(t *testing.T) {
	for _, status := range []int{http.StatusMethodNotAllowed, http.StatusNotFound, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			st := newStreamTarget(t, status)
			_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: st.URL}}})
			url := gw.URL + "/mcp"
			sid := openRaw(t, url)
			listenRaw(t, url, sid)
			if n := st.gets.Load(); n != 1 {
				t.Fatalf("the target got %d standalone GETs, want 1", n)
			}
			if status >= 500 {
				return
			}
			call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`
			if code, out := post(t, url, sid, call); code != 200 || !strings.Contains(out, "one:x") {
				t.Fatalf("call: %d %s", code, out)
			}
		})
	}
}

// Sessions whose client cannot listen (stateless mode) never open one.
func TestStandaloneStreamNotOpenedForStatelessSessions(t *testing.T) {
	st := newStreamTarget(t, 0)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: st.URL}}})
	url := gw.URL + "/mcp"
	for _, body := range []string{benchInit, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"info"}}`} {
		if code, out := post(t, url, "", body); code != 200 {
			t.Fatalf("%s: %d %s", body, code, out)
		}
	}
	if n := st.gets.Load(); n != 0 {
		t.Fatalf("the target got %d standalone GETs from stateless requests", n)
	}
}

func TestLateBody(t *testing.T) {
	answer := func(body string) *http.Response {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body))}
	}
	newBody := func(ctx context.Context, resp *http.Response, err error) *lateBody {
		b := &lateBody{ready: make(chan struct{}), closed: make(chan struct{}), done: ctx.Done()}
		b.send = func() { b.arrive(resp, err) }
		return b
	}
	t.Run("stream", func(t *testing.T) {
		b := newBody(context.Background(), answer("data: x\n\n"), nil)
		b.start()
		b.start() // once
		if got, err := io.ReadAll(b); err != nil || string(got) != "data: x\n\n" {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("error", func(t *testing.T) {
		boom := errors.New("boom")
		b := newBody(context.Background(), nil, boom)
		b.start()
		if _, err := b.Read(make([]byte, 8)); !errors.Is(err, boom) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("held open until closed", func(t *testing.T) {
		b := newBody(context.Background(), nil, nil)
		b.start()
		go func() {
			<-b.ready
			_ = b.Close()
		}()
		if _, err := b.Read(make([]byte, 8)); !errors.Is(err, errStreamClosed) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("never sent, session ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b := newBody(ctx, nil, nil)
		cancel()
		if _, err := b.Read(make([]byte, 8)); !errors.Is(err, errStreamClosed) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("answer after close is closed", func(t *testing.T) {
		closed := make(chan struct{})
		resp := &http.Response{StatusCode: 200, Body: closeNotifier{Reader: strings.NewReader("x"), closed: closed}}
		b := newBody(context.Background(), resp, nil)
		_ = b.Close()
		b.start()
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("a body arriving after Close was left open")
		}
	})
}

type closeNotifier struct {
	io.Reader
	closed chan struct{}
}

func (c closeNotifier) Close() error {
	close(c.closed)
	return nil
}
