package backend

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

type readStep struct {
	n   int
	err error
}

func readSteps(r io.Reader, sizes []int) []readStep {
	var out []readStep
	for _, s := range sizes {
		n, err := r.Read(make([]byte, s))
		out = append(out, readStep{n, err})
		if err != nil {
			break // later reads: the lean body's state (errClosedBody or io.EOF) decides
		}
	}
	return out
}

// TestLeanReadDirectAsNetHTTP: readDirect's reads give what net/http's body gives
// for the same bytes and the same sequence of buffer sizes.
func TestLeanReadDirectAsNetHTTP(t *testing.T) {
	raws := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
	}
	sizes := [][]int{{100, 100, 100}, {0, 5, 0, 1}, {1, 1, 1, 1, 1, 1, 0}, {3, 0, 3, 3, 3, 3}, {2, 2, 100, 100}}
	for _, raw := range raws {
		for _, sz := range sizes {
			for _, step := range []int{1, 3, 1000} {
				c, lr := fastAnswer(t, raw, step)
				got := readSteps(readerFunc(lr.body.readDirect), sz)
				c.close()
				std, _ := http.ReadResponse(bufio.NewReader(&stepReader{s: raw, step: step}), &http.Request{Method: "GET"})
				want := readSteps(std.Body, sz)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%q sizes %v step %d:\n got %v\nwant %v", raw, sz, step, got, want)
				}
			}
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type stepReader struct {
	s    string
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s[:min(r.step, len(r.s))])
	r.s = r.s[n:]
	return n, nil
}

var _ = strings.Repeat
