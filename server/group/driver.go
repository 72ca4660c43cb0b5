package group

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/vsdb/vsdb/vsync"
)

// Application is what a driver hands a member's events to. Its methods run on the group's driver
// goroutine, one at a time, in event order; they must not block for long (they delay the group) and
// must not call the Node's proposal methods for the same group (that would deadlock on a full queue;
// use Responder, or another goroutine).
type Application interface {
	// Event handles one event: EventDeliver, EventView, EventLoadChunk, EventQueryDone,
	// EventFlushDone, EventP2P, EventStopped, EventSafeLogged. r answers a delivered query (Delivery.QueryID
	// non-zero); a query the handler leaves unanswered gets a NullReply. r is valid only during the call.
	Event(r *Responder, ev vsync.Event)
	// Checkpoint returns the application's state as of now, at an EventMakeCheckpoint of view v (this
	// member coordinates a view change with joiners): everything of the old view is delivered, nothing
	// of the new one. The member pulls its chunks as the joiners acknowledge them.
	Checkpoint(v vsync.View) (vsync.CheckpointSource, error)
}

// Responder answers one delivered query from inside Application.Event.
type Responder struct {
	m       *vsync.Member
	querier string
	id      uint64
	done    bool
}

// Query reports whether the event being handled is a query that still needs an answer.
func (r *Responder) Query() bool { return r.id != 0 && !r.done }

// Reply answers the query with payload.
func (r *Responder) Reply(payload []byte) error { return r.answer(vsync.ReplyValue, payload, "") }

// NullReply answers the query with no value.
func (r *Responder) NullReply() error { return r.answer(vsync.ReplyNull, nil, "") }

// AbortReply makes the query fail at once with reason.
func (r *Responder) AbortReply(reason string) error { return r.answer(vsync.ReplyAbort, nil, reason) }

// Defer leaves the query unanswered for now (no automatic null reply): the application answers it
// later, from another event, with ReplyLater.
func (r *Responder) Defer() {
	if r.Query() {
		r.done = true
	}
}

// ReplyLater answers query id of querier, which an earlier event deferred.
func (r *Responder) ReplyLater(querier string, id uint64, payload []byte) error {
	return r.m.Reply(querier, id, payload)
}

// P2P sends payload point to point to member to of the group (vsync.Member.P2PSend), from inside
// Application.Event.
func (r *Responder) P2P(to string, payload []byte) error { return r.m.P2PSend(to, payload) }

// QueryID returns the vsync id of the query being handled (0 if the event is not a query).
func (r *Responder) QueryID() uint64 { return r.id }

// Member returns the member itself, for what the other methods do not cover (read-only use: View, ID).
func (r *Responder) Member() *vsync.Member { return r.m }

func (r *Responder) answer(kind vsync.ReplyKind, payload []byte, reason string) error {
	if !r.Query() {
		return fmt.Errorf("%w: no query to answer (or answered already)", vsync.ErrUnknownQuery)
	}
	r.done = true
	switch kind {
	case vsync.ReplyValue:
		return r.m.Reply(r.querier, r.id, payload)
	case vsync.ReplyNull:
		return r.m.NullReply(r.querier, r.id)
	default:
		return r.m.AbortReply(r.querier, r.id, reason)
	}
}

// op is a proposal's operation.
type op uint8

const (
	opMulticast op = iota + 1
	opQuery
	opFlush
	opLeave
	opP2P
)

// proposal is one application request, executed on the driver goroutine.
type proposal struct {
	op       op
	flavour  vsync.Flavour
	payloads [][]byte // opMulticast: every payload, multicast in order; others: payloads[0]
	want     int      // opQuery
	timeout  int      // opQuery: ticks (0 = the member's default)
	k        int      // opFlush
	to       string   // opP2P
	seqs     []uint64 // opMulticast: sequence numbers of payloads[:len(seqs)]
	res      chan result
}

// result is what a proposal's caller receives.
type result struct {
	seqs  []uint64
	query vsync.QueryResult
	flush vsync.FlushResult
	err   error
}

/*
driver runs one group member on one goroutine. Loop invariant: after every input (a tick, a batch of
received messages, a batch of proposals) the driver executes the member's Ready until it is empty, in
the order vsync requires — append Entries to the log (durable before Advance), remove Forget, send
Messages, hand Events to the application — then Advance. So nothing waits for the next tick: a proposal's
data messages leave before the driver looks at its inputs again (this is what keeps light-load latency
at network round trips, not ticks).

Backpressure: a multicast the member refuses with ErrBackpressure (too many of its own messages
unstable) is parked, and the driver stops taking proposals until it is accepted; it retries the parked
proposal after every input. So callers block in the bounded proposal queue rather than spin.
*/
type driver struct {
	n       *Node
	name    string
	m       *vsync.Member
	app     Application
	inbox   chan []vsync.Message
	props   chan *proposal
	done    chan struct{} // closed when run returns
	parked  *proposal
	flushes map[uint64]*proposal
	queries map[uint64]*proposal
	stopErr error     // set once the member stopped
	out     *outbox   // sendMessages' buffers (this goroutine's)
	resp    Responder // the Responder of the event being handled (see event)
	ri      readIndex // see readindex.go
	// The read index last published, and the deliveries handed to the application in this Ready.
	riView, riPos       uint64
	riOK                bool
	delivView, delivPos uint64
	delivMoved          bool
	relay               *time.Timer // RelayDelay after the member's deferred output appeared (armed: relayArmed)
	relayArmed          bool
}

func newDriver(n *Node, name string, m *vsync.Member, app Application) *driver {
	return &driver{n: n, name: name, m: m, app: app,
		inbox: make(chan []vsync.Message, n.cfg.InboxBatches), props: make(chan *proposal, n.cfg.ProposalQueue),
		done: make(chan struct{}), flushes: map[uint64]*proposal{}, queries: map[uint64]*proposal{}, out: newOutbox()}
}

// drainMax bounds the inputs of one kind taken before the driver executes Ready (batching under load),
// and drainMaxMessages the received messages: one loop turn stays short, so ticks (and the heartbeats
// that keep peers from suspecting this member) are not starved by a flood.
const (
	drainMax         = 256
	drainMaxMessages = 4096
)

func (d *driver) run() {
	defer d.n.wg.Done()
	defer close(d.done)
	defer d.failAll()
	defer d.ri.stop()
	t := time.NewTicker(d.n.cfg.Tick)
	defer t.Stop()
	d.relay = time.NewTimer(time.Hour)
	d.relay.Stop()
	defer d.relay.Stop()
	if err := d.m.Join(); err != nil {
		panic(fmt.Sprintf("group: join of a fresh member: %v", err))
	}
	d.process()
	for d.stopErr == nil {
		d.idle()
		props := d.props
		if d.parked != nil {
			props = nil // backpressure: take no proposal until the parked one is accepted
		}
		var relay <-chan time.Time
		if d.relayArmed {
			relay = d.relay.C
		}
		select {
		case <-d.n.stop:
			return
		case <-relay:
			d.relayArmed = false
			d.m.FlushDeferred()
		case <-t.C:
			d.m.Tick()
		case msgs := <-d.inbox:
			d.step(msgs)
			n := len(msgs)
		drainInbox:
			for i := 0; i < drainMax && n < drainMaxMessages; i++ {
				select {
				case msgs := <-d.inbox:
					d.step(msgs)
					n += len(msgs)
				default:
					break drainInbox
				}
			}
		case p := <-props:
			d.propose(p)
		drainProps:
			for i := 0; i < drainMax && d.parked == nil; i++ {
				select {
				case p := <-d.props:
					d.propose(p)
				default:
					break drainProps
				}
			}
		}
		d.process()
		if d.parked != nil && d.stopErr == nil {
			p := d.parked
			d.parked = nil
			d.propose(p)
			d.process()
		}
	}
	d.n.removeDriver(d)
}

// idle handles the member's deferred output (vsync.Member.FlushDeferred: the sequencer's relay of what
// every member holds) when no input is waiting: it arms the relay timer (RelayDelay), which the next
// MsgOrder makes moot (it carries the relay; the timer is then stopped), or, with a negative
// RelayDelay, flushes it at once. Before that it yields, so the goroutines this turn readied (a
// client's acknowledgement) run before the relay's messages are written; what arrives meanwhile is
// taken first.
func (d *driver) idle() {
	if !d.m.HasDeferred() {
		if d.relayArmed {
			d.relay.Stop()
			d.relayArmed = false
		}
		return
	}
	if len(d.inbox) > 0 || (d.parked == nil && len(d.props) > 0) {
		return
	}
	if delay := d.n.cfg.RelayDelay; delay > 0 {
		if !d.relayArmed {
			d.relay.Reset(delay)
			d.relayArmed = true
		}
		return
	}
	runtime.Gosched()
	if len(d.inbox) > 0 || (d.parked == nil && len(d.props) > 0) {
		return
	}
	d.m.FlushDeferred()
	d.process()
}

func (d *driver) step(msgs []vsync.Message) {
	for i := range msgs {
		d.m.Step(msgs[i])
	}
	putMsgs(msgs) // Step keeps no pointer into the array (see msgArrays)
}

// propose executes p on the member; a multicast refused for backpressure is parked.
func (d *driver) propose(p *proposal) {
	switch p.op {
	case opMulticast:
		for len(p.seqs) < len(p.payloads) {
			pl := p.payloads[len(p.seqs)]
			var seq uint64
			var err error
			switch p.flavour {
			case vsync.FlavourSend:
				seq, err = d.m.Send(pl)
			case vsync.FlavourOrdered:
				seq, err = d.m.OrderedSend(pl)
			case vsync.FlavourSafe:
				seq, err = d.m.SafeSend(pl)
			default:
				err = fmt.Errorf("%w: flavour %d", ErrConfig, p.flavour)
			}
			if errors.Is(err, vsync.ErrBackpressure) {
				d.parked = p
				return
			}
			if err != nil {
				p.res <- result{seqs: p.seqs, err: err}
				return
			}
			p.seqs = append(p.seqs, seq)
		}
		p.res <- result{seqs: p.seqs}
	case opQuery:
		id, err := d.m.Query(p.flavour, p.payloads[0], p.want, p.timeout)
		if errors.Is(err, vsync.ErrBackpressure) {
			d.parked = p
			return
		}
		if err != nil {
			p.res <- result{err: err}
			return
		}
		d.queries[id] = p
	case opFlush:
		id, err := d.m.Flush(p.k)
		if err != nil {
			p.res <- result{err: err}
			return
		}
		d.flushes[id] = p
	case opLeave:
		p.res <- result{err: d.m.Leave()}
	case opP2P:
		err := d.m.P2PSend(p.to, p.payloads[0])
		if errors.Is(err, vsync.ErrBackpressure) {
			d.parked = p
			return
		}
		p.res <- result{err: err}
	}
}

// readyRoundsMax bounds Ready rounds per input; a member that always has more is a vsync bug.
const readyRoundsMax = 10000

// process executes the member's Ready until it is empty (see the driver invariant).
func (d *driver) process() {
	for i := 0; d.stopErr == nil && d.m.HasReady(); i++ {
		if i == readyRoundsMax {
			panic(fmt.Sprintf("group: member %s of %q has Ready after %d rounds", d.m.ID(), d.name, i))
		}
		rd := d.m.Ready()
		if v, p, ok := d.m.ReadIndex(); v != d.riView || p != d.riPos || ok != d.riOK {
			// Before the messages leave: a Held report they carry must be covered (readindex.go).
			d.riView, d.riPos, d.riOK = v, p, ok
			d.ri.publishKnown(v, p, ok)
		}
		if len(rd.Entries) > 0 {
			if err := d.n.cfg.Log.Append(rd.Entries); err != nil {
				// Not durable: do not Advance them, so the member never counts them as logged.
				d.n.storageErrors.Add(1)
				d.n.logf("group %q: SafeSend log append: %v", d.name, err)
				rd.Entries = nil
			}
		}
		if len(rd.Forget) > 0 {
			if err := d.n.cfg.Log.Forget(d.name, rd.Forget); err != nil {
				d.n.storageErrors.Add(1)
				d.n.logf("group %q: SafeSend log forget: %v", d.name, err)
			}
		}
		if len(rd.Messages) > 0 {
			d.n.sendMessages(d.out, rd.Messages)
		}
		for i := range rd.Events {
			d.event(rd.Events[i])
		}
		if d.delivMoved {
			d.delivMoved = false
			d.ri.publishDelivered(d.delivView, d.delivPos)
		}
		d.m.Advance(rd)
	}
}

func (d *driver) event(ev vsync.Event) {
	switch ev.Kind {
	case vsync.EventMakeCheckpoint:
		src, err := d.app.Checkpoint(ev.View)
		if err == nil {
			err = d.m.SetCheckpointSource(src)
		}
		if err != nil {
			d.n.logf("group %q: checkpoint for view %d: %v", d.name, ev.View.ID, err)
		}
		return
	case vsync.EventFlushDone:
		if p := d.flushes[ev.Flush.ID]; p != nil {
			delete(d.flushes, ev.Flush.ID)
			p.res <- result{flush: ev.Flush}
		}
	case vsync.EventQueryDone:
		if p := d.queries[ev.Query.ID]; p != nil {
			delete(d.queries, ev.Query.ID)
			p.res <- result{query: ev.Query}
		}
	case vsync.EventStopped:
		d.stopErr = ev.Err
		if d.stopErr == nil {
			d.stopErr = vsync.ErrStopped
		}
		d.n.logf("group %q: member %s stopped: %v", d.name, d.m.ID(), ev.Err)
	}
	// One Responder, reset per event (it is valid only during the call): a fresh one would escape to
	// the heap through the interface call, an allocation per delivery.
	r := &d.resp
	*r = Responder{m: d.m}
	if (ev.Kind == vsync.EventDeliver || ev.Kind == vsync.EventP2P) && ev.Delivery.QueryID != 0 {
		r.querier, r.id = ev.Delivery.Tag.Sender, ev.Delivery.QueryID
	}
	d.app.Event(r, ev)
	if r.Query() {
		_ = r.NullReply()
	}
	switch {
	case ev.Kind == vsync.EventView:
		d.delivView, d.delivPos, d.delivMoved = ev.View.ID, 0, true
	case ev.Kind == vsync.EventDeliver && ev.Delivery.Pos != 0 && ev.Delivery.ViewID >= d.delivView:
		d.delivView, d.delivPos, d.delivMoved = ev.Delivery.ViewID, ev.Delivery.Pos, true
	}
}

// failAll answers every waiting proposal when the driver ends.
func (d *driver) failAll() {
	err := ErrClosed
	if d.stopErr != nil {
		err = fmt.Errorf("%w: %w", ErrUnknownGroup, d.stopErr)
	}
	if d.parked != nil {
		d.parked.res <- result{seqs: d.parked.seqs, err: err}
		d.parked = nil
	}
	for id, p := range d.flushes {
		p.res <- result{err: err}
		delete(d.flushes, id)
	}
	for id, p := range d.queries {
		p.res <- result{err: err}
		delete(d.queries, id)
	}
}
