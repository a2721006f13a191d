package llm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// MaxSSELine is the longest SSE line accepted from an upstream (H-32): big
// tool-call arguments and base64 images exceed bufio.Scanner's 64 KiB. A
// longer line ends the stream with ErrLineTooLong (an error event for the
// client), never a silent truncation.
const MaxSSELine = 16 << 20

// ErrLineTooLong is returned by SSEReader for a line above its cap.
var ErrLineTooLong = errors.New("sse: line too long")

// SSEEvent is one server-sent event.
type SSEEvent struct {
	Name string // "event:" field ("" = message)
	Data []byte // "data:" lines joined with "\n"
}

// SSEReader parses a text/event-stream incrementally, one event per Next.
type SSEReader struct {
	r    *bufio.Reader
	max  int
	line []byte
	data []byte
	name string
	has  bool // any field seen
	hasD bool // a data line seen
}

// NewSSEReader reads r with lines up to max bytes (0: MaxSSELine).
func NewSSEReader(r io.Reader, max int) *SSEReader {
	if max <= 0 {
		max = MaxSSELine
	}
	br, _ := readers.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(r, 32<<10)
	} else {
		br.Reset(r)
	}
	return &SSEReader{r: br, max: max}
}

var readers sync.Pool // *bufio.Reader of 32 KiB

// Release returns the reader's buffer for reuse. The reader and every
// slice it returned must not be used afterwards.
func (s *SSEReader) Release() {
	if s.r == nil {
		return
	}
	s.r.Reset(nil)
	readers.Put(s.r)
	s.r = nil
}

// readLine returns the next line without its terminator. The slice is
// valid until the next call.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(s.line)+len(chunk) > s.max+2 {
			return nil, ErrLineTooLong
		}
		if err == bufio.ErrBufferFull {
			s.line = append(s.line, chunk...)
			continue
		}
		var line []byte
		if len(s.line) > 0 {
			s.line = append(s.line, chunk...)
			line = s.line
		} else {
			line = chunk
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return trimEOL(line), nil // last line without a newline
			}
			return nil, err
		}
		return trimEOL(line), nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// Next returns the next event. At the end of the input a pending event
// without its blank line is still returned (lenient), then io.EOF.
// The event's Data is valid until the next call.
func (s *SSEReader) Next() (SSEEvent, error) {
	s.data, s.name, s.has, s.hasD = s.data[:0], "", false, false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && s.has {
				return SSEEvent{Name: s.name, Data: s.data}, nil
			}
			if err == io.EOF {
				return SSEEvent{}, io.EOF
			}
			return SSEEvent{}, err
		}
		if len(line) == 0 {
			if s.has {
				return SSEEvent{Name: s.name, Data: s.data}, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // comment / keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if len(s.data)+len(value)+1 > s.max {
				return SSEEvent{}, ErrLineTooLong
			}
			if s.hasD {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			s.has, s.hasD = true, true
		case "event":
			s.name = string(value)
			s.has = true
		}
	}
}

// HasEvent reports whether a whole event (up to its blank line) is
// already buffered, so Next will not block.
func (s *SSEReader) HasEvent() bool {
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.r.Peek(n)
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n"))
}

// AppendSSE appends one event in wire form to dst: an optional "event:"
// line, one "data:" line per line of data, and the blank line.
func AppendSSE(dst []byte, name string, data []byte) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		dst = append(dst, "data: "...)
		if i < 0 {
			dst = append(dst, data...)
			break
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		data = data[i+1:]
	}
	return append(dst, '\n', '\n')
}
