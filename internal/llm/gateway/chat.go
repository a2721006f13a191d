package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Shared header values (capacity-clipped: an Add copies, never writes
// into them).
var (
	hdrJSON      = []string{"application/json"}[:1:1]
	hdrUserAgent = []string{"agentgateway"}[:1:1]
)

var (
	errAttemptTimeout = errors.New("upstream request timeout")
	errStreamIdle     = errors.New("upstream stream idle timeout")
	errClientGone     = errors.New("client disconnected")
)

// serveChat serves chat completions, messages and responses. own holds
// body's bytes (nil: not pooled); serveChat's caller releases its own
// reference once serveChat returns, so every upstream body that may alias
// it holds one more (chatAttempt).
func (h *Handler) serveChat(w http.ResponseWriter, r *http.Request, op llm.Op, f llm.Format, body []byte, own *llm.BodyBuf) {
	var (
		req   *llm.Request
		cands routePlan
	)
	// Same-dialect fast path: when every candidate speaks the client's
	// dialect the body is forwarded with byte edits, so only its envelope
	// is read.
	if pk, ok := f.(requestPeeker); ok && op != llm.OpGenerateContent {
		if pr, err := pk.PeekRequest(body); err == nil {
			model := pr.Model
			if a, ok := h.spec.Aliases[model]; ok {
				model = a
			}
			if c, _ := h.route(r, model, body); !c.empty() && c.sameDialect(f.Dialect()) {
				req, cands = pr, c
			}
		}
	}
	if req == nil {
		var err error
		req, err = f.ParseRequest(body)
		if err != nil {
			writeError(w, r, f, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "invalid request: " + err.Error()})
			return
		}
	}
	if op == llm.OpGenerateContent {
		req.Model, req.Stream, _ = gemini.PathModel(r.URL.Path)
	}
	asked := req.Model
	if a, ok := h.spec.Aliases[req.Model]; ok {
		req.Model = a
	}
	if cands.empty() {
		var e *llm.Error
		if cands, e = h.route(r, req.Model, body); e != nil {
			writeError(w, r, f, e)
			return
		}
	}
	if cands.empty() {
		writeError(w, r, f, &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "model_not_found",
			Message: fmt.Sprintf("model %q is not served by this gateway", asked)})
		return
	}
	targets, models := cands.targets()
	n := 0 // run tries targets in order: models[n] goes with targets[n]
	h.run(w, r, f, targets, func(t *Target) (bool, *llm.Error) {
		model := ""
		if models != nil {
			model = models[min(n, len(models)-1)]
			n++
		}
		return h.chatAttempt(w, r, f, req, own, asked, model, t)
	})
}

// requestPeeker is a client dialect that can read just a request's
// envelope (llm.Request.Body).
type requestPeeker interface {
	PeekRequest(body []byte) (*llm.Request, error)
}

// sameDialect reports whether every target's provider speaks d.
func sameDialect(bs []*Backend, d llm.Dialect) bool {
	for _, b := range bs {
		for _, tier := range b.Tiers {
			for _, t := range tier {
				if t.Provider.Dialect() != d {
					return false
				}
			}
		}
	}
	return true
}

// run tries targets in order until one commits an answer or fails with an
// error another provider cannot fix. A target that is the only one gets
// one more try for a server error (not for a rate limit).
func (h *Handler) run(w http.ResponseWriter, r *http.Request, f llm.Format, targets []*Target, try func(*Target) (bool, *llm.Error)) {
	info := pipeline.InfoFrom(r.Context())
	var twice [2]*Target
	if len(targets) == 1 {
		twice[0], twice[1] = targets[0], targets[0]
		targets = twice[:]
	}
	var last *llm.Error
	for i, t := range targets {
		if i > 0 {
			if i == 1 && len(targets) == 2 && targets[0] == targets[1] &&
				(last.Status == http.StatusTooManyRequests || last.RetryAfter > 0) {
				break // a rate-limited only target: surface the 429 at once
			}
			info.Retries = i
			info.Err = ""
		}
		done, e := try(t)
		if done {
			if e == nil {
				t.health.succeeded()
			}
			return
		}
		last = e
		if e.Retryable() {
			t.health.failed(time.Now(), e.RetryAfter)
		}
		if !e.Retryable() || r.Context().Err() != nil {
			break
		}
	}
	if r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		clientGone(r)
		return
	}
	if r.Context().Err() != nil {
		last = &llm.Error{Status: http.StatusGatewayTimeout, Type: llm.ErrTimeout, Message: "request timeout"}
	}
	writeError(w, r, f, last)
}

func clientGone(r *http.Request) {
	info := pipeline.InfoFrom(r.Context())
	info.Status = 499
	if info.Err == "" {
		info.Err = errClientGone.Error()
	}
}

// send builds and sends one upstream request. The returned cancel ends
// the attempt (call it when done with the response).
func send(r *http.Request, t *Target, call *llm.Call, path string, clientDialect llm.Dialect) (*http.Response, context.CancelCauseFunc, *llm.Error) {
	// A non-streamed call without an attempt timeout needs no context of
	// its own: nothing cancels it but the client (closing the answer's
	// body ends it). Streams keep one for the idle timer.
	ctx, cancel := r.Context(), context.CancelCauseFunc(noCancel)
	if t.Timeout > 0 || call.Stream {
		ctx, cancel = context.WithCancelCause(r.Context())
	}
	var timer *time.Timer
	if t.Timeout > 0 {
		timer = time.AfterFunc(t.Timeout, func() { cancel(errAttemptTimeout) })
	}
	ureq, err := newUpstreamRequest(ctx, t, call.Method, path, call.Body, call.Pooled)
	if err != nil {
		cancel(nil)
		return nil, nil, &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrAPI, Message: "cannot build upstream request"}
	}
	ureq.Header = call.Header // each attempt builds its own Call: no copy needed
	if ureq.Header == nil {
		ureq.Header = http.Header{}
	}
	ureq.Host = t.HostHeader
	ureq.Header["User-Agent"] = hdrUserAgent
	if clientDialect == llm.DialectAnthropic && t.Provider.Dialect() == llm.DialectAnthropic {
		for _, k := range []string{"Anthropic-Version", "Anthropic-Beta"} {
			if v := r.Header.Get(k); v != "" {
				ureq.Header.Set(k, v)
			}
		}
	}
	if t.Header != nil {
		t.Header(ureq.Header)
	}
	key := t.Key
	if t.PassthroughAuth {
		key = clientKey(r.Header)
	}
	if err := t.Provider.Authorize(ureq, call.Body, key); err != nil {
		cancel(nil)
		var le *llm.Error // a credential source's own answer (internal/cloudauth)
		if errors.As(err, &le) {
			return nil, nil, le
		}
		return nil, nil, &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrAPI, Message: "cannot sign upstream request"}
	}
	info := pipeline.InfoFrom(r.Context())
	info.Backend, info.Endpoint = t.Name, t.Address
	resp, err := t.Transport.RoundTrip(ureq)
	if timer != nil {
		timer.Stop()
	}
	if err != nil {
		c := context.Cause(ctx)
		cancel(nil)
		switch {
		case errors.Is(c, errAttemptTimeout):
			return nil, nil, &llm.Error{Status: http.StatusGatewayTimeout, Type: llm.ErrTimeout, Message: "upstream request timeout"}
		case r.Context().Err() != nil:
			return nil, nil, &llm.Error{Status: 499, Type: llm.ErrAPI, Message: errClientGone.Error()}
		}
		return nil, nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream connect error"}
	}
	return resp, cancel, nil
}

// answerHeader returns the header map of the client's answer: the
// upstream answer's own, emptied, when the response writer takes it (no
// header set yet: one map fewer per call, as the plain forwarder does),
// else w's. Nothing reads the upstream header after this.
func answerHeader(w http.ResponseWriter, resp *http.Response) http.Header {
	if h := resp.Header; h != nil {
		clear(h)
		if pipeline.AdoptHeader(w, h) {
			return h
		}
	}
	return w.Header()
}

// clientKey is the client's own credential (for backendAuth passthrough).
func clientKey(h http.Header) string {
	if v := h.Get("Authorization"); v != "" {
		if k, ok := strings.CutPrefix(v, "Bearer "); ok {
			return k
		}
		return v
	}
	for _, k := range []string{"X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// upstreamError reads and translates an error response.
func upstreamError(p llm.Provider, resp *http.Response) *llm.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := p.ParseError(resp.StatusCode, resp.Header, b)
	if e.Status == 0 {
		e.Status = resp.StatusCode
	}
	return e
}

// chatAttempt sends a chat request to t. done reports that the answer
// was committed to the client (then e is nil, or a mid-stream failure
// already reported in-band).
// model, when not "", is the model a virtual model routed to.
// own holds the client body's bytes (see serveChat).
func (h *Handler) chatAttempt(w http.ResponseWriter, r *http.Request, f llm.Format, req *llm.Request, own *llm.BodyBuf, asked, model string, t *Target) (bool, *llm.Error) {
	p := t.Provider
	if req.Dialect == llm.DialectGemini && p.Dialect() != llm.DialectGemini {
		return false, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: gemini.ErrNotGemini.Error()}
	}
	if k := openai.Stateful(req); k != "" && req.Dialect == llm.DialectResponses && !servesResponses(p) {
		return false, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest,
			Message: k + " needs a provider that serves the Responses API itself (OpenAI); it cannot be translated for " + p.System()}
	}
	sent := req.Model
	if model != "" {
		sent = model
	}
	if m := p.Model(); m != "" {
		sent = m
	}
	// A copy only when the model changes: BuildChat does not modify the
	// request (it may cache Raw from Body, which every attempt could
	// share; TestBuildChatLeavesTheRequest).
	cr := req
	if sent != req.Model {
		c := *req
		c.Model = sent
		cr = &c
	}
	call, err := p.BuildChat(cr)
	if err != nil {
		return false, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: err.Error()}
	}
	if call.Pooled == nil && own != nil {
		// The upstream body may be the client's (a passthrough) or slices
		// of it: the transport's body reader keeps the client's buffer
		// from going back to the pool until the transport closes it.
		own.Retain()
		call.Pooled = own
	}
	defer call.Pooled.Release() // last: after the answer's body is closed
	path := call.Path
	switch {
	case t.PathOverride != "":
		path = t.PathOverride
	case t.KeepPath && req.Dialect == p.Dialect() && !call.FixedPath:
		path = r.URL.RequestURI()
	}
	start := time.Now()
	resp, cancel, e := send(r, t, call, path, req.Dialect)
	if e != nil {
		return e.Status == 499, e
	}
	defer cancel(nil)
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, upstreamError(p, resp)
	}
	acct := &usageRecord{h: h, r: r, t: t, asked: asked, sent: cr.Model, op: "chat", start: start}
	if !call.Stream {
		bp, err := readPooled(resp.Body, resp.ContentLength, MaxResponseBytes+1)
		defer releaseResp(bp) // after the write below: the parsers copy model and usage out of b
		b := *bp
		if err != nil || len(b) > MaxResponseBytes {
			return false, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream response truncated or too large"}
		}
		parse := p.ParseChat
		if pk, ok := p.(interface {
			PeekChat([]byte) (*llm.Response, error)
		}); ok && f.Dialect() == p.Dialect() {
			parse = pk.PeekChat // the body goes out as it came (Raw)
		}
		if call.ParseChat != nil {
			parse = call.ParseChat
		}
		out, err := parse(b)
		if err != nil {
			return false, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "invalid upstream response: " + err.Error()}
		}
		if out.Model == "" {
			out.Model = cr.Model
		}
		body := f.WriteResponse(out)
		h := answerHeader(w, resp)
		h["Content-Type"] = hdrJSON
		// A known length: identity framing, and the lean server writes the
		// header at once instead of snapshotting it.
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		acct.respModel = out.Model
		acct.finish(out.Usage, 0, 0)
		return true, nil
	}
	dec := p.DecodeStream
	if call.DecodeStream != nil {
		dec = call.DecodeStream
	}
	er := dec(resp.Body)
	if pt, ok := er.(interface{ Passthrough() }); ok && call.DecodeStream == nil && f.Dialect() == p.Dialect() {
		pt.Passthrough()
	}
	if rl, ok := er.(interface{ Release() }); ok {
		defer rl.Release()
	}
	return h.stream(w, r, f, req, er, resp.Body, cancel, acct)
}

func servesResponses(p llm.Provider) bool {
	r, ok := p.(interface{ ServesResponses() bool })
	return ok && r.ServesResponses()
}

// stream relays an upstream stream. Nothing is sent to the client before
// the first content event (H-35): until then a failure is returned so the
// next provider can be tried. After that, a stream that breaks before its
// terminal event ends with an error event in the client's dialect (H-33).
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, f llm.Format, req *llm.Request, dec llm.EventReader, body io.Reader,
	cancel context.CancelCauseFunc, acct *usageRecord) (bool, *llm.Error) {
	enc := f.NewEncoder(req)
	idle := time.AfterFunc(StreamIdleTimeout, func() { cancel(errStreamIdle) })
	defer idle.Stop()
	rc := http.NewResponseController(w)
	info := pipeline.InfoFrom(r.Context())
	var (
		pending         []byte
		committed       bool
		usage           *llm.Usage
		stopped, done   bool
		first           time.Time
		contentEvents   int
		clientWriteFail bool
	)
	write := func(b []byte) {
		if len(b) == 0 || clientWriteFail {
			return
		}
		if _, err := w.Write(b); err != nil {
			clientWriteFail = true
		}
	}
	commit := func() {
		hd := w.Header()
		hd.Set("Content-Type", "text/event-stream")
		hd.Set("Cache-Control", "no-cache")
		hd.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		committed = true
		write(pending)
		pending = nil
		_ = rc.Flush()
	}
	fail := func(e *llm.Error) (bool, *llm.Error) {
		if !committed {
			return false, e
		}
		info.Err = e.Message
		write(enc.Finish(e))
		_ = rc.Flush()
		acct.finish(usage, first.Sub(acct.start), 0)
		return true, nil
	}
loop:
	for {
		evs, err := dec.Next()
		idle.Reset(StreamIdleTimeout)
		if err != nil {
			if err == io.EOF && (done || stopped) {
				break
			}
			if r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
				clientGone(r)
				acct.finish(usage, 0, 0)
				return true, nil
			}
			msg := "upstream stream ended before its terminal event"
			switch {
			case errors.Is(err, llm.ErrLineTooLong):
				msg = "upstream stream event too large"
			case errors.Is(context.Cause(r.Context()), context.DeadlineExceeded):
				msg = "request timeout"
			case errors.Is(err, errStreamIdle), idleFired(body, err):
				msg = "upstream stream idle timeout"
			}
			return fail(&llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: msg})
		}
		for i := range evs {
			ev := &evs[i]
			switch ev.Kind {
			case llm.EvStart:
				if ev.Model != "" {
					acct.respModel = ev.Model
				}
			case llm.EvUsage:
				usage = llm.MergeUsage(usage, ev.Usage)
			case llm.EvStop:
				stopped = true
			case llm.EvDone:
				done = true
			case llm.EvError:
				e := ev.Err
				if e == nil {
					e = &llm.Error{Type: llm.ErrAPI, Message: "upstream stream error"}
				}
				if e.Status == 0 {
					e.Status = llm.StatusForType(e.Type)
				}
				return fail(e)
			}
			if ev.Model != "" && acct.respModel == "" {
				acct.respModel = ev.Model
			}
			if ev.IsContent() {
				contentEvents++
				if first.IsZero() {
					first = time.Now()
				}
			}
			b := enc.Encode(ev)
			if !committed {
				pending = append(pending, b...)
				if ev.IsContent() || ev.Kind == llm.EvStop || ev.Kind == llm.EvDone {
					commit()
				}
				continue
			}
			write(b)
		}
		if committed && !clientWriteFail && !done {
			// Events that arrived together go out in one write and flush.
			if pd, ok := dec.(interface{ Pending() bool }); ok && pd.Pending() {
				continue
			}
			_ = rc.Flush()
		}
		if clientWriteFail {
			clientGone(r)
			break loop
		}
		if done {
			break
		}
	}
	if !committed {
		commit()
	}
	if !clientWriteFail {
		write(enc.Finish(nil))
		_ = rc.Flush()
	}
	var ttft, tpot time.Duration
	if !first.IsZero() {
		ttft = first.Sub(acct.start)
		if usage != nil && usage.OutputTokens > 1 {
			tpot = time.Since(first) / time.Duration(usage.OutputTokens-1)
		}
	}
	acct.finish(usage, ttft, tpot)
	return true, nil
}

// idleFired reports whether a read error came from the idle timer
// cancelling the attempt.
func idleFired(_ io.Reader, err error) bool {
	return errors.Is(err, context.Canceled)
}
