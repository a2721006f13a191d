package mcp

// A session's lifecycle against the requests it serves. Every request of a
// session holds it while it is served: the POST that carries it (from
// lookup on) and the call itself (dispatch, also for the legacy SSE
// transport). A close (a DELETE, a config reload, a shutdown, the end of
// an SSE stream) that finds the session held only records itself; the
// last request to let go ends the session. So a call in flight is always
// answered, and its upstream session is not closed (nor re-opened) under
// it. The idle sweep ends only a session nothing holds, in one atomic step
// with the check, so a request arriving meanwhile either holds the session
// first or finds it gone (and resumes it from its id).
//
// state packs the number of holders (low 32 bits) with the flags below,
// so that holding, letting go and closing are single atomic operations
// (no lock and no allocation on the request path).
const (
	stateHolders = 1<<32 - 1
	stateClosing = 1 << 40 // a close waits for the holders
	stateDetach  = 1 << 41 // that close leaves HTTP upstream sessions open
	stateEnded   = 1 << 42 // the session is (being) torn down
)

// acquire holds the session for a new request; it fails once a close was
// asked for, so that a closing session takes no new work.
func (s *session) acquire() bool {
	for {
		v := s.state.Load()
		if v&(stateClosing|stateEnded) != 0 {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// hold holds the session for the call of a request already accepted: it
// fails only once the session is torn down, not while a close waits.
func (s *session) hold() bool {
	for {
		v := s.state.Load()
		if v&stateEnded != 0 {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// release lets go of the session; the last holder of a closing session
// ends it (in a goroutine: it may be an SDK handler of the session, which
// closing the session waits for).
func (s *session) release() {
	v := s.state.Add(-1)
	for v&stateHolders == 0 && v&stateClosing != 0 && v&stateEnded == 0 {
		if s.state.CompareAndSwap(v, v|stateEnded) {
			go s.teardown(v&stateDetach != 0)
			return
		}
		v = s.state.Load()
	}
}

// close ends the session once no request holds it; detach leaves HTTP
// upstream sessions open so a replica (or this process after a reload)
// can resume them.
func (s *session) close(detach bool) {
	for {
		v := s.state.Load()
		if v&stateEnded != 0 {
			return
		}
		n := v | stateClosing
		if detach && v&stateClosing == 0 {
			n |= stateDetach
		} else if !detach {
			n &^= stateDetach // a close that tells the targets wins
		}
		if v&stateHolders == 0 {
			n |= stateEnded
		}
		if !s.state.CompareAndSwap(v, n) {
			continue
		}
		if n&stateEnded != 0 {
			s.teardown(n&stateDetach != 0)
		}
		return
	}
}

// closeIfIdle ends the session (telling the targets) if nothing holds it
// and no close is under way, and reports whether it did.
func (s *session) closeIfIdle() bool {
	if !s.state.CompareAndSwap(0, stateClosing|stateEnded) {
		return false
	}
	s.teardown(false)
	return true
}

// ended reports whether the session is (being) torn down.
func (s *session) ended() bool { return s.state.Load()&stateEnded != 0 }
