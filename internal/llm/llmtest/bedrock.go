package llmtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Bedrock starts a fake Amazon Bedrock runtime. It follows
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
// (POST /model/{modelId}/converse: messages, system, inferenceConfig,
// toolConfig; output.message, stopReason, usage, metrics),
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
// (POST /model/{modelId}/converse-stream answered as an AWS event stream,
// https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html: messages with
// :message-type event and :event-type messageStart, contentBlockStart,
// contentBlockDelta, contentBlockStop, messageStop, metadata, or
// :message-type exception), the errors of
// https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html
// ({"message"} with X-Amzn-ErrorType), and verifies the SigV4 signature
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
// by re-signing the request with aws-sdk-go-v2's signer. With Key set, a
// Bedrock API key (Authorization: Bearer) is accepted instead.
func Bedrock(t testing.TB, creds aws.Credentials, region string) *Fake {
	f := newFake(t, func(f *Fake) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(raw))
			body, k, done := f.record(w, r)
			if done {
				return
			}
			if f.Key == "" || r.Header.Get("Authorization") != "Bearer "+f.Key {
				if err := VerifySigV4(r, raw, creds, region, "bedrock"); err != nil {
					bedrockErr(w, 403, "InvalidSignatureException", err.Error())
					return
				}
			}
			rest, ok := strings.CutPrefix(r.URL.Path, "/model/")
			i := strings.LastIndex(rest, "/")
			if !ok || i < 0 || r.Method != http.MethodPost {
				bedrockErr(w, 404, "UnknownOperationException", "unknown operation "+r.URL.Path)
				return
			}
			model, op := rest[:i], rest[i+1:]
			if f.Model != "" {
				model = f.Model
			}
			switch op {
			case "converse":
				f.bedrockConverse(w, model, body, k, false)
			case "converse-stream":
				f.bedrockConverse(w, model, body, k, true)
			case "invoke":
				f.bedrockInvoke(w, model, body) // embed.go
			default:
				bedrockErr(w, 404, "UnknownOperationException", "unknown operation "+op)
			}
		}
	})
	return f
}

func bedrockErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	writeJSON(w, status, map[string]any{"message": msg})
}

// BedrockError answers with a Bedrock error (see Status).
func BedrockError(times, status int, typ, msg string) func(http.ResponseWriter, *http.Request, int) bool {
	return Status(times, status, fmt.Sprintf(`{"message":%q}`, msg), "X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
}

// VerifySigV4 checks r's SigV4 Authorization header by signing a copy of
// the request (the headers it names, the body's hash, its X-Amz-Date) with
// creds and comparing.
func VerifySigV4(r *http.Request, body []byte, creds aws.Credentials, region, service string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("missing SigV4 Authorization")
	}
	var signed []string
	scope := ""
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		case "Credential":
			scope = v
		}
	}
	if !strings.HasPrefix(scope, creds.AccessKeyID+"/") || !strings.HasSuffix(scope, "/"+region+"/"+service+"/aws4_request") {
		return fmt.Errorf("credential scope %q: want key %s, region %s, service %s", scope, creds.AccessKeyID, region, service)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return errors.New("missing X-Amz-Date")
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("signature expired")
	}
	vr, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			vr.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, vr, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		return err
	}
	if got := vr.Header.Get("Authorization"); got != auth {
		return errors.New("The request signature we calculated does not match the signature you provided.") //nolint:staticcheck // AWS's exact message
	}
	return nil
}

func bedrockLastUserText(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		m, _ := msgs[i].(map[string]any)
		if str(m, "role") != "user" {
			continue
		}
		cs, _ := m["content"].([]any)
		for _, c := range cs {
			if t := str(c.(map[string]any), "text"); t != "" {
				return t
			}
		}
	}
	return ""
}

func (f *Fake) bedrockConverse(w http.ResponseWriter, model string, body map[string]any, k Knobs, stream bool) {
	_ = model // Converse answers do not name the model
	text := Reply(bedrockLastUserText(body))
	var toolName string
	if tc, _ := body["toolConfig"].(map[string]any); k.ToolCall && tc != nil {
		if tools, _ := tc["tools"].([]any); len(tools) > 0 {
			spec, _ := tools[0].(map[string]any)["toolSpec"].(map[string]any)
			toolName = str(spec, "name")
		}
	}
	n := len(words(text))
	usage := map[string]any{"inputTokens": 8, "outputTokens": n, "totalTokens": 11 + n, "cacheReadInputTokens": 3}
	if !stream {
		content := []any{map[string]any{"text": text}}
		stop := "end_turn"
		if toolName != "" {
			content = []any{map[string]any{"text": "Let me check."},
				map[string]any{"toolUse": map[string]any{"toolUseId": "tooluse_fake1", "name": toolName, "input": map[string]any{"city": "Paris"}}}}
			stop = "tool_use"
		}
		writeJSON(w, 200, map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
			"stopReason": stop, "usage": usage, "metrics": map[string]any{"latencyMs": 12}})
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(200)
	ev := func(typ string, v any) { BedrockEvent(w, typ, v) }
	ev("messageStart", map[string]any{"role": "assistant"})
	stop := "end_turn"
	if toolName != "" {
		ev("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": "Let me check."}})
		ev("contentBlockStop", map[string]any{"contentBlockIndex": 0})
		ev("contentBlockStart", map[string]any{"contentBlockIndex": 1, "start": map[string]any{"toolUse": map[string]any{"toolUseId": "tooluse_fake1", "name": toolName}}})
		for _, part := range []string{`{"city"`, `:"Paris"}`} {
			ev("contentBlockDelta", map[string]any{"contentBlockIndex": 1, "delta": map[string]any{"toolUse": map[string]any{"input": part}}})
		}
		ev("contentBlockStop", map[string]any{"contentBlockIndex": 1})
		stop = "tool_use"
	} else {
		for i, wd := range words(text) {
			if k.CutAfter > 0 && i == k.CutAfter {
				CutConn(w)
				return
			}
			ev("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": wd}})
		}
		ev("contentBlockStop", map[string]any{"contentBlockIndex": 0})
	}
	ev("messageStop", map[string]any{"stopReason": stop})
	ev("metadata", map[string]any{"usage": usage, "metrics": map[string]any{"latencyMs": 12}})
}

// BedrockEvent writes one event-stream event message (and flushes).
func BedrockEvent(w io.Writer, typ string, v any) {
	b, _ := json.Marshal(v)
	var hs eventstream.Headers
	hs.Set(":event-type", eventstream.StringValue(typ))
	hs.Set(":content-type", eventstream.StringValue("application/json"))
	hs.Set(":message-type", eventstream.StringValue("event"))
	_ = eventstream.NewEncoder().Encode(w, eventstream.Message{Headers: hs, Payload: b})
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// BedrockException writes an event-stream exception message.
func BedrockException(w io.Writer, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	var hs eventstream.Headers
	hs.Set(":exception-type", eventstream.StringValue(typ))
	hs.Set(":content-type", eventstream.StringValue("application/json"))
	hs.Set(":message-type", eventstream.StringValue("exception"))
	_ = eventstream.NewEncoder().Encode(w, eventstream.Message{Headers: hs, Payload: b})
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// BedrockStreamException answers a stream with messageStart and then an
// in-band exception (e.g. throttlingException) before any content.
func BedrockStreamException(typ string) func(http.ResponseWriter, *http.Request, int) bool {
	return func(w http.ResponseWriter, _ *http.Request, _ int) bool {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(200)
		BedrockEvent(w, "messageStart", map[string]any{"role": "assistant"})
		BedrockException(w, typ, "Too many requests, please wait before trying again.")
		return true
	}
}
