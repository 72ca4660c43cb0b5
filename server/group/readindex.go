package group

import (
	"context"
	"fmt"
	"sync"
)

/*
readIndex lets a reader on another goroutine wait until the member's application has applied every
write that any member may have delivered (acknowledged) before the read began: the member's
vsync.Member.ReadIndex at the read's start, against the ordered positions the driver handed to the
application.

Invariants (the driver goroutine is the only writer):
  - known is published after every Step/Tick and before the Ready's messages leave (process), so a
    Held report another member acted on is never ahead of known;
  - delivered advances only after Application.Event returned for the delivery (or the view install),
    so a reader released by it sees the application's state with that position applied;
  - a view install sets delivered to (view, 0): the flush delivered everything of earlier views;
  - once the driver ends, stopped is set and every waiter returns ErrClosed.
*/
type readIndex struct {
	mu        sync.Mutex
	knownView uint64
	knownPos  uint64
	knownOK   bool // false: wedged (or no view): wait for the next view
	delView   uint64
	delPos    uint64
	wake      chan struct{} // closed at the next advance of delivered; made by the first waiter
	stopped   bool
}

// publishKnown records the member's read index (driver goroutine).
func (ri *readIndex) publishKnown(view, pos uint64, ok bool) {
	ri.mu.Lock()
	ri.knownView, ri.knownPos, ri.knownOK = view, pos, ok
	ri.mu.Unlock()
}

// publishDelivered records that the application applied position pos of view (driver goroutine).
func (ri *readIndex) publishDelivered(view, pos uint64) {
	ri.mu.Lock()
	if view > ri.delView || (view == ri.delView && pos > ri.delPos) {
		ri.delView, ri.delPos = view, pos
		if ri.wake != nil {
			close(ri.wake)
			ri.wake = nil
		}
	}
	ri.mu.Unlock()
}

// stop releases every waiter for good (the driver ended).
func (ri *readIndex) stop() {
	ri.mu.Lock()
	ri.stopped = true
	if ri.wake != nil {
		close(ri.wake)
		ri.wake = nil
	}
	ri.mu.Unlock()
}

// applied reports whether what is known now is delivered (await without waiting).
func (ri *readIndex) applied() bool {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return !ri.stopped && ri.reached(ri.knownView, ri.knownPos, ri.knownOK)
}

// reached reports whether delivered covers the read index (view, pos, ok); ri.mu held.
func (ri *readIndex) reached(view, pos uint64, ok bool) bool {
	return ri.delView > view || (ok && ri.delView == view && ri.delPos >= pos)
}

// await waits until what was known at the call is delivered (see readIndex).
func (ri *readIndex) await(ctx context.Context) error {
	ri.mu.Lock()
	view, pos, ok := ri.knownView, ri.knownPos, ri.knownOK
	for {
		switch {
		case ri.stopped:
			ri.mu.Unlock()
			return ErrClosed
		case ri.reached(view, pos, ok):
			ri.mu.Unlock()
			return nil
		}
		if ri.wake == nil {
			ri.wake = make(chan struct{})
		}
		wake := ri.wake
		ri.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("group: waiting for the read index: %w", ctx.Err())
		}
		ri.mu.Lock()
	}
}

// AwaitReadIndex returns once this node's member of group has applied every ordered delivery that any
// member of the group may have delivered before the call (vsync.Member.ReadIndex): a read of the
// application's state after it returns is linearizable with writes acknowledged at their delivery,
// provided the member is still in the group's current view (its lease; see vsync.EventLease).
// During a view change it waits for the next view's install. It fails with ErrUnknownGroup when the
// node has no member of group, ErrClosed when the member stops, or ctx's error.
func (n *Node) AwaitReadIndex(ctx context.Context, group string) error {
	d := n.driverOf(group)
	if d == nil {
		return ErrUnknownGroup
	}
	return d.ri.await(ctx)
}

// ReadIndexApplied reports, without waiting, whether AwaitReadIndex would return at once (false also
// when the node has no member of group).
func (n *Node) ReadIndexApplied(group string) bool {
	d := n.driverOf(group)
	return d != nil && d.ri.applied()
}
