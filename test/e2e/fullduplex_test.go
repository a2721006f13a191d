package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRequestBodyStreamsWhileResponseStreams: an upstream that starts its
// (SSE) answer before it has read the whole request body must still get the
// whole body. net/http's server discards an unread request body when the
// response starts unless the handler asks for full duplex; a proxy must.
func TestRequestBodyStreamsWhileResponseStreams(t *testing.T) {
	up := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: started\n\n")
		w.(http.Flusher).Flush()
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "data: got %d bytes err=%v\n\n", n, err)
	})
	port := freePort(t)
	StartGateway(t, simpleRoute(port, hostOf(up)))

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/stream", port), pr)
	req.ContentLength = 2 * 4096
	done := make(chan string, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		rd := bufio.NewReader(resp.Body)
		first, _ := rd.ReadString('\n')
		if first != "data: started\n" {
			done <- "first event: " + first
			return
		}
		// The answer has started: only now send the second half of the body.
		_, _ = pw.Write([]byte(strings.Repeat("b", 4096)))
		_ = pw.Close()
		rest, _ := io.ReadAll(rd)
		done <- string(rest)
	}()
	_, _ = pw.Write([]byte(strings.Repeat("a", 4096)))
	var got string
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		_ = pw.CloseWithError(io.ErrClosedPipe)
		t.Fatal("the answer never started: the gateway waited for the whole request body first")
	}
	if !strings.Contains(got, "data: got 8192 bytes err=<nil>") {
		t.Fatalf("upstream did not get the whole body while streaming its answer: %q", got)
	}
}
