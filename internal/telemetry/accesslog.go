package telemetry

import (
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// AccessLog writes one line per request, message "request" at level info,
// in the same text or JSON shape as the process logger (slog's
// TextHandler / JSONHandler), with agentgateway's keys:
//
//	time=… level=INFO msg=request gateway=bind/3000 listener=l0 route=r0 endpoint=127.0.0.1:8080 http.method=GET http.path=/x http.status=200 duration=3ms a2a.method=…
//
// Empty values are left out. Lines are formatted into pooled buffers
// without fmt and written with one Write call each.
type AccessLog struct {
	mu    sync.Mutex // serialises writes to w unless w is a *BufferedWriter (safe for concurrent use)
	lock  bool
	w     io.Writer
	json  bool
	level slog.Leveler
	now   func() time.Time
}

// NewAccessLog returns an access log writing to w in format (text, the
// default, or json). Lines are written only while level is at or below
// info; pass the LevelVar from NewLogger, or nil to always log.
func NewAccessLog(w io.Writer, format string, level slog.Leveler) (*AccessLog, error) {
	a := &AccessLog{w: w, level: level, now: time.Now}
	_, concurrent := w.(*BufferedWriter)
	a.lock = !concurrent
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", FormatText:
	case FormatJSON:
		a.json = true
	default:
		return nil, errors.New("unknown log format " + format + ": want text or json")
	}
	return a, nil
}

// Enabled reports whether Log would write a line.
func (a *AccessLog) Enabled() bool {
	return a != nil && (a.level == nil || a.level.Level() <= slog.LevelInfo)
}

const maxPooledBuf = 16 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Log writes the line for one finished request. method and path are the
// request's; status comes from info.Status and extra fields from
// info.Fields.
func (a *AccessLog) Log(info *pipeline.Info, method, path string, d time.Duration) {
	if !a.Enabled() {
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if a.json {
		b = a.appendJSON(b, info, method, path, d)
	} else {
		b = a.appendText(b, info, method, path, d)
	}
	if a.lock {
		a.mu.Lock()
		_, _ = a.w.Write(b)
		a.mu.Unlock()
	} else {
		_, _ = a.w.Write(b)
	}
	if cap(b) <= maxPooledBuf {
		*bp = b
		bufPool.Put(bp)
	}
}

// appendDuration writes d as agentgateway does: whole milliseconds, "3ms".
func appendDuration(b []byte, d time.Duration) []byte {
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	return append(b, 'm', 's')
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// timeCache is the formatted second of the latest line: every line in the
// same second (all of them, under load) copies it and appends only the
// milliseconds, instead of formatting the whole time.
type timeCache struct {
	sec  int64
	loc  *time.Location
	head string // "2006-01-02T15:04:05"
	zone string // "Z" or "+01:00"
}

var lastSecond atomic.Pointer[timeCache]

// appendTime appends t in timeLayout.
func appendTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	c := lastSecond.Load()
	if c == nil || c.sec != sec || c.loc != t.Location() {
		f := t.Format("2006-01-02T15:04:05Z07:00")
		if len(f) < 20 || f[19] != 'Z' && f[19] != '+' && f[19] != '-' {
			return t.AppendFormat(b, timeLayout) // a year outside 0–9999
		}
		c = &timeCache{sec: sec, loc: t.Location(), head: f[:19], zone: f[19:]}
		lastSecond.Store(c)
	}
	ms := uint(t.Nanosecond()) / 1e6 // 0–999
	b = append(b, c.head...)
	b = append(b, '.', "0123456789"[ms/100], "0123456789"[ms/10%10], "0123456789"[ms%10])
	return append(b, c.zone...)
}

func (a *AccessLog) appendText(b []byte, info *pipeline.Info, method, path string, d time.Duration) []byte {
	b = append(b, "time="...)
	b = appendTime(b, a.now())
	b = append(b, " level=INFO msg=request"...)
	b = appendTextKV(b, "gateway", info.Bind)
	b = appendTextKV(b, "listener", info.Listener)
	b = appendTextKV(b, "route", info.Route)
	b = appendTextKV(b, "endpoint", info.Endpoint)
	b = appendTextKV(b, "http.method", method)
	b = appendTextKV(b, "http.path", path)
	if info.Status != 0 {
		b = append(b, " http.status="...)
		b = strconv.AppendInt(b, int64(info.Status), 10)
	}
	if info.Retries > 0 {
		b = append(b, " retries="...)
		b = strconv.AppendInt(b, int64(info.Retries), 10)
	}
	b = appendTextKV(b, "error", info.Err)
	b = append(b, " duration="...)
	b = appendDuration(b, d)
	for _, f := range info.Fields {
		b = appendTextKV(b, f.Key, f.Value)
	}
	return append(b, '\n')
}

// appendTextKV appends " key=value", quoting as slog's TextHandler does;
// it appends nothing for an empty value.
func appendTextKV(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ' ')
	b = appendTextString(b, k)
	b = append(b, '=')
	return appendTextString(b, v)
}

func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting reports whether s must be quoted in text output: empty, or
// holding a space, '=', '"', a control character or any non-ASCII byte
// (so a client cannot forge fields or lines through a path or header).
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '=' || c == '"' || c >= utf8.RuneSelf || c == 0x7f {
			return true
		}
	}
	return false
}

func (a *AccessLog) appendJSON(b []byte, info *pipeline.Info, method, path string, d time.Duration) []byte {
	b = append(b, `{"time":"`...)
	b = appendTime(b, a.now())
	b = append(b, `","level":"INFO","msg":"request"`...)
	b = appendJSONKV(b, "gateway", info.Bind)
	b = appendJSONKV(b, "listener", info.Listener)
	b = appendJSONKV(b, "route", info.Route)
	b = appendJSONKV(b, "endpoint", info.Endpoint)
	b = appendJSONKV(b, "http.method", method)
	b = appendJSONKV(b, "http.path", path)
	if info.Status != 0 {
		b = append(b, `,"http.status":`...)
		b = strconv.AppendInt(b, int64(info.Status), 10)
	}
	if info.Retries > 0 {
		b = append(b, `,"retries":`...)
		b = strconv.AppendInt(b, int64(info.Retries), 10)
	}
	b = appendJSONKV(b, "error", info.Err)
	b = append(b, `,"duration":"`...)
	b = appendDuration(b, d)
	b = append(b, '"')
	for _, f := range info.Fields {
		b = appendJSONKV(b, f.Key, f.Value)
	}
	return append(b, '}', '\n')
}

// appendJSONKV appends `,"key":"value"`; nothing for an empty value.
func appendJSONKV(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = appendJSONString(b, k)
	b = append(b, ':')
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping quotes,
// backslashes and control characters and replacing invalid UTF-8 with
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
