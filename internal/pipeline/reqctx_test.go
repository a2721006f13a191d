package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

type otherKey struct{}

func newRC(t *testing.T) *RequestContext {
	t.Helper()
	rc := new(RequestContext)
	rc.Init(context.WithValue(context.Background(), otherKey{}, "parent"))
	t.Cleanup(rc.Cancel)
	return rc
}

func TestRequestContextInfo(t *testing.T) {
	rc := newRC(t)
	if got := InfoFrom(rc); got == nil || got.Bind != "" {
		t.Fatalf("InfoFrom before AttachInfo = %+v, want a throwaway record", got)
	}
	info := &Info{Bind: "bind/1"}
	if !AttachInfo(rc, info) {
		t.Fatal("AttachInfo on a RequestContext without Info = false")
	}
	if AttachInfo(rc, &Info{}) {
		t.Fatal("a second AttachInfo replaced the first record")
	}
	layered := context.WithValue(rc, otherKey{}, "child")
	for name, ctx := range map[string]context.Context{"itself": rc, "through a value layer": layered} {
		if got := InfoFrom(ctx); got != info {
			t.Errorf("%s: InfoFrom = %p, want the attached %p", name, got, info)
		}
	}
	if v := rc.Value(otherKey{}); v != "parent" {
		t.Errorf("other keys: Value = %v, want the parent's", v)
	}
	if AttachInfo(layered, &Info{}) {
		t.Error("AttachInfo on a derived context changed the RequestContext")
	}
	// A nested WithInfo (a sub-request) still shadows the attached record.
	sub := &Info{Bind: "sub"}
	if got := InfoFrom(WithInfo(rc, sub)); got != sub {
		t.Errorf("WithInfo over a RequestContext: InfoFrom = %+v, want the sub-request's", got)
	}
}

func TestRequestContextOnCancel(t *testing.T) {
	cases := []struct {
		name string
		ctx  func(rc *RequestContext) (context.Context, context.CancelFunc)
		reg  bool // OnCancel takes it
	}{
		{"the request context", func(rc *RequestContext) (context.Context, context.CancelFunc) { return rc, func() {} }, true},
		{"through value layers", func(rc *RequestContext) (context.Context, context.CancelFunc) {
			return context.WithValue(WithInfo(rc, &Info{}), otherKey{}, 1), func() {}
		}, true},
		{"a cancelable layer in between", func(rc *RequestContext) (context.Context, context.CancelFunc) {
			return context.WithCancel(rc)
		}, false},
		{"without cancel", func(rc *RequestContext) (context.Context, context.CancelFunc) {
			return context.WithoutCancel(rc), func() {}
		}, false},
		{"not a request context", func(*RequestContext) (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := newRC(t)
			ctx, cancel := tc.ctx(rc)
			defer cancel()
			var ran atomic.Int32
			got := OnCancel(ctx, func() {
				if rc.Err() == nil {
					t.Error("abort ran before the context was canceled")
				}
				ran.Add(1)
			})
			if (got != nil) != tc.reg {
				t.Fatalf("OnCancel registered = %v, want %v", got != nil, tc.reg)
			}
			if !tc.reg {
				return
			}
			if OnCancel(ctx, func() {}) != nil {
				t.Error("a second abort was registered over the first")
			}
			rc.Cancel()
			rc.Cancel()
			if n := ran.Load(); n != 1 {
				t.Fatalf("abort ran %d times, want 1", n)
			}
			if got.StopAbort() {
				t.Error("StopAbort after the abort ran = true, want false")
			}
			if OnCancel(ctx, func() {}) != nil {
				t.Error("OnCancel after Cancel registered an abort that can never run")
			}
		})
	}
}

func TestRequestContextStopAbort(t *testing.T) {
	rc := newRC(t)
	var ran atomic.Bool
	if OnCancel(rc, func() { ran.Store(true) }) == nil {
		t.Fatal("OnCancel did not register")
	}
	if !rc.StopAbort() {
		t.Fatal("StopAbort before any cancel = false")
	}
	// The slot is free again: a later exchange on the same request
	// registers its own abort.
	var second atomic.Bool
	if OnCancel(rc, func() { second.Store(true) }) == nil {
		t.Fatal("OnCancel after StopAbort did not register")
	}
	rc.Cancel()
	if ran.Load() || !second.Load() {
		t.Fatalf("after Cancel: stopped abort ran %v, registered abort ran %v", ran.Load(), second.Load())
	}
}

// TestRequestContextStdChildren: the context package's own derivations
// (WithCancel, AfterFunc) see the cancellation of a RequestContext.
func TestRequestContextStdChildren(t *testing.T) {
	rc := newRC(t)
	child, cancel := context.WithCancel(context.WithValue(rc, otherKey{}, 1))
	defer cancel()
	fired := make(chan struct{})
	context.AfterFunc(rc, func() { close(fired) })
	rc.Cancel()
	<-child.Done()
	<-fired
	if !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("child Err = %v", child.Err())
	}
}

// TestRequestContextRace: Cancel racing StopAbort runs the abort at most
// once, and StopAbort says whether it ran (go test -race).
func TestRequestContextRace(t *testing.T) {
	for range 200 {
		rc := new(RequestContext)
		rc.Init(context.Background())
		var ran atomic.Int32
		if OnCancel(rc, func() { ran.Add(1) }) == nil {
			t.Fatal("OnCancel did not register")
		}
		var wg sync.WaitGroup
		var stopped bool
		wg.Go(rc.Cancel)
		wg.Go(func() { stopped = rc.StopAbort() })
		wg.Wait()
		if n := ran.Load(); n > 1 || (n == 1) == stopped {
			t.Fatalf("abort ran %d times, StopAbort = %v", n, stopped)
		}
	}
}

// TestOnCancelNeedsNoDoneChannel: registering and unregistering the abort
// on the request context itself allocates nothing, not even the Done
// channel a cancelable context makes on first use (one object per
// proxied request otherwise). Through a value layer, Done is compared.
func TestOnCancelNeedsNoDoneChannel(t *testing.T) {
	var rc RequestContext
	initOnly := testing.AllocsPerRun(100, func() {
		rc.Init(context.Background())
		rc.Cancel()
	})
	withAbort := testing.AllocsPerRun(100, func() {
		rc.Init(context.Background())
		if OnCancel(&rc, func() {}) == nil {
			t.Fatal("OnCancel did not register")
		}
		rc.StopAbort()
		rc.Cancel()
	})
	if withAbort != initOnly {
		t.Fatalf("Init+OnCancel+StopAbort+Cancel: %.0f allocations, Init+Cancel alone: %.0f", withAbort, initOnly)
	}
	throughValue := testing.AllocsPerRun(100, func() {
		rc.Init(context.Background())
		if OnCancel(context.WithValue(&rc, otherKey{}, 1), func() {}) == nil {
			t.Fatal("OnCancel through a value layer did not register")
		}
		rc.StopAbort()
		rc.Cancel()
	})
	if throughValue <= withAbort {
		t.Fatalf("through a value layer: %.0f allocations, want more than %.0f (the layer and the Done channel)", throughValue, withAbort)
	}
}
