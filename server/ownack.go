package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/vsync"
)

// ownAck is the answer of one of this member's own LocalAck write ops (dht.Cluster.SetOwnAck).
type ownAck struct {
	reply   []byte // this replica's dht.ShardReply (nil: none)
	applied bool   // false: applied nowhere (this member was not a ready replica of its shards)
	err     error  // the member stopped before delivering it
}

/*
ownAcks matches this member's LocalAck write ops with their delivery: the writer registers the op's id
before multicasting it, and the driver goroutine hands the answer over at delivery (deliver, with the
dht.Cluster's lock held, so it never blocks: each channel has room for its one answer).

Invariants: an id is in waiting from register until its answer is taken (deliver, or fail) or the
writer gives up (forget); after fail, register refuses (the instance's member stopped, and nothing it
sent will be delivered here any more).
*/
type ownAcks struct {
	mu      sync.Mutex
	waiting map[uint64]chan ownAck
	failed  error
}

func (a *ownAcks) register(id uint64) (chan ownAck, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed != nil {
		return nil, a.failed
	}
	if a.waiting == nil {
		a.waiting = map[uint64]chan ownAck{}
	}
	ch := make(chan ownAck, 1)
	a.waiting[id] = ch
	return ch, nil
}

func (a *ownAcks) forget(id uint64) {
	a.mu.Lock()
	delete(a.waiting, id)
	a.mu.Unlock()
}

// deliver is the dht.Cluster's SetOwnAck callback.
func (a *ownAcks) deliver(id uint64, reply []byte, applied bool) {
	a.mu.Lock()
	ch := a.waiting[id]
	delete(a.waiting, id)
	a.mu.Unlock()
	if ch != nil {
		ch <- ownAck{reply: reply, applied: applied}
	}
}

// fail answers every waiting op with err, and every later register too.
func (a *ownAcks) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed == nil {
		a.failed = err
	}
	for id, ch := range a.waiting {
		ch <- ownAck{err: err}
		delete(a.waiting, id)
	}
}

// writeAtDelivery multicasts op (a strict write this member is a ready replica for) with LocalAck and
// returns its parts at this member's own delivery. applied false: the op was applied nowhere (the
// member stopped being a ready replica of its shards before the op's point in the order).
func (p *clusterPlane) writeAtDelivery(ctx context.Context, in *instance, op *dht.Op) (parts dht.Collected, applied bool, err error) {
	op.LocalAck = true
	ch, err := in.acks.register(op.ID)
	if err != nil {
		return dht.Collected{}, false, err
	}
	if _, err := in.gn.OrderedSend(ctx, p.cfg.Group, op.Encode(nil)); err != nil {
		in.acks.forget(op.ID)
		return dht.Collected{}, false, fmt.Errorf("server: multicasting the write: %w", err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return dht.Collected{}, false, r.err
		}
		if !r.applied {
			return dht.Collected{}, false, nil
		}
		var replies []vsync.QueryReply
		if r.reply != nil {
			replies = []vsync.QueryReply{{Payload: r.reply}}
		}
		return dht.CollectParts(replies, len(op.Cmds)), true, nil
	case <-ctx.Done():
		in.acks.forget(op.ID)
		return dht.Collected{}, false, fmt.Errorf("server: waiting for the write's delivery: %w", ctx.Err())
	}
}
