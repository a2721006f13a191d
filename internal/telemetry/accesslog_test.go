package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

func testInfo() *pipeline.Info {
	info := &pipeline.Info{
		Bind: "bind/3000", Listener: "l0", Route: "route0", Backend: "b",
		Endpoint: "localhost:9999", Status: 200,
	}
	info.AddField("a2a.method", "message/send")
	return info
}

func newTestLog(t *testing.T, format string, lvl slog.Leveler) (*AccessLog, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	a, err := NewAccessLog(&buf, format, lvl)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return fixedNow }
	return a, &buf
}

// parseText splits a text line into its key=value pairs, unquoting values.
func parseText(t *testing.T, line string) (keys []string, kv map[string]string) {
	t.Helper()
	kv = map[string]string{}
	rest := strings.TrimSuffix(line, "\n")
	for rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("bad text line %q", line)
		}
		if strings.HasPrefix(v, `"`) {
			// find the closing quote
			end := 1
			for ; end < len(v); end++ {
				if v[end] == '\\' {
					end++
					continue
				}
				if v[end] == '"' {
					break
				}
			}
			q := v[:end+1]
			var s string
			if err := json.Unmarshal([]byte(q), &s); err != nil {
				t.Fatalf("unquote %q: %v", q, err)
			}
			kv[k], rest = s, strings.TrimPrefix(v[end+1:], " ")
		} else {
			val, r, _ := strings.Cut(v, " ")
			kv[k], rest = val, r
		}
		keys = append(keys, k)
	}
	return keys, kv
}

func TestAccessLogText(t *testing.T) {
	a, buf := newTestLog(t, "text", nil)
	a.Log(testInfo(), "POST", "/", 3*time.Millisecond+400*time.Microsecond)
	line := buf.String()
	want := "time=2026-03-04T05:06:07.890Z level=INFO msg=request gateway=bind/3000 listener=l0 route=route0 endpoint=localhost:9999 http.method=POST http.path=/ http.status=200 duration=3ms a2a.method=message/send\n"
	if line != want {
		t.Fatalf("line\n got %q\nwant %q", line, want)
	}
	keys, kv := parseText(t, line)
	wantKeys := []string{"time", "level", "msg", "gateway", "listener", "route", "endpoint", "http.method", "http.path", "http.status", "duration", "a2a.method"}
	if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("keys %v, want %v", keys, wantKeys)
	}
	for k, v := range map[string]string{"gateway": "bind/3000", "route": "route0", "http.status": "200", "duration": "3ms", "a2a.method": "message/send", "msg": "request", "level": "INFO"} {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
}

func TestAccessLogTextQuotingAndOptional(t *testing.T) {
	a, buf := newTestLog(t, "", nil)
	info := &pipeline.Info{Bind: "bind/3000", Status: 502, Retries: 2, Err: "no healthy backend"}
	info.AddField("x", "")
	info.AddField("evil", "a b\nlevel=ERROR")
	a.Log(info, "GET", "/a b?x=\"y\"", 1500*time.Millisecond)
	line := buf.String()
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("line breaks in %q", line)
	}
	_, kv := parseText(t, line)
	for k, v := range map[string]string{
		"http.path": "/a b?x=\"y\"", "http.status": "502", "retries": "2",
		"error": "no healthy backend", "duration": "1500ms", "evil": "a b\nlevel=ERROR",
	} {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	for _, absent := range []string{"listener", "route", "endpoint", "x"} {
		if _, ok := kv[absent]; ok {
			t.Errorf("empty %s logged", absent)
		}
	}
	if kv["level"] != "INFO" {
		t.Errorf("level forged: %q", kv["level"])
	}
}

func TestAccessLogJSON(t *testing.T) {
	a, buf := newTestLog(t, "json", nil)
	info := testInfo()
	info.AddField("path\"key", "\x01\xff\u2028é")
	a.Log(info, "GET", "/x", 42*time.Millisecond)
	line := buf.String()
	if !strings.HasSuffix(line, "}\n") || strings.Count(line, "\n") != 1 {
		t.Fatalf("not one JSON line: %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	want := map[string]any{
		"time": "2026-03-04T05:06:07.890Z", "level": "INFO", "msg": "request",
		"gateway": "bind/3000", "listener": "l0", "route": "route0", "endpoint": "localhost:9999",
		"http.method": "GET", "http.path": "/x", "http.status": float64(200), "duration": "42ms",
		"a2a.method": "message/send", "path\"key": "\x01\ufffd\u2028é",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("keys %v", m)
	}
	// Key order follows the text shape.
	if !strings.HasPrefix(line, `{"time":"2026-03-04T05:06:07.890Z","level":"INFO","msg":"request","gateway":"bind/3000","listener":"l0"`) {
		t.Errorf("order: %s", line)
	}
}

func TestAccessLogLevel(t *testing.T) {
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	a, buf := newTestLog(t, "text", lv)
	a.Log(testInfo(), "GET", "/", 0)
	if buf.Len() != 0 {
		t.Fatalf("logged at warn: %q", buf.String())
	}
	lv.Set(slog.LevelDebug)
	a.Log(testInfo(), "GET", "/", 0)
	if buf.Len() == 0 {
		t.Fatal("not logged at debug")
	}
	var nilLog *AccessLog
	if nilLog.Enabled() {
		t.Error("nil log enabled")
	}
}

func TestAccessLogBadFormat(t *testing.T) {
	if _, err := NewAccessLog(io.Discard, "xml", nil); err == nil {
		t.Error("want error")
	}
}

func TestAccessLogAllocs(t *testing.T) {
	for _, f := range []string{"text", "json"} {
		a, _ := NewAccessLog(io.Discard, f, nil)
		info := testInfo()
		a.Log(info, "GET", "/x", time.Millisecond)
		if n := testing.AllocsPerRun(1000, func() { a.Log(info, "GET", "/x", time.Millisecond) }); n > 0 {
			t.Errorf("%s: %v allocs per line", f, n)
		}
	}
}

func BenchmarkAccessLog(b *testing.B) {
	for _, f := range []string{"text", "json"} {
		b.Run(f, func(b *testing.B) {
			a, _ := NewAccessLog(io.Discard, f, nil)
			info := testInfo()
			b.ReportAllocs()
			for b.Loop() {
				a.Log(info, "GET", "/v1/chat/completions", 3*time.Millisecond)
			}
		})
	}
}

// BenchmarkSlogAccessLine is the same line through slog, for comparison.
func BenchmarkSlogAccessLine(b *testing.B) {
	for _, f := range []string{"text", "json"} {
		b.Run(f, func(b *testing.B) {
			l, _, _ := NewLogger(io.Discard, f, "info")
			info := testInfo()
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(context.Background(), slog.LevelInfo, "request",
					slog.String("gateway", info.Bind), slog.String("listener", info.Listener),
					slog.String("route", info.Route), slog.String("endpoint", info.Endpoint),
					slog.String("http.method", "GET"), slog.String("http.path", "/v1/chat/completions"),
					slog.Int("http.status", info.Status), slog.String("duration", "3ms"),
					slog.String(info.Fields[0].Key, info.Fields[0].Value))
			}
		})
	}
}

// TestAppendTime: the cached-second formatting writes exactly what
// time.AppendFormat(timeLayout) writes, across zones, second boundaries,
// zone changes between lines and years the cache cannot hold.
func TestAppendTime(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	west := time.FixedZone("west", -7*3600)
	base := time.Date(2026, 11, 21, 13, 59, 59, 999_999_999, time.UTC)
	times := []time.Time{
		base,
		base.Add(time.Nanosecond), // the next second
		base.Add(1500 * time.Microsecond),
		base.In(east),
		base.In(west),
		base, // back to UTC within the same second
		base.Add(-999 * time.Millisecond),
		time.Date(2026, 1, 1, 0, 0, 0, 7_000_000, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 70_000_000, time.UTC),
		time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		times = append(times, time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In([]*time.Location{time.UTC, east, west, time.Local}[r.IntN(4)]))
	}
	for _, tm := range times {
		want := string(tm.AppendFormat(nil, timeLayout))
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %q, want %q", tm, got, want)
		}
		if got := string(appendTime([]byte("x="), tm)); got != "x="+want {
			t.Errorf("appendTime after a prefix = %q", got)
		}
	}
}
