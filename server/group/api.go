package group

import (
	"context"
	"fmt"

	"github.com/vsdb/vsdb/vsync"
)

// propose hands p to group's driver and waits for its result (bounded queue: it blocks while the
// queue is full, until ctx ends or the node closes).
func (n *Node) propose(ctx context.Context, group string, p *proposal) (result, error) {
	d := n.driverOf(group)
	if d == nil {
		return result{}, fmt.Errorf("%w: %q", ErrUnknownGroup, group)
	}
	p.res = make(chan result, 1)
	select {
	case d.props <- p:
	case <-d.done:
		return result{}, fmt.Errorf("%w: %q", ErrUnknownGroup, group)
	case <-n.stop:
		return result{}, ErrClosed
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	select {
	case r := <-p.res:
		return r, r.err
	case <-d.done:
		// The driver ended; it answered p if it had taken it.
		select {
		case r := <-p.res:
			return r, r.err
		default:
			return result{}, fmt.Errorf("%w: %q", ErrUnknownGroup, group)
		}
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
}

// Multicast multicasts payloads in order with flavour fl and returns their sequence numbers once the
// member accepted them all (not once they are delivered: deliveries arrive as EventDeliver). When the
// member has too many unstable messages the call waits. The payloads must not be modified afterwards.
func (n *Node) Multicast(ctx context.Context, group string, fl vsync.Flavour, payloads ...[]byte) ([]uint64, error) {
	if len(payloads) == 0 {
		return nil, nil
	}
	r, err := n.propose(ctx, group, &proposal{op: opMulticast, flavour: fl, payloads: payloads})
	return r.seqs, err
}

func (n *Node) one(ctx context.Context, group string, fl vsync.Flavour, payload []byte) (uint64, error) {
	seqs, err := n.Multicast(ctx, group, fl, payload)
	if err != nil {
		return 0, err
	}
	return seqs[0], nil
}

// Send multicasts payload FIFO per sender (vsync.Member.Send) and returns its sequence number.
func (n *Node) Send(ctx context.Context, group string, payload []byte) (uint64, error) {
	return n.one(ctx, group, vsync.FlavourSend, payload)
}

// OrderedSend multicasts payload in the group's total order and returns its sequence number.
func (n *Node) OrderedSend(ctx context.Context, group string, payload []byte) (uint64, error) {
	return n.one(ctx, group, vsync.FlavourOrdered, payload)
}

// SafeSend multicasts payload in the total order, delivered after Φ acceptors logged it.
func (n *Node) SafeSend(ctx context.Context, group string, payload []byte) (uint64, error) {
	return n.one(ctx, group, vsync.FlavourSafe, payload)
}

// Query multicasts payload with flavour fl and waits for the replies: want is vsync.ReplyAll,
// vsync.ReplyMajority or a count; timeoutTicks 0 means the member's default.
func (n *Node) Query(ctx context.Context, group string, fl vsync.Flavour, payload []byte, want, timeoutTicks int) (vsync.QueryResult, error) {
	r, err := n.propose(ctx, group, &proposal{op: opQuery, flavour: fl, payloads: [][]byte{payload}, want: want, timeout: timeoutTicks})
	return r.query, err
}

// Flush waits until this member's earlier multicasts are stable at every member (k = 0) or at k.
func (n *Node) Flush(ctx context.Context, group string, k int) (vsync.FlushResult, error) {
	r, err := n.propose(ctx, group, &proposal{op: opFlush, k: k})
	return r.flush, err
}

// P2PSend sends payload reliably and FIFO to member to of group (delivered as EventP2P).
func (n *Node) P2PSend(ctx context.Context, group, to string, payload []byte) error {
	_, err := n.propose(ctx, group, &proposal{op: opP2P, to: to, payloads: [][]byte{payload}})
	return err
}

// Leave asks the membership service to remove this node's member of group; the member stops
// (EventStopped with vsync.ErrLeft) once the service removed it, and its driver ends.
func (n *Node) Leave(ctx context.Context, group string) error {
	_, err := n.propose(ctx, group, &proposal{op: opLeave})
	return err
}
