package backend

import (
	"bytes"
	"net/http"

	"github.com/agentgw/agentgateway/internal/httphead"
)

// leanResponse is a response the fast path read, with its body record:
// one allocation for both.
type leanResponse struct {
	res  http.Response
	body leanBody
}

// readFast reads a plain response head (httphead.Response: HTTP/1.1, a
// final status, one Content-Length) to a request other than HEAD. For
// anything else it returns nil with nothing consumed, and
// http.ReadResponse reads the same bytes.
func (c *leanConn) readFast(req *http.Request) *leanResponse {
	if req.Method == http.MethodHead {
		return nil
	}
	n := c.headLen()
	if n == 0 {
		return nil
	}
	raw, _ := c.br.Peek(n)
	var res http.Response
	if !httphead.Response(raw, &res) {
		return nil
	}
	_, _ = c.br.Discard(n)
	lr := &leanResponse{res: res}
	lr.res.Request = req
	if lr.res.ContentLength == 0 {
		lr.res.Body = http.NoBody
	} else {
		lr.body.remain = lr.res.ContentLength
		lr.res.Body = &lr.body
	}
	return lr
}

// headLen waits until the reader holds a whole head and returns its
// length. It returns 0, for net/http to read the head (or meet the same
// error), when the head is larger than the buffer, the read fails, or a
// line is not one httphead.Response accepts: net/http fails at that line
// without waiting for more (an upstream that is not an HTTP server, a
// banner on connect).
func (c *leanConn) headLen() int {
	start := 0 // of the first line not checked yet
	for {
		n := c.br.Buffered()
		buf, _ := c.br.Peek(n)
		for {
			i := bytes.IndexByte(buf[start:], '\n')
			if i < 0 {
				break
			}
			end := start + i
			if end == 0 || buf[end-1] != '\r' {
				return 0 // bare LF
			}
			if end-1 == start {
				return end + 1 // the empty line
			}
			if !httphead.ResponseLine(buf[start:end-1], start == 0) {
				return 0
			}
			start = end + 1
		}
		if n == c.br.Size() {
			return 0
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			return 0
		}
	}
}
