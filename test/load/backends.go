package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The harness's upstreams, each run as its own process (this binary with
// -serve-backend or -serve-llm) so that its CPU is accounted apart from
// the harness, the load tool and the proxy under test.

var body1K = []byte(strings.Repeat("0123456789abcdef", 64))

// serveBackend is the -serve-backend mode: 1 KiB for GET, the same body
// after draining the request body for other methods.
func serveBackend(addr string) {
	serve(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 16<<20))
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{"1024"}
		_, _ = w.Write(body1K)
	}))
}

// serve runs h on addr, prints "LISTENING <addr>" and stops on SIGTERM
// (and with the harness, through Pdeathsig).
func serve(addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, Handler: h}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// ---- OpenAI-compatible mock (-serve-llm) ----

// llmModel is the model name the LLM scenarios ask for and the mock
// answers with.
const llmModel = "bench-model"

// llmRequest is the body of the LLM scenarios: an OpenAI chat completion
// request of about 1 KiB (stream false; the streaming scenario sends
// streamRequest).
var (
	llmRequest    = chatRequest(false)
	streamRequest = chatRequest(true)
)

func chatRequest(stream bool) string {
	body := map[string]any{
		"model": llmModel,
		"messages": []any{
			map[string]any{"role": "system", "content": "You are a concise assistant."},
			map[string]any{"role": "user", "content": strings.Repeat("Summarise the load test results. ", 28)},
		},
		"max_tokens": 256,
	}
	if stream {
		body["stream"] = true
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// llmCompletion is the mock's non-streaming answer: a chat.completion
// object of about 1 KiB.
var llmCompletion = mustJSON(map[string]any{
	"id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": llmModel,
	"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
		"message": map[string]any{"role": "assistant", "content": strings.Repeat("The gateway added little. ", 33)}}},
	"usage": map[string]any{"prompt_tokens": 230, "completion_tokens": 200, "total_tokens": 430},
})

// streamEvents are the SSE events of the mock's streaming answer (about
// 2.1 KiB): a role chunk, streamContentChunks content chunks, a finish
// chunk, a usage chunk and [DONE]. Each is written and flushed on its own.
const streamContentChunks = 8

var streamEvents = func() [][]byte {
	chunk := func(delta map[string]any, finish any) []byte {
		return []byte("data: " + string(mustJSON(map[string]any{
			"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": llmModel,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})) + "\n\n")
	}
	ev := [][]byte{chunk(map[string]any{"role": "assistant", "content": ""}, nil)}
	for range streamContentChunks {
		ev = append(ev, chunk(map[string]any{"content": "The gateway added little. "}, nil))
	}
	ev = append(ev, chunk(map[string]any{}, "stop"))
	ev = append(ev, []byte("data: "+string(mustJSON(map[string]any{
		"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": llmModel,
		"choices": []any{}, "usage": map[string]any{"prompt_tokens": 230, "completion_tokens": 8, "total_tokens": 238},
	}))+"\n\n"))
	return append(ev, []byte("data: [DONE]\n\n"))
}()

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// serveLLM is the -serve-llm mode: POST …/chat/completions answers
// llmCompletion, or streamEvents when the request has "stream":true
// (gap between content chunks: -stream-gap); GET …/models lists the
// model. Any API key is accepted.
func serveLLM(addr string, gap time.Duration) {
	models := mustJSON(map[string]any{"object": "list", "data": []any{map[string]any{"id": llmModel, "object": "model", "created": 0, "owned_by": "bench"}}})
	serve(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			if !bytes.Contains(body, []byte(`"stream":true`)) && !bytes.Contains(body, []byte(`"stream": true`)) {
				h["Content-Type"] = []string{"application/json"}
				h["Content-Length"] = []string{fmt.Sprint(len(llmCompletion))}
				_, _ = w.Write(llmCompletion)
				return
			}
			h["Content-Type"] = []string{"text/event-stream"}
			h["Cache-Control"] = []string{"no-cache"}
			rc := http.NewResponseController(w)
			for i, ev := range streamEvents {
				if gap > 0 && i > 1 && i <= streamContentChunks {
					time.Sleep(gap)
				}
				if _, err := w.Write(ev); err != nil {
					return
				}
				_ = rc.Flush()
			}
		case strings.HasSuffix(r.URL.Path, "/models"):
			h["Content-Type"] = []string{"application/json"}
			_, _ = w.Write(models)
		default:
			http.Error(w, "not found", http.StatusNotFound)
		}
	}))
}
