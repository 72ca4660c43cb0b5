package vsync

import "fmt"

// MsgKind is the type of a Message.
type MsgKind uint8

// Message kinds. Member-to-member kinds carry Group and View; oracle kinds travel between members and the
// membership service (vsync/membership).
const (
	MsgData          MsgKind = iota + 1 // a multicast payload: Idx, Seq, Flavour, Payload, QueryID/Reply fields
	MsgOrder                            // sequencer ordering records: Pos (first position) and Refs
	MsgHeartbeat                        // liveness plus stability: Frontier, Delivered, OrderKnown
	MsgFlushState                       // survivor → coordinator: State for (View, Attempt)
	MsgFlushDecision                    // coordinator → survivor: Decision for (View, Attempt)
	MsgFlushAck                         // survivor → coordinator: decision applied for (View, Attempt)
	MsgStateChunk                       // coordinator → joiner: checkpoint chunk ChunkSeq (Last on the final one)
	MsgStateAck                         // joiner → coordinator: chunks up to ChunkSeq loaded
	MsgP2P                              // reliable point-to-point payload (P2PSeq), also carries query replies
	MsgP2PAck                           // acknowledges P2P messages up to P2PSeq
	MsgPoison                           // "you are not a member": the receiver is firewalled and must rejoin
	MsgOracleRequest                    // member → membership replica: Req
	MsgOracleUpdate                     // membership replica → member: Record (Leader says whether a leader sent it)
)

var kindNames = [...]string{"?", "data", "order", "heartbeat", "flush-state", "flush-decision", "flush-ack",
	"state-chunk", "state-ack", "p2p", "p2p-ack", "poison", "oracle-request", "oracle-update"}

// String names the kind.
func (k MsgKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Flavour is the delivery guarantee of a multicast.
type Flavour uint8

// Multicast flavours (DESIGN §2).
const (
	FlavourSend    Flavour = iota + 1 // FIFO per sender, delivered on receipt
	FlavourOrdered                    // one total order per group (sequencer)
	FlavourSafe                       // total order, delivered only after Φ acceptors logged it
)

// String returns the name used in histories: "send", "ordered", "safe".
func (f Flavour) String() string {
	switch f {
	case FlavourSend:
		return "send"
	case FlavourOrdered:
		return "ordered"
	case FlavourSafe:
		return "safe"
	}
	return "?"
}

// Ref names one multicast inside a view: the sender's rank in that view and its per-view index (1, 2, …).
type Ref struct {
	Rank int    `json:"r"`
	Idx  uint64 `json:"i"`
}

// Tag is the view-independent identity of a multicast: the original sender and its per-group sequence
// number. SafeSend log entries keep it, so a replay after total failure carries the original tag.
type Tag struct {
	Sender string `json:"s"`
	Seq    uint64 `json:"q"`
}

// ReplyKind says what a query reply is.
type ReplyKind uint8

// Reply kinds (manual: Reply, NullReply, AbortReply).
const (
	ReplyValue ReplyKind = iota + 1
	ReplyNull
	ReplyAbort
)

// Message is everything members and membership replicas exchange. It is a flat value so a transport can
// carry it with Marshal/Unmarshal (codec.go); fields a kind does not use are zero.
type Message struct {
	Kind    MsgKind `json:"k"`
	Group   string  `json:"g,omitempty"`
	From    string  `json:"f,omitempty"`
	To      string  `json:"t,omitempty"`
	View    uint64  `json:"v,omitempty"`
	Attempt uint64  `json:"a,omitempty"`

	// MsgData.
	Idx     uint64  `json:"i,omitempty"`
	Tag     Tag     `json:"tag,omitempty"` // original sender and sequence number (replays keep the original)
	Flavour Flavour `json:"fl,omitempty"`
	Payload []byte  `json:"p,omitempty"`
	AckReq  bool    `json:"ar,omitempty"` // the sender waits in Flush: answer with a heartbeat at once
	Replay  bool    `json:"rp,omitempty"` // re-multicast of a logged SafeSend after a total failure
	RView   uint64  `json:"rv,omitempty"` // Replay: the view it was first delivered in (0: never delivered)
	RPos    uint64  `json:"rpos,omitempty"`
	RRank   int     `json:"rr,omitempty"` // Replay: sender rank and index in RView (ties of unknown positions)
	RIdx    uint64  `json:"ri,omitempty"`
	RBallot uint64  `json:"rb,omitempty"` // Replay: the Ballot of the order marker RView/RPos came from (0: none)
	QueryID uint64  `json:"qid,omitempty"`
	// Query reply fields (inside MsgP2P).
	Reply  ReplyKind `json:"rk,omitempty"`
	Reason string    `json:"rs,omitempty"`

	// MsgOrder.
	Pos  uint64 `json:"pos,omitempty"`
	Refs []Ref  `json:"refs,omitempty"`

	// MsgHeartbeat (and piggybacked frontiers).
	Frontier   []uint64 `json:"fr,omitempty"` // per rank: contiguous index received (acceptors: and logged)
	Delivered  uint64   `json:"dl,omitempty"` // order positions delivered
	OrderKnown uint64   `json:"ok,omitempty"` // contiguous order positions known
	Held       uint64   `json:"hd,omitempty"` // contiguous order positions known with their payloads
	// AllHeld (from the sequencer, on MsgOrder and MsgHeartbeat): contiguous order positions that every
	// member of the view reported holding (Held), relayed so members need not tell each other.
	AllHeld uint64 `json:"ah,omitempty"`

	// Flush.
	State    *FlushState `json:"st,omitempty"`
	Decision *Decision   `json:"dec,omitempty"`

	// State transfer and P2P.
	ChunkSeq uint64 `json:"cs,omitempty"`
	Last     bool   `json:"last,omitempty"`
	P2PSeq   uint64 `json:"ps,omitempty"`

	// Oracle.
	Req    *OracleRequest `json:"req,omitempty"`
	Record *GroupRecord   `json:"rec,omitempty"`
	Leader bool           `json:"ld,omitempty"`
}

// FlushState is what a survivor sends the coordinator when it wedges (DESIGN §3.1 step 2).
type FlushState struct {
	Recv      []uint64      `json:"recv"`           // per old-view rank: contiguous index received
	Delivered uint64        `json:"del"`            // order positions delivered
	Records   []OrderRecord `json:"recs,omitempty"` // every ordering record held (not yet released)
	Msgs      []*Message    `json:"msgs,omitempty"` // every multicast held (not yet released)
	Applied   uint64        `json:"applied"`        // attempt of the last flush decision applied (0: none)
}

// OrderRecord binds an order position to a message. Attempt 0 records come from the sequencer; others
// from the flush decision of that attempt.
type OrderRecord struct {
	Pos     uint64 `json:"p"`
	Ref     Ref    `json:"r"`
	Attempt uint64 `json:"a,omitempty"`
}

// Decision is the coordinator's flush decision (DESIGN §3.1 step 3): deliver, per sender, every index up
// to UpTo (FIFO sends), and the ordered messages at positions Base+1 … Base+len(Records).
type Decision struct {
	UpTo    []uint64      `json:"upto"`
	Base    uint64        `json:"base"`
	Records []OrderRecord `json:"recs,omitempty"`
	Msgs    []*Message    `json:"msgs,omitempty"` // the payloads this survivor lacks
}

// OracleOp is a request to the membership service.
type OracleOp uint8

// Oracle operations.
const (
	OpSync      OracleOp = iota + 1 // read the group record (and renew the member's lease)
	OpJoin                          // add Member in the next view
	OpLeave                         // remove Member in the next view
	OpSuspect                       // Member reports Target as failed
	OpFlushDone                     // the coordinator finished the flush of (View, Attempt)
)

// OracleRequest is the body of MsgOracleRequest and, once committed, of a membership raft entry.
type OracleRequest struct {
	Op      OracleOp `json:"op"`
	Group   string   `json:"g"`
	Member  string   `json:"m"`
	Target  string   `json:"t,omitempty"`
	View    uint64   `json:"v,omitempty"`
	Attempt uint64   `json:"a,omitempty"`
}

// View is one view of a group: its id and its members by rank (0 is the oldest).
type View struct {
	ID      uint64   `json:"id"`
	Members []string `json:"m"`
}

// RankOf returns the rank of id in v, or -1.
func (v View) RankOf(id string) int {
	for i, m := range v.Members {
		if m == id {
			return i
		}
	}
	return -1
}

// ViewChange is a committed "view v is ending" decision of the membership service.
type ViewChange struct {
	Attempt     uint64   `json:"a"`
	Next        []string `json:"next"` // proposed members of view v+1 by rank: survivors, then joiners
	Coordinator string   `json:"coord"`
	Joiners     []string `json:"join,omitempty"`
}

// GroupRecord is the membership service's authoritative record of one group.
type GroupRecord struct {
	Group  string      `json:"g"`
	View   View        `json:"view"`
	Change *ViewChange `json:"change,omitempty"`
	// Restart says that View has no member of the view before it (a total failure, or the first
	// view): its members recover SafeSends from their logs.
	Restart bool `json:"restart,omitempty"`
}

// Has reports whether id is in the view or the pending change.
func (r *GroupRecord) Has(id string) bool {
	if r.View.RankOf(id) >= 0 {
		return true
	}
	if r.Change != nil {
		for _, n := range r.Change.Next {
			if n == id {
				return true
			}
		}
	}
	return false
}
