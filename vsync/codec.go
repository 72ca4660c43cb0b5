package vsync

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
)

/*
Wire format of a Message, version 2 (compact binary; Marshal, AppendBinary, Unmarshal, Decoder):

	byte 0      wireVersion (2)
	body        kind byte (1 … 13), uvarint presence mask (bit i = field i below is present), then the
	            present fields in bit order

Fields (u = uvarint, i = zigzag varint, s = u length + bytes, f = flag: presence is the value):

	 0 Group s    1 From s      2 To s        3 View u       4 Attempt u    5 Idx u
	 6 Tag (s Sender, u Seq)    7 Flavour byte               8 Payload s    9 AckReq f
	10 Replay f  11 RView u    12 RPos u     13 RRank i     14 RIdx u      15 RBallot u
	16 QueryID u 17 Reply byte 18 Reason s   19 Pos u       20 Refs (u count, count × (i Rank, u Idx))
	21 Frontier (u count, count × u)         22 Delivered u 23 OrderKnown u
	24 State     25 Decision   (s: a nested structure, see appendState/appendDecision)
	26 ChunkSeq u 27 Last f    28 P2PSeq u   29 Req s      30 Record s   31 Leader f
	32 Held u     33 AllHeld u

Messages nested in FlushState.Msgs and Decision.Msgs are bodies (no version byte), length-prefixed, a
zero length standing for a nil pointer; nesting deeper than maxNestDepth is rejected.

Invariants: a field is present iff its value is not the zero value (empty slices and strings count as
zero, so they decode as nil/""), so Marshal is deterministic and Unmarshal(Marshal(m)) equals m up to
empty-vs-nil; every length and count is checked against what remains of the input before anything is
allocated (a count n needs at least n bytes), so garbage cannot make the decoder allocate more than a
small multiple of its input; unknown presence bits, unknown kinds and trailing bytes are ErrEncoding.
Decoded byte slices (Payload) alias the input; strings are copied (or interned by a Decoder).

Version 1 (a JSON object after the version byte) is still decoded, so a mixed-version cluster keeps
talking during an upgrade; it is never produced.
*/

// wireVersion is the first byte of every marshalled Message.
const wireVersion = 2

// wireVersionJSON is the previous, JSON, encoding: decoded, never produced.
const wireVersionJSON = 1

// maxNestDepth bounds the nesting of messages inside flush states and decisions.
const maxNestDepth = 4

// Presence bits of the v2 encoding.
const (
	fGroup = iota
	fFrom
	fTo
	fView
	fAttempt
	fIdx
	fTag
	fFlavour
	fPayload
	fAckReq
	fReplay
	fRView
	fRPos
	fRRank
	fRIdx
	fRBallot
	fQueryID
	fReply
	fReason
	fPos
	fRefs
	fFrontier
	fDelivered
	fOrderKnown
	fState
	fDecision
	fChunkSeq
	fLast
	fP2PSeq
	fReq
	fRecord
	fLeader
	fHeld
	fAllHeld
	fieldCount
)

// Marshal encodes m (format above). It fails only for a message that cannot be represented.
func (m *Message) Marshal() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, 64+len(m.Payload)))
}

// AppendBinary appends the encoding of m to dst (encoding.BinaryAppender).
func (m *Message) AppendBinary(dst []byte) ([]byte, error) {
	dst = append(dst, wireVersion)
	return appendBody(dst, m, 0)
}

func appendBody(dst []byte, m *Message, depth int) ([]byte, error) {
	if depth > maxNestDepth {
		return dst, fmt.Errorf("%w: messages nested deeper than %d", ErrEncoding, maxNestDepth)
	}
	var mask uint64
	set := func(bit int, on bool) {
		if on {
			mask |= 1 << bit
		}
	}
	set(fGroup, m.Group != "")
	set(fFrom, m.From != "")
	set(fTo, m.To != "")
	set(fView, m.View != 0)
	set(fAttempt, m.Attempt != 0)
	set(fIdx, m.Idx != 0)
	set(fTag, m.Tag != Tag{})
	set(fFlavour, m.Flavour != 0)
	set(fPayload, len(m.Payload) > 0)
	set(fAckReq, m.AckReq)
	set(fReplay, m.Replay)
	set(fRView, m.RView != 0)
	set(fRPos, m.RPos != 0)
	set(fRRank, m.RRank != 0)
	set(fRIdx, m.RIdx != 0)
	set(fRBallot, m.RBallot != 0)
	set(fQueryID, m.QueryID != 0)
	set(fReply, m.Reply != 0)
	set(fReason, m.Reason != "")
	set(fPos, m.Pos != 0)
	set(fRefs, len(m.Refs) > 0)
	set(fFrontier, len(m.Frontier) > 0)
	set(fDelivered, m.Delivered != 0)
	set(fOrderKnown, m.OrderKnown != 0)
	set(fState, m.State != nil)
	set(fDecision, m.Decision != nil)
	set(fChunkSeq, m.ChunkSeq != 0)
	set(fLast, m.Last)
	set(fP2PSeq, m.P2PSeq != 0)
	set(fReq, m.Req != nil)
	set(fRecord, m.Record != nil)
	set(fLeader, m.Leader)
	set(fHeld, m.Held != 0)
	set(fAllHeld, m.AllHeld != 0)
	dst = append(dst, byte(m.Kind))
	dst = binary.AppendUvarint(dst, mask)
	u := binary.AppendUvarint
	var err error
	for rest := mask; rest != 0; rest &= rest - 1 {
		switch bits.TrailingZeros64(rest) {
		case fGroup:
			dst = appendString(dst, m.Group)
		case fFrom:
			dst = appendString(dst, m.From)
		case fTo:
			dst = appendString(dst, m.To)
		case fView:
			dst = u(dst, m.View)
		case fAttempt:
			dst = u(dst, m.Attempt)
		case fIdx:
			dst = u(dst, m.Idx)
		case fTag:
			dst = u(appendString(dst, m.Tag.Sender), m.Tag.Seq)
		case fFlavour:
			dst = append(dst, byte(m.Flavour))
		case fPayload:
			dst = appendString(dst, string(m.Payload))
		case fRView:
			dst = u(dst, m.RView)
		case fRPos:
			dst = u(dst, m.RPos)
		case fRRank:
			dst = binary.AppendVarint(dst, int64(m.RRank))
		case fRIdx:
			dst = u(dst, m.RIdx)
		case fRBallot:
			dst = u(dst, m.RBallot)
		case fQueryID:
			dst = u(dst, m.QueryID)
		case fReply:
			dst = append(dst, byte(m.Reply))
		case fReason:
			dst = appendString(dst, m.Reason)
		case fPos:
			dst = u(dst, m.Pos)
		case fRefs:
			dst = u(dst, uint64(len(m.Refs)))
			for _, r := range m.Refs {
				dst = u(binary.AppendVarint(dst, int64(r.Rank)), r.Idx)
			}
		case fFrontier:
			dst = appendUints(dst, m.Frontier)
		case fDelivered:
			dst = u(dst, m.Delivered)
		case fOrderKnown:
			dst = u(dst, m.OrderKnown)
		case fHeld:
			dst = u(dst, m.Held)
		case fAllHeld:
			dst = u(dst, m.AllHeld)
		case fState:
			dst, err = appendNested(dst, func(b []byte) ([]byte, error) { return appendState(b, m.State, depth) })
		case fDecision:
			dst, err = appendNested(dst, func(b []byte) ([]byte, error) { return appendDecision(b, m.Decision, depth) })
		case fChunkSeq:
			dst = u(dst, m.ChunkSeq)
		case fP2PSeq:
			dst = u(dst, m.P2PSeq)
		case fReq:
			dst, err = appendNested(dst, func(b []byte) ([]byte, error) { return appendReq(b, m.Req), nil })
		case fRecord:
			dst, err = appendNested(dst, func(b []byte) ([]byte, error) { return appendRecord(b, m.Record), nil })
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendUints(dst []byte, v []uint64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	for _, x := range v {
		dst = binary.AppendUvarint(dst, x)
	}
	return dst
}

func appendStrings(dst []byte, v []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	for _, s := range v {
		dst = appendString(dst, s)
	}
	return dst
}

// appendNested appends what f encodes, prefixed by its uvarint length: the body is encoded in place,
// then shifted right by the length's size (a fixed-size length slot would not be canonical).
func appendNested(dst []byte, f func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(dst)
	dst, err := f(dst)
	if err != nil {
		return dst, err
	}
	n := len(dst) - start
	var hdr [binary.MaxVarintLen64]byte
	h := binary.PutUvarint(hdr[:], uint64(n))
	dst = append(dst, hdr[:h]...)
	copy(dst[start+h:], dst[start:start+n])
	copy(dst[start:], hdr[:h])
	return dst, nil
}

func appendRecords(dst []byte, recs []OrderRecord) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, r.Pos)
		dst = binary.AppendVarint(dst, int64(r.Ref.Rank))
		dst = binary.AppendUvarint(dst, r.Ref.Idx)
		dst = binary.AppendUvarint(dst, r.Attempt)
	}
	return dst
}

func appendMsgs(dst []byte, msgs []*Message, depth int) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(msgs)))
	for _, mm := range msgs {
		if mm == nil {
			dst = append(dst, 0)
			continue
		}
		var err error
		if dst, err = appendNested(dst, func(b []byte) ([]byte, error) { return appendBody(b, mm, depth+1) }); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendState: Recv, Delivered, Records, Msgs, Applied.
func appendState(dst []byte, st *FlushState, depth int) ([]byte, error) {
	dst = appendUints(dst, st.Recv)
	dst = binary.AppendUvarint(dst, st.Delivered)
	dst = appendRecords(dst, st.Records)
	dst, err := appendMsgs(dst, st.Msgs, depth)
	return binary.AppendUvarint(dst, st.Applied), err
}

// appendDecision: UpTo, Base, Records, Msgs.
func appendDecision(dst []byte, d *Decision, depth int) ([]byte, error) {
	dst = appendUints(dst, d.UpTo)
	dst = binary.AppendUvarint(dst, d.Base)
	dst = appendRecords(dst, d.Records)
	return appendMsgs(dst, d.Msgs, depth)
}

// appendReq: Op, Group, Member, Target, View, Attempt.
func appendReq(dst []byte, r *OracleRequest) []byte {
	dst = append(dst, byte(r.Op))
	dst = appendString(dst, r.Group)
	dst = appendString(dst, r.Member)
	dst = appendString(dst, r.Target)
	dst = binary.AppendUvarint(dst, r.View)
	return binary.AppendUvarint(dst, r.Attempt)
}

// appendRecord: Group, View.ID, View.Members, Restart, change flag, then the change's Attempt, Next,
// Coordinator, Joiners.
func appendRecord(dst []byte, r *GroupRecord) []byte {
	dst = appendString(dst, r.Group)
	dst = binary.AppendUvarint(dst, r.View.ID)
	dst = appendStrings(dst, r.View.Members)
	dst = appendBool(dst, r.Restart)
	dst = appendBool(dst, r.Change != nil)
	if c := r.Change; c != nil {
		dst = binary.AppendUvarint(dst, c.Attempt)
		dst = appendStrings(dst, c.Next)
		dst = appendString(dst, c.Coordinator)
		dst = appendStrings(dst, c.Joiners)
	}
	return dst
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Unmarshal decodes what Marshal produced (or a version 1 JSON encoding); any other input yields an
// error wrapping ErrEncoding. m.Payload aliases b.
func (m *Message) Unmarshal(b []byte) error { return (*Decoder)(nil).Unmarshal(b, m) }

// maxInterned bounds a Decoder's string table.
const maxInterned = 4096

// Decoder decodes messages like Message.Unmarshal and interns the strings it decodes (group and member
// names repeat in every message), up to maxInterned distinct strings. The zero value is ready to use; a
// nil *Decoder does not intern. A Decoder is not safe for concurrent use.
type Decoder struct {
	strs map[string]string
}

// Unmarshal decodes b into m (see Message.Unmarshal). m.Payload aliases b.
func (d *Decoder) Unmarshal(b []byte, m *Message) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty message", ErrEncoding)
	}
	switch b[0] {
	case wireVersion:
	case wireVersionJSON:
		return unmarshalJSON(b[1:], m)
	default:
		return fmt.Errorf("%w: bad version byte %d", ErrEncoding, b[0])
	}
	r := reader{b: b[1:], d: d}
	var out Message
	r.body(&out, 0)
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return r.err
	}
	*m = out
	return nil
}

func unmarshalJSON(b []byte, m *Message) error {
	var out Message
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	if out.Kind == 0 || int(out.Kind) >= len(kindNames) {
		return fmt.Errorf("%w: unknown kind %d", ErrEncoding, out.Kind)
	}
	// The JSON decoder checks less than the binary one (nested messages, e.g. those of a FlushState):
	// a JSON message is accepted only if its binary encoding decodes, so every accepted message can be
	// re-encoded (FuzzUnmarshal found a nested message of kind 0 that could not).
	b2, err := out.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	var check Message
	if err := check.Unmarshal(b2); err != nil {
		return err
	}
	*m = out
	return nil
}

// reader consumes an encoding; the first error sticks and every later read returns zero values.
type reader struct {
	b   []byte
	d   *Decoder
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrEncoding}, args...)...)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int {
	v := r.varint()
	if int64(int(v)) != v {
		r.fail("int %d out of range", v)
		return 0
	}
	return int(v)
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad bool")
	return false
}

// count reads a length or element count, each element taking at least minBytes of what remains.
func (r *reader) count(minBytes int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minBytes) {
		r.fail("count %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

// bytes returns a length-prefixed byte string aliasing the input (nil when empty).
func (r *reader) bytes() []byte {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	v := r.bytes()
	if len(v) == 0 {
		return ""
	}
	d := r.d
	if d == nil {
		return string(v)
	}
	if s, ok := d.strs[string(v)]; ok {
		return s
	}
	s := string(v)
	if len(d.strs) < maxInterned {
		if d.strs == nil {
			d.strs = make(map[string]string)
		}
		d.strs[s] = s
	}
	return s
}

func (r *reader) uints() []uint64 {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	v := make([]uint64, n)
	for i := range v {
		v[i] = r.uvarint()
	}
	return v
}

func (r *reader) strings() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = r.string()
	}
	return v
}

// nested returns a reader over a length-prefixed nested structure and skips it here.
func (r *reader) nested() *reader {
	return &reader{b: r.bytes(), d: r.d}
}

// done checks that a nested reader consumed its input exactly and propagates its error.
func (r *reader) done(sub *reader) {
	if sub.err == nil && len(sub.b) != 0 {
		sub.fail("%d trailing bytes in a nested structure", len(sub.b))
	}
	if sub.err != nil && r.err == nil {
		r.err = sub.err
		r.b = nil
	}
}

func (r *reader) body(m *Message, depth int) {
	if depth > maxNestDepth {
		r.fail("messages nested deeper than %d", maxNestDepth)
		return
	}
	m.Kind = MsgKind(r.byte())
	if r.err == nil && (m.Kind == 0 || int(m.Kind) >= len(kindNames)) {
		r.fail("unknown kind %d", m.Kind)
	}
	mask := r.uvarint()
	if mask>>fieldCount != 0 {
		r.fail("unknown fields %#x", mask)
	}
	for rest := mask; rest != 0 && r.err == nil; rest &= rest - 1 {
		switch bits.TrailingZeros64(rest) {
		case fGroup:
			m.Group = r.string()
		case fFrom:
			m.From = r.string()
		case fTo:
			m.To = r.string()
		case fView:
			m.View = r.uvarint()
		case fAttempt:
			m.Attempt = r.uvarint()
		case fIdx:
			m.Idx = r.uvarint()
		case fTag:
			m.Tag.Sender = r.string()
			m.Tag.Seq = r.uvarint()
		case fFlavour:
			m.Flavour = Flavour(r.byte())
		case fPayload:
			m.Payload = r.bytes()
		case fAckReq:
			m.AckReq = true
		case fReplay:
			m.Replay = true
		case fRView:
			m.RView = r.uvarint()
		case fRPos:
			m.RPos = r.uvarint()
		case fRRank:
			m.RRank = r.int()
		case fRIdx:
			m.RIdx = r.uvarint()
		case fRBallot:
			m.RBallot = r.uvarint()
		case fQueryID:
			m.QueryID = r.uvarint()
		case fReply:
			m.Reply = ReplyKind(r.byte())
		case fReason:
			m.Reason = r.string()
		case fPos:
			m.Pos = r.uvarint()
		case fRefs:
			if n := r.count(2); n > 0 {
				m.Refs = make([]Ref, n)
				for i := range m.Refs {
					m.Refs[i] = Ref{Rank: r.int(), Idx: r.uvarint()}
				}
			}
		case fFrontier:
			m.Frontier = r.uints()
		case fDelivered:
			m.Delivered = r.uvarint()
		case fOrderKnown:
			m.OrderKnown = r.uvarint()
		case fHeld:
			m.Held = r.uvarint()
		case fAllHeld:
			m.AllHeld = r.uvarint()
		case fState:
			sub := r.nested()
			m.State = sub.state(depth)
			r.done(sub)
		case fDecision:
			sub := r.nested()
			m.Decision = sub.decision(depth)
			r.done(sub)
		case fChunkSeq:
			m.ChunkSeq = r.uvarint()
		case fLast:
			m.Last = true
		case fP2PSeq:
			m.P2PSeq = r.uvarint()
		case fReq:
			sub := r.nested()
			m.Req = sub.req()
			r.done(sub)
		case fRecord:
			sub := r.nested()
			m.Record = sub.record()
			r.done(sub)
		case fLeader:
			m.Leader = true
		}
	}
}

func (r *reader) records() []OrderRecord {
	n := r.count(4)
	if n == 0 {
		return nil
	}
	v := make([]OrderRecord, n)
	for i := range v {
		v[i] = OrderRecord{Pos: r.uvarint(), Ref: Ref{Rank: r.int(), Idx: r.uvarint()}, Attempt: r.uvarint()}
	}
	return v
}

func (r *reader) msgs(depth int) []*Message {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	v := make([]*Message, n)
	for i := range v {
		sub := r.nested()
		if len(sub.b) > 0 {
			v[i] = &Message{}
			sub.body(v[i], depth+1)
		}
		r.done(sub)
	}
	return v
}

func (r *reader) state(depth int) *FlushState {
	st := &FlushState{Recv: r.uints(), Delivered: r.uvarint(), Records: r.records()}
	st.Msgs = r.msgs(depth)
	st.Applied = r.uvarint()
	return st
}

func (r *reader) decision(depth int) *Decision {
	d := &Decision{UpTo: r.uints(), Base: r.uvarint(), Records: r.records()}
	d.Msgs = r.msgs(depth)
	return d
}

func (r *reader) req() *OracleRequest {
	return &OracleRequest{Op: OracleOp(r.byte()), Group: r.string(), Member: r.string(), Target: r.string(),
		View: r.uvarint(), Attempt: r.uvarint()}
}

func (r *reader) record() *GroupRecord {
	rec := &GroupRecord{Group: r.string()}
	rec.View.ID = r.uvarint()
	rec.View.Members = r.strings()
	rec.Restart = r.bool()
	if r.bool() {
		c := &ViewChange{Attempt: r.uvarint(), Next: r.strings(), Coordinator: r.string()}
		c.Joiners = r.strings()
		rec.Change = c
	}
	return rec
}
