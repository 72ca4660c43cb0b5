package server

import (
	"context"
	"sync"
	"time"

	"github.com/vsdb/vsdb/dht"
)

/*
commitNotices holds the ids of this node's acknowledged writes whose commit notice has not gone out yet.
A replica serves a key locally only when no write of it is pending there (dht.Cluster's pending set),
and a write stays pending at a replica until the replica hears that the write was acknowledged. The
notice travels one of two ways:

  - piggybacked: the next strict write op of this node carries the ids (dht.Op.IDs on an OpWrite), so
    under a steady stream of writes no separate multicast is sent;
  - alone: when idleDelay passes with ids waiting and no write op took them, commitLoop multicasts them
    in an OpCommit (FIFO Send), as before.

Either way the originator releases its own replica at once (dht.Cluster.Commit), since a write is
acknowledged only after every replica applied it.

Invariants: ids holds at most limit entries (a full queue drops the id: those keys stay pending, and
reads take the ordered path, until the next view change clears the pending set); every id taken is
put back when the write op carrying it failed (a duplicate notice is harmless), or dropped when a lone
OpCommit could not be sent (the member stopped; the next view clears the pending set). Delaying a notice never breaks
linearizability: it only keeps keys on the ordered read path for longer.
*/
type commitNotices struct {
	mu    sync.Mutex
	ids   []uint64
	limit int
	taken uint64        // counts take calls that returned ids; commitLoop compares it across idleDelay
	wake  chan struct{} // capacity 1: ids became non-empty
}

// commitIdleDelay is how long waiting notices may wait for a write op to carry them before they are
// multicast alone.
const commitIdleDelay = 2 * time.Millisecond

func newCommitNotices(limit int) *commitNotices {
	return &commitNotices{limit: limit, wake: make(chan struct{}, 1)}
}

// add queues ids (dropping what exceeds the limit).
func (q *commitNotices) add(ids ...uint64) {
	q.mu.Lock()
	n := min(len(ids), q.limit-len(q.ids))
	q.ids = append(q.ids, ids[:max(n, 0)]...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes and returns up to maxIDBatch waiting ids (oldest first).
func (q *commitNotices) take() []uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ids) == 0 {
		return nil
	}
	n := min(len(q.ids), maxIDBatch)
	out := append([]uint64(nil), q.ids[:n]...)
	q.ids = append(q.ids[:0], q.ids[n:]...)
	q.taken++
	return out
}

// state returns the number of take calls so far and whether ids are waiting.
func (q *commitNotices) state() (taken uint64, waiting bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.taken, len(q.ids) > 0
}

// commitLoop multicasts the notices no write op carried within commitIdleDelay (FIFO Send: they only
// release keys for local reads, so they need no order with other senders).
func (p *clusterPlane) commitLoop() {
	defer p.wg.Done()
	timer := time.NewTimer(commitIdleDelay)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.commits.wake:
		}
		for {
			before, waiting := p.commits.state()
			if !waiting {
				break
			}
			timer.Reset(commitIdleDelay)
			select {
			case <-p.ctx.Done():
				return
			case <-timer.C:
			}
			if after, _ := p.commits.state(); after != before {
				continue // a write op carried some: wait again for what came since
			}
			ids := p.commits.take()
			if len(ids) == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
			_, err := p.cur().gn.Send(ctx, p.cfg.Group, (&dht.Op{Kind: dht.OpCommit, IDs: ids}).Encode(nil))
			cancel()
			_ = err // a failed Send (the member stopped): those keys stay pending until the view changes
		}
	}
}
