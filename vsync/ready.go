package vsync

// Storage is what a Member reads of the process's SafeSend log at start. Writes go through Ready.Entries
// (append, then sync) and Ready.Forget (remove), executed by the driver.
type Storage interface {
	// Entries returns the entries logged by earlier incarnations of this process for every group,
	// oldest first.
	Entries() ([]LogEntry, error)
}

// LogEntry is one SafeSend logged by an acceptor, under its original tag. An entry with a nil Payload
// is an order marker: the SafeSend Tag has order position Pos of view View, as decided by Ballot (a
// restart replays logged messages in that order; of two markers of one tag the higher ballot wins).
type LogEntry struct {
	Group   string
	Tag     Tag
	Payload []byte
	View    uint64
	Pos     uint64
	// Rank and Idx name the message in View (the sender's rank, its index): a recovery orders entries
	// whose position it never learned as a flush decision would, by (rank, index).
	Rank int
	Idx  uint64
	// Ballot ranks order markers of one tag: BallotSequencer for the sequencer's record, and
	// BallotSequencer+k for the flush decision of attempt k, which may move a position nobody delivered.
	Ballot uint64
}

// BallotSequencer is the Ballot of an order marker taken from the sequencer's record. Ballot 0 means
// the position is not known.
const BallotSequencer = 1

// EventKind is the type of an Event.
type EventKind uint8

// Event kinds, in the order the application sees them in Ready.Events.
const (
	EventDeliver        EventKind = iota + 1 // a multicast delivery (Delivery)
	EventView                                // a new view installed (View)
	EventMakeCheckpoint                      // make a checkpoint of the state now and hand it to SetCheckpointSource
	EventLoadChunk                           // load checkpoint chunk Chunk (ChunkSeq 1 starts over; Last ends it)
	EventQueryDone                           // a query finished (Query)
	EventFlushDone                           // a Flush returned (Flush)
	EventP2P                                 // a point-to-point message (Delivery with Flavour 0)
	EventStopped                             // the member stopped (Err); it must rejoin as a new incarnation
	EventSafeLogged                          // Entries of this Ready were persisted (emitted on Advance; Tags)
	EventLease                               // the lease ran out (Isolated) or was renewed (not Isolated)
)

// Delivery is one delivered multicast or point-to-point message.
type Delivery struct {
	Tag     Tag // original sender and sequence number
	Flavour Flavour
	ViewID  uint64
	Payload []byte
	QueryID uint64 // non-zero: a query; answer with Reply/NullReply/AbortReply (a driver replies null if the
	// handler returns without replying)
	Replayed bool // re-multicast from an acceptor log after a total failure
	// Decided: delivered by a flush decision (after the view wedged), in an order only the survivors of
	// that flush know; otherwise every member of the view knew its position before anyone delivered it.
	Decided bool
	// Pos is the ordered position of the delivery in ViewID (0 for a Send, and for a Decided or
	// Replayed delivery, whose positions only the flush knows).
	Pos uint64
}

// QueryResult is the outcome of a query.
type QueryResult struct {
	ID       uint64
	Replies  []QueryReply // real replies, in arrival order
	TimedOut bool
	Aborted  bool
	Reason   string // AbortReply's reason
}

// QueryReply is one real reply.
type QueryReply struct {
	From    string
	Payload []byte
}

// FlushResult says what a Flush waited for.
type FlushResult struct {
	ID   uint64
	K    int      // 0 = all members
	Seqs []uint64 // this member's sequence numbers the flush covered
}

// Event is one thing for the application, in order.
type Event struct {
	Kind     EventKind
	Delivery Delivery
	View     View
	Chunk    []byte
	ChunkSeq uint64
	Last     bool
	// Isolated (EventLease): the member's lease with the membership service ran out; until an
	// EventLease without it, the service may have installed a view without this member. (Next to
	// Last: it fits in that field's padding, and Ready arrays hold many events.)
	Isolated bool
	Query    QueryResult
	Flush    FlushResult
	Err      error
}

// Ready is what the driver must do, in this order: persist Entries (append and sync), remove Forget from
// the log, send Messages, then hand Events to the application in order. Then call Advance. Messages
// and Events are valid until the next call of Member.Ready (their arrays are reused).
type Ready struct {
	Entries  []LogEntry
	Forget   []Tag
	Messages []Message
	Events   []Event
}

// IsEmpty reports whether there is nothing to do.
func (r *Ready) IsEmpty() bool {
	return len(r.Entries) == 0 && len(r.Forget) == 0 && len(r.Messages) == 0 && len(r.Events) == 0
}

// CheckpointSource streams a checkpoint made at an EventMakeCheckpoint. The Member pulls chunks as the
// joiners' window allows, so at most ChunkWindow chunks are held at once.
type CheckpointSource interface {
	// NextChunk returns up to maxBytes of the checkpoint and whether it is the last chunk.
	NextChunk(maxBytes int) (data []byte, last bool, err error)
}

// BytesCheckpoint returns a CheckpointSource that streams b (not copied: b must not change while it
// streams) in chunks of at most the asked size.
func BytesCheckpoint(b []byte) CheckpointSource { return &bytesCheckpoint{b: b} }

type bytesCheckpoint struct{ b []byte }

func (s *bytesCheckpoint) NextChunk(maxBytes int) ([]byte, bool, error) {
	n := min(maxBytes, len(s.b))
	out := s.b[:n]
	s.b = s.b[n:]
	return out, len(s.b) == 0, nil
}
