package telemetry

import (
	"errors"
	"io"
	"log/slog"
	"strings"
)

// LevelTrace is agentgateway's "trace" level, below debug.
const LevelTrace = slog.LevelDebug - 4

// LevelOff disables logging entirely.
const LevelOff = slog.Level(1 << 20)

// Log formats, as `config.logging.format`.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// ParseLevel parses a level name: trace, debug, info, warn (or warning),
// error or off, case-insensitively. It also accepts agentgateway's
// per-module form "info,module=debug": the first bare level wins (or, if
// every part names a module, the first part's level), since this gateway
// has one level for the whole process. An empty string is info.
func ParseLevel(s string) (slog.Level, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return slog.LevelInfo, nil
	}
	parts := strings.Split(s, ",")
	chosen := ""
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && !strings.Contains(p, "=") {
			chosen = p
			break
		}
	}
	if chosen == "" {
		for _, p := range parts {
			if _, v, ok := strings.Cut(p, "="); ok && strings.TrimSpace(v) != "" {
				chosen = strings.TrimSpace(v)
				break
			}
		}
	}
	switch strings.ToLower(chosen) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	case "off":
		return LevelOff, nil
	}
	return 0, errors.New("unknown log level " + strings.TrimSpace(s) + ": want trace, debug, info, warn, error or off")
}

// LevelName returns the lower-case name ParseLevel accepts for l.
func LevelName(l slog.Level) string {
	switch {
	case l >= LevelOff:
		return "off"
	case l <= LevelTrace:
		return "trace"
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	}
	return "error"
}

// NewLogger builds the process logger writing to w in format (text, the
// default, or json) at level (see ParseLevel). The returned LevelVar
// changes the level at run time (the admin API's /logging endpoint).
func NewLogger(w io.Writer, format, level string) (*slog.Logger, *slog.LevelVar, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, nil, err
	}
	lv := new(slog.LevelVar)
	lv.Set(lvl)
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: replaceLevel}
	var h slog.Handler
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", FormatText:
		h = slog.NewTextHandler(w, opts)
	case FormatJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, nil, errors.New("unknown log format " + format + ": want text or json")
	}
	return slog.New(h), lv, nil
}

// replaceLevel names the trace level TRACE instead of slog's DEBUG-4.
func replaceLevel(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if l, ok := a.Value.Any().(slog.Level); ok && l <= LevelTrace {
			a.Value = slog.StringValue("TRACE")
		}
	}
	return a
}
