package backend

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// readFastFrom feeds raw to a fresh lean connection in pieces of step bytes
// and returns what readFast read, and the bytes left for net/http.
func readFastFrom(t *testing.T, raw string, step int) (*leanResponse, string) {
	t.Helper()
	c := pipeLeanConn(raw, step)
	defer c.close()
	lr := c.readFast(mustReq(t, "GET", "http://x/", nil))
	if lr != nil && lr.res.ContentLength > 0 {
		lr.body.c = c
		lr.body.ctx = t.Context()
	}
	rest, _ := io.ReadAll(c.br)
	return lr, string(rest)
}

func TestLeanHeadSplitAndBufferEdge(t *testing.T) {
	for _, size := range []int{leanBufSize - 1, leanBufSize, leanBufSize + 1} {
		pre := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: "
		pad := size - len(pre) - len("\r\n\r\n")
		head := pre + strings.Repeat("p", pad) + "\r\n\r\n"
		for _, step := range []int{1, 2, 3, 7, 4096} {
			lr, rest := readFastFrom(t, head+"ok", step)
			std, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head+"ok")), &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			if size > leanBufSize {
				if lr != nil || rest != head+"ok" {
					t.Fatalf("size %d step %d: fast path took a head larger than the buffer", size, step)
				}
				continue
			}
			if lr == nil {
				t.Fatalf("size %d step %d: not fast", size, step)
			}
			if rest != "ok" || !reflect.DeepEqual(lr.res.Header, std.Header) || lr.res.Status != std.Status {
				t.Fatalf("size %d step %d: rest %q, header differs", size, step, rest)
			}
		}
	}
	// CR and LF in different reads, and a body arriving with the head.
	for step := 1; step < 40; step++ {
		raw := "HTTP/1.1 201 Created\r\ncontent-length: 5\r\nA: b\r\n\r\nhelloNEXT"
		lr, rest := readFastFrom(t, raw, step)
		if lr == nil || lr.res.StatusCode != 201 || lr.res.ContentLength != 5 || rest != "helloNEXT" ||
			!bytes.Equal([]byte(lr.res.Header.Get("A")), []byte("b")) {
			t.Fatalf("step %d: %+v rest %q", step, lr, rest)
		}
	}
}
