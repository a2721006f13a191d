package listen

import (
	"net/http"
	"testing"
	"time"
)

// TestWatchQueue: requests that outlive the delay are marked due in the
// order they started, whatever order others leave in; requests that leave
// in time never are; the timer rests once the queue is empty.
func TestWatchQueue(t *testing.T) {
	ls := newLeanServer(&http.Server{}, nil, nil)
	ls.watchDelay.Store(int64(30 * time.Millisecond))
	conns := make([]*leanConn, 6)
	for i := range conns {
		conns[i] = &leanConn{ls: ls}
	}
	due := func(c *leanConn) bool {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.timerFired
	}
	// 0..5 start; 1 and 4 leave at once (fast requests), 3 later but
	// before the delay.
	for _, c := range conns {
		c.startWatch(nil, false)
	}
	conns[1].endHandler()
	conns[4].endHandler()
	time.Sleep(5 * time.Millisecond)
	conns[3].endHandler()
	waitFor(t, "the slow requests to be due", func() bool {
		return due(conns[0]) && due(conns[2]) && due(conns[5])
	})
	for _, i := range []int{1, 3, 4} {
		if due(conns[i]) {
			t.Errorf("request %d left before the delay but was marked due", i)
		}
	}
	// A request that starts after the others' timer has been set is due
	// after its own delay, not theirs.
	late := &leanConn{ls: ls}
	start := time.Now()
	late.startWatch(nil, false)
	waitFor(t, "the late request to be due", func() bool { return due(late) })
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("the late request was due after %v, before its delay", d)
	}
	for _, c := range append(conns, late) {
		c.endHandler()
	}
	ls.wq.mu.Lock()
	empty := ls.wq.head == nil && ls.wq.tail == nil
	ls.wq.mu.Unlock()
	if !empty {
		t.Fatal("queue not empty after every request left")
	}
	waitFor(t, "the timer to rest", func() bool {
		ls.wq.mu.Lock()
		defer ls.wq.mu.Unlock()
		return !ls.wq.armed
	})
}
