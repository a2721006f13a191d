package listen

import (
	"sync"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// The disconnect watcher. A request still running after watchDelay gets
// a goroutine reading one byte from its connection: EOF or an error
// means the client went away, and the request's context is canceled; a
// byte (the next pipelined request) is kept for the loop. Fast requests
// never get one.
//
// Which requests are due is kept in one queue per server, in the order
// they started, with one timer for the oldest: a request costs a lock
// and two pointer updates to enter and leave it. (A timer per request
// was reset by every request, and on a lightly loaded process each reset
// woke a second thread to watch the new deadline: a third of the
// gateway's futex calls at 3,000 requests a second.)

// watchDelay: requests still running after this get a disconnect
// watcher (a one-byte background read). A client that goes away is
// noticed within it (net/http notices at once); the work a request does
// for a client already gone is bounded by it.
//
// It was 10 ms. The queue's timer then fired up to 100 times a second,
// and each time it was armed again it was the process's earliest timer,
// so the runtime woke the thread sleeping in the network poller to
// shorten its sleep: about 200 wake-ups a second that no request needed.
// At 300 MCP calls a second that was 1.1 of 4.5 futex calls and 1.3 of
// 4.5 context switches per call, and 15 % of the gateway's CPU
// (docs/performance.md, "The disconnect watcher's delay"). At 100 ms the
// timer fires at most 10 times a second, and a new one is seldom earlier
// than the poller's own wake-up (the access log flushes every 100 ms).
const watchDelay = 100 * time.Millisecond

// watchQueue holds the connections whose request is in its handler,
// oldest first.
type watchQueue struct {
	ls         *leanServer
	mu         sync.Mutex
	head, tail *leanConn
	timer      *time.Timer
	armed      bool // the timer will fire
}

// add appends c (its request starts now) and arms the timer if it is not.
func (q *watchQueue) add(c *leanConn) {
	d := time.Duration(q.ls.watchDelay.Load())
	q.mu.Lock()
	c.wqStart, c.wqIn = time.Now(), true // under the lock: the queue stays in start order
	c.wqNext, c.wqPrev = nil, q.tail
	if q.tail != nil {
		q.tail.wqNext = c
	} else {
		q.head = c
	}
	q.tail = c
	if !q.armed {
		q.armed = true
		if q.timer == nil {
			q.timer = time.AfterFunc(d, q.fire)
		} else {
			q.timer.Reset(d)
		}
	}
	q.mu.Unlock()
}

// remove takes c out (its request has left the handler).
func (q *watchQueue) remove(c *leanConn) {
	q.mu.Lock()
	q.unlinkLocked(c)
	q.mu.Unlock()
}

func (q *watchQueue) unlinkLocked(c *leanConn) {
	if !c.wqIn {
		return
	}
	if c.wqPrev != nil {
		c.wqPrev.wqNext = c.wqNext
	} else {
		q.head = c.wqNext
	}
	if c.wqNext != nil {
		c.wqNext.wqPrev = c.wqPrev
	} else {
		q.tail = c.wqPrev
	}
	c.wqNext, c.wqPrev, c.wqIn = nil, nil, false
}

// fire starts the watch of every request that is due and sets the timer
// for the next one; with none left the timer rests until add.
func (q *watchQueue) fire() {
	d := time.Duration(q.ls.watchDelay.Load())
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for c := q.head; c != nil && now.Sub(c.wqStart) >= d; c = q.head {
		q.unlinkLocked(c)
		c.onTimer() // takes c.wmu: the lock order is q.mu, then c.wmu
	}
	if q.head == nil {
		q.armed = false
		return
	}
	q.timer.Reset(q.head.wqStart.Add(d).Sub(now))
}

// startWatch puts a request in the server's watch queue. noBody: the
// request has no body left to read, so the watcher may start as soon as
// the request is due.
func (c *leanConn) startWatch(cancel *pipeline.RequestContext, noBody bool) {
	c.wmu.Lock()
	c.cancel = cancel
	c.inHandler = true
	c.timerFired = false
	c.bodyEOF = noBody
	c.wmu.Unlock()
	c.ls.wq.add(c)
}

// onTimer: c's request has run for watchDelay.
func (c *leanConn) onTimer() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.inHandler {
		return
	}
	c.timerFired = true
	if c.bodyEOF {
		c.startWatcherLocked()
	}
}

// bodyHitEOF is called by the body reader at EOF.
func (c *leanConn) bodyHitEOF() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.bodyEOF = true
	if c.inHandler && c.timerFired {
		c.startWatcherLocked()
	}
}

func (c *leanConn) startWatcherLocked() {
	if c.watching || c.cr.hasByte {
		return
	}
	c.watching = true
	c.ls.watchers.Add(1)
	c.wwg.Add(1)
	go c.watch()
}

// watch reads one byte: data is kept for the next request; EOF or an
// error means the client went away and the request is canceled.
func (c *leanConn) watch() {
	defer c.wwg.Done()
	var b [1]byte
	n, err := c.rwc.Read(b[:])
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if n == 1 {
		c.cr.b[0] = b[0]
		c.cr.hasByte = true
	}
	if err != nil && !c.aborting && c.cancel != nil {
		c.cancel.Cancel()
	}
}

func (c *leanConn) endHandler() {
	c.wmu.Lock()
	c.inHandler = false
	c.wmu.Unlock()
	c.ls.wq.remove(c)
}

// abortWatcher stops a running watcher (a read deadline in the past) and
// waits for it.
func (c *leanConn) abortWatcher() {
	c.wmu.Lock()
	running := c.watching
	c.aborting = running
	c.wmu.Unlock()
	if !running {
		return
	}
	_ = c.rwc.SetReadDeadline(aLongTimeAgo)
	c.wwg.Wait()
	_ = c.rwc.SetReadDeadline(time.Time{})
	c.wmu.Lock()
	c.watching = false
	c.aborting = false
	c.wmu.Unlock()
}
