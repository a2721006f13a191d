package backend

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/textproto"

	"github.com/agentgw/agentgateway/internal/httphead"
)

// leanResponse is a response the fast path read, with its body record:
// one allocation for both.
type leanResponse struct {
	res  http.Response
	body leanBody
}

// readFast reads a plain response head (httphead.Response: HTTP/1.1, a
// final status, one Content-Length or chunked) to a request other than
// HEAD. For anything else it returns nil with nothing consumed, and
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
	switch {
	case lr.res.ContentLength == 0:
		lr.res.Body = http.NoBody
	case lr.res.ContentLength < 0: // chunked
		lr.body.chunked = httputil.NewChunkedReader(c.br)
		lr.body.res = &lr.res
		lr.res.Body = &lr.body
	default:
		lr.body.remain = lr.res.ContentLength
		lr.res.Body = &lr.body
	}
	return lr
}

// readChunked reads a chunked body, and at its end the trailer section,
// as net/http's body does: trailer fields go to the response's Trailer
// (announced or not), and a broken trailer section is the read's error.
func (b *leanBody) readChunked(p []byte) (int, error) {
	n, err := b.chunked.Read(p)
	if err == io.EOF { //nolint:errorlint // the chunked reader returns io.EOF itself
		if terr := b.readTrailer(); terr != nil {
			return n, terr
		}
	}
	return n, err
}

var errTrailerEOF = errors.New("http: unexpected EOF reading trailer") // net/http's words

// readTrailer is net/http's (*body).readTrailer.
func (b *leanBody) readTrailer() error {
	br := b.c.br
	buf, err := br.Peek(2)
	if len(buf) == 2 && buf[0] == '\r' && buf[1] == '\n' {
		_, _ = br.Discard(2)
		return nil
	}
	if len(buf) < 2 {
		return errTrailerEOF
	}
	if err != nil {
		return err
	}
	// The trailer section must end within the buffer (net/http's bound).
	if !seeUpcomingDoubleCRLF(br) {
		return errors.New("http: suspiciously long trailer after chunked body")
	}
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		if err == io.EOF { //nolint:errorlint // as net/http
			return errTrailerEOF
		}
		return err
	}
	if b.res.Trailer == nil {
		b.res.Trailer = http.Header(hdr)
	} else {
		maps.Copy(b.res.Trailer, http.Header(hdr))
	}
	return nil
}

func seeUpcomingDoubleCRLF(r *bufio.Reader) bool {
	for n := 4; ; n++ {
		buf, err := r.Peek(n)
		if bytes.HasSuffix(buf, headEnd) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// headLen waits until the reader holds a whole head and returns its
// length. It returns 0, for net/http to read the head (or meet the same
// error), when the head is larger than the buffer, the read fails, or a
// line of a head still incomplete is not one httphead.Response accepts:
// net/http fails at that line without waiting for more (an upstream that
// is not an HTTP server, a banner on connect). A head already whole is
// checked once, by httphead.Response.
func (c *leanConn) headLen() int {
	searched, checked := 0, 0 // bytes searched for the end; lines checked
	for {
		n := c.br.Buffered()
		buf, _ := c.br.Peek(n)
		if i := bytes.Index(buf[searched:], headEnd); i >= 0 {
			return searched + i + len(headEnd)
		}
		searched = max(n-len(headEnd)+1, 0)
		for {
			i := bytes.IndexByte(buf[checked:], '\n')
			if i < 0 {
				break
			}
			end := checked + i
			if end == 0 || buf[end-1] != '\r' || !httphead.ResponseLine(buf[checked:end-1], checked == 0) {
				return 0 // a bare LF, or a line net/http refuses
			}
			checked = end + 1
		}
		if n == c.br.Size() {
			return 0
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			return 0
		}
	}
}

var headEnd = []byte("\r\n\r\n")
