package backend

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestLeanChunkedReadsAsNetHTTP: the fast path's chunked body (with its trailer)
// gives, read by read, what net/http's body gives for the same bytes.
func TestLeanChunkedReadsAsNetHTTP(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	bodies := []string{
		"2\r\nok\r\n0\r\n\r\n",
		"2\r\nok\r\n0\r\n\r\nEXTRA",
		"2\nok\n0\n\n",
		"2\r\nok\r\n0\r\nX-T: 1\r\nx-t: 2\r\n\r\n",
		"2\r\nok\r\n0\r\nX-T: 1\r\n\n",
		"2\r\nok\r\n0\r\nX T: 1\r\n\r\n",
		"2\r\nok\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
		"2\r\nok\r\n0\r\nX-T: " + strings.Repeat("t", 5000) + "\r\n\r\n",
		"2;a=b;c\r\nok\r\n1\r\nx\r\n0;z\r\n\r\n",
		"2\r\nokX\r\n0\r\n\r\n",
		"fffffffffffffffffff\r\nok",
		"-1\r\nok\r\n0\r\n\r\n",
		"2\r\nok\r\n0\r\n",
		"2\r\nok\r\n0\r\n\r",
		"2\r\no",
		"",
		"0\r\n\r\n",
		"00000000000000000000000002\r\nok\r\n0\r\n\r\n",
	}
	sizes := [][]int{{100, 100, 100, 100}, {1, 1, 1, 1, 1, 1}, {0, 2, 0, 2, 0}}
	for _, body := range bodies {
		raw := head + body
		for _, sz := range sizes {
			for _, step := range []int{1, 5, 10000} {
				c, lr := fastAnswer(t, raw, step)
				var got []string
				for _, s := range sz {
					n, err := lr.body.readChunked(make([]byte, s))
					got = append(got, fmt.Sprint(n, err))
					if err != nil {
						break
					}
				}
				gotTr := fmt.Sprint(lr.res.Trailer)
				rest, _ := io.ReadAll(c.br)
				c.close()
				br := bufio.NewReaderSize(&stepReader{s: raw, step: step}, 4096)
				std, err := http.ReadResponse(br, &http.Request{Method: "GET"})
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, s := range sz {
					n, err := std.Body.Read(make([]byte, s))
					want = append(want, fmt.Sprint(n, err))
					if err != nil {
						break
					}
				}
				wantTr := fmt.Sprint(std.Trailer)
				wrest, _ := io.ReadAll(br)
				if fmt.Sprint(got) != fmt.Sprint(want) || gotTr != wantTr || (want[len(want)-1] == "0 EOF" && string(rest) != string(wrest)) {
					t.Errorf("%q sizes %v step %d:\n got %v %s rest %q\nwant %v %s rest %q", body, sz, step, got, gotTr, rest, want, wantTr, wrest)
				}
			}
		}
	}
}
