package a2a

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

func TestRewriteCard(t *testing.T) {
	for _, tc := range []struct {
		name, clientPath, backendPath, card string
		want                                map[string]string // JSON pointer-ish key → url
	}{
		{"v1.0 at the root", "/.well-known/agent-card.json", "/.well-known/agent-card.json",
			`{"supportedInterfaces":[{"url":"http://127.0.0.1:9090","protocolBinding":"JSONRPC"},{"url":"http://127.0.0.1:9090/rest","protocolBinding":"HTTP+JSON"}]}`,
			map[string]string{"s0": "http://gw:3000", "s1": "http://gw:3000/rest"}},
		{"v0.3 url and additionalInterfaces", "/.well-known/agent.json", "/.well-known/agent.json",
			`{"url":"http://agent:9999/","additionalInterfaces":[{"url":"http://agent:9999/grpc-web","transport":"GRPC"}],"protocolVersion":"0.3.0"}`,
			map[string]string{"url": "http://gw:3000/", "a0": "http://gw:3000/grpc-web"}},
		{"route prefix rewritten away", "/agents/echo/.well-known/agent-card.json", "/.well-known/agent-card.json",
			`{"url":"http://agent:9999","supportedInterfaces":[{"url":"http://agent:9999/rpc?x=1"}]}`,
			map[string]string{"url": "http://gw:3000/agents/echo", "s0": "http://gw:3000/agents/echo/rpc?x=1"}},
		{"agent under a prefix, same at the gateway", "/weather/.well-known/agent-card.json", "/weather/.well-known/agent-card.json",
			`{"supportedInterfaces":[{"url":"http://agent/weather/rpc"},{"url":"http://agent/weather-v2/rpc"}]}`,
			map[string]string{"s0": "http://gw:3000/weather/rpc", "s1": "http://gw:3000/weather/weather-v2/rpc"}},
		{"non-http interface untouched", "/.well-known/agent-card.json", "/.well-known/agent-card.json",
			`{"supportedInterfaces":[{"url":"agent:50051","protocolBinding":"GRPC"},{"url":"http://a/"}]}`,
			map[string]string{"s0": "agent:50051", "s1": "http://gw:3000/"}},
	} {
		rw := NewRewriter("http", "gw:3000", tc.clientPath, tc.backendPath)
		out, err := rw.Rewrite([]byte(tc.card))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var m struct {
			URL        string              `json:"url"`
			Supported  []map[string]string `json:"supportedInterfaces"`
			Additional []map[string]string `json:"additionalInterfaces"`
		}
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		if m.URL != "" {
			got["url"] = m.URL
		}
		for i, s := range m.Supported {
			got["s"+string(rune('0'+i))] = s["url"]
		}
		for i, s := range m.Additional {
			got["a"+string(rune('0'+i))] = s["url"]
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q (card %s)", tc.name, k, got[k], v, out)
			}
		}
	}
	if _, err := NewRewriter("http", "gw", "/", "/").Rewrite([]byte(`{"name":"x"}`)); err == nil {
		t.Error("card without urls accepted")
	}
	if _, err := NewRewriter("http", "gw", "/", "/").Rewrite([]byte(`[1]`)); err == nil {
		t.Error("non-object card accepted")
	}
}

func TestParseMethod(t *testing.T) {
	big := strings.Repeat("x", 5000)
	for body, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`:                                           "message/send",
		`{"jsonrpc":"2.0","id":"a","params":{"message":{"text":"` + big + `"}},"method":"SendStreamingMessage"}`: "SendStreamingMessage",
		`{"id":1}`:         "",
		`[{"method":"x"}]`: "",
		`{"method":42}`:    "",
		`not json`:         "",
		`{"params":{"method":"inner"},"method":"tasks/get"}`: "tasks/get",
	} {
		got, rest := ParseMethod(strings.NewReader(body), MaxPeek)
		if got != want {
			t.Errorf("%.40s: %q, want %q", body, got, want)
		}
		if b, _ := io.ReadAll(rest); string(b) != body {
			t.Errorf("%.40s: body not preserved", body)
		}
	}
	long := `{"params":"` + big + `","method":"GetTask"}`
	got, rest := ParseMethod(strings.NewReader(long), 1000)
	if got != "" {
		t.Errorf("method beyond the peek limit: %q", got)
	}
	if b, _ := io.ReadAll(rest); string(b) != long {
		t.Errorf("long body not preserved: %d", len(b))
	}
}

func TestRESTMethod(t *testing.T) {
	for in, want := range map[string]string{
		"POST /message:send":                          "SendMessage",
		"POST /v1/message:stream":                     "SendStreamingMessage",
		"GET /tasks/abc":                              "GetTask",
		"GET /v1/tasks":                               "ListTasks",
		"POST /tasks/abc:cancel":                      "CancelTask",
		"GET /tasks/abc:subscribe":                    "SubscribeToTask",
		"POST /tasks/abc/pushNotificationConfigs":     "CreateTaskPushNotificationConfig",
		"GET /tasks/abc/pushNotificationConfigs":      "ListTaskPushNotificationConfigs",
		"GET /tasks/abc/pushNotificationConfigs/c1":   "GetTaskPushNotificationConfig",
		"DELETE /tasks/abc/pushNotificationConfigs/c": "DeleteTaskPushNotificationConfig",
		"GET /extendedAgentCard":                      "GetExtendedAgentCard",
		"POST /":                                      "",
		"GET /health":                                 "",
	} {
		m, p, _ := strings.Cut(in, " ")
		if got := RESTMethod(m, p); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	var methods []string
	pol := New(Spec{OnMethod: func(m string) { methods = append(methods, m) }})
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case IsCardPath(r.URL.Path):
			if r.Header.Get("Accept-Encoding") != "identity" {
				t.Errorf("card fetched with Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"name":"Echo","supportedInterfaces":[{"url":"http://`+r.Host+`","protocolBinding":"JSONRPC"}]}`)
		default:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			f := w.(http.Flusher)
			_, _ = io.WriteString(w, "data: "+string(b)+"\n\n")
			f.Flush()
			time.Sleep(300 * time.Millisecond)
			_, _ = io.WriteString(w, "data: done\n\n")
		}
	}))
	defer agent.Close()
	proxy := func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, agent.URL+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			_, _ = w.Write(buf[:n])
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			if err != nil {
				return
			}
		}
	}
	var info *pipeline.Info
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info = &pipeline.Info{}
		r = r.WithContext(pipeline.WithInfo(r.Context(), info))
		pipeline.Chain(http.HandlerFunc(proxy), pol.Outer(), pol.Inner()).ServeHTTP(w, r)
	}))
	defer gw.Close()

	resp, err := http.Get(gw.URL + "/.well-known/agent-card.json")
	if err != nil {
		t.Fatal(err)
	}
	card, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(card), `"url":"`+gw.URL+`"`) || strings.Contains(string(card), agent.URL) {
		t.Fatalf("card not rewritten: %s", card)
	}

	body := `{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage","params":{}}`
	start := time.Now()
	resp, err = http.Post(gw.URL+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("first SSE event after %v: the stream was buffered", d)
	}
	if line != "data: "+body+"\n" {
		t.Errorf("first event %q", line)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(info.Fields) != 1 || info.Fields[0] != (pipeline.Field{Key: "a2a.method", Value: "SendStreamingMessage"}) {
		t.Errorf("access-log fields %v", info.Fields)
	}
	if strings.Join(methods, ",") != "agent_card,SendStreamingMessage" {
		t.Errorf("metrics methods %v", methods)
	}
}

func TestOversizedCard(t *testing.T) {
	pol := New(Spec{})
	h := pol.Outer()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"url":"http://a/","x":"`))
		_, err := w.Write(make([]byte, MaxCardBytes))
		if err == nil {
			t.Error("write past the limit succeeded")
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://gw/.well-known/agent-card.json", nil))
	if rec.Code != 502 {
		t.Fatalf("oversized card: %d", rec.Code)
	}
}
