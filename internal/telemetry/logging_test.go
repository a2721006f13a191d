package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	cases := map[string]slog.Level{
		"":                          slog.LevelInfo,
		"info":                      slog.LevelInfo,
		"TRACE":                     LevelTrace,
		"debug":                     slog.LevelDebug,
		"warn":                      slog.LevelWarn,
		"warning":                   slog.LevelWarn,
		"error":                     slog.LevelError,
		"off":                       LevelOff,
		"info,module=debug":         slog.LevelInfo,
		"a::b=trace, warn":          slog.LevelWarn,
		"agentgateway::proxy=error": slog.LevelError,
		" debug ,x=info":            slog.LevelDebug,
	}
	for in, want := range cases {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"verbose", "x=loud", "5"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q): want error", bad)
		}
	}
	for _, name := range []string{"trace", "debug", "info", "warn", "error", "off"} {
		l, _ := ParseLevel(name)
		if LevelName(l) != name {
			t.Errorf("LevelName(%v) = %q, want %q", l, LevelName(l), name)
		}
	}
}

func TestNewLoggerText(t *testing.T) {
	var buf bytes.Buffer
	log, lv, err := NewLogger(&buf, "text", "info,foo=debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown", "k", "v")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "level=INFO msg=shown k=v") {
		t.Fatalf("output %q", buf.String())
	}
	buf.Reset()
	lv.Set(LevelTrace)
	log.Log(t.Context(), LevelTrace, "deep")
	if !strings.Contains(buf.String(), "level=TRACE msg=deep") {
		t.Fatalf("trace output %q", buf.String())
	}
}

func TestNewLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	log, _, err := NewLogger(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("careful", "n", 3)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if m["level"] != "WARN" || m["msg"] != "careful" || m["n"] != float64(3) {
		t.Errorf("record %v", m)
	}
}

func TestNewLoggerErrors(t *testing.T) {
	if _, _, err := NewLogger(&bytes.Buffer{}, "yaml", "info"); err == nil {
		t.Error("bad format accepted")
	}
	if _, _, err := NewLogger(&bytes.Buffer{}, "text", "loud"); err == nil {
		t.Error("bad level accepted")
	}
}
