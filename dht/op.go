package dht

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadOp reports an operation or reply that does not decode.
var ErrBadOp = errors.New("dht: malformed operation")

// OpKind is the type of a replicated DHT operation.
type OpKind uint8

// Operation kinds.
const (
	OpWrite    OpKind = iota + 1 // commands that may write, applied by the replicas of their shards
	OpRead                       // commands read at one point of the total order (strict reads that cannot be local)
	OpCommit                     // the originator's notice that ops IDs were acknowledged (Send, FIFO)
	OpAnnounce                   // a member's client-facing address (Addr)
	OpReady                      // member Addr finished loading shard Shard (it may now donate it)
	OpChunk                      // point-to-point: chunk Seq of shard Shard's slice at view ID (Cmds); Last ends it
	OpQuery                      // an aggregation query (Cmds[0][0], JSON; Shard: the combining tree's fan-out)
	OpPartial                    // point-to-point: a combined partial (Cmds[0][0]) of query ID from Addr, for the parent in its tree
	OpHashGen                    // switch to hash generation ID and migrate the keys that change shard (rehash.go)
	OpMigrate                    // migration chunk of hash generation ID: source shard Shard's moved keys of slots Seq..IDs[0]-1 (Cmds); Last ends it
)

// Op is one replicated operation. Every member delivers it at the same point of the group's total
// order; NowMs, fixed by the originator, is the time every replica applies it at.
type Op struct {
	Kind  OpKind
	ID    uint64 // originator-unique (OpWrite, OpRead)
	NowMs int64
	Cmds  [][][]byte // OpWrite/OpRead: the commands, in order (one, or a MULTI/EXEC body, or MSET parts)
	IDs   []uint64   // OpCommit; OpWrite/OpRead: commit notices of the sender's earlier ops, piggybacked
	Addr  string     // OpAnnounce, OpReady (the member)
	Shard int        // OpReady, OpChunk: the shard; OpQuery: the combining tree's fan-out
	Seq   uint64     // OpChunk
	Last  bool       // OpChunk
	// Guards: OpWrite/OpRead: transactions whose commands run only if their watched keys did not
	// change (WATCH … EXEC, watch.go).
	Guards []Guard
	// LocalAck (OpWrite): the originator acknowledges the op at its own delivery, from its own
	// replica's answer, instead of collecting every replica's (Cluster.SetOwnAck says why that is
	// safe). Every member applies it only if the originator is a ready replica of every shard the
	// op touches; otherwise it is applied nowhere, and the originator learns so (applied false).
	// Replicas keep no pending marks for it: local reads wait for the read index instead.
	LocalAck bool
}

// Limits of the decoder (a peer is trusted, but a corrupt payload must not allocate without bound).
const (
	maxOpCmds = 1 << 20
	maxOpArgs = 1 << 20
)

// Encode appends the binary form of op to dst.
func (op *Op) Encode(dst []byte) []byte {
	dst = append(dst, 1, byte(op.Kind))
	dst = binary.AppendUvarint(dst, op.ID)
	dst = binary.AppendVarint(dst, op.NowMs)
	dst = binary.AppendUvarint(dst, uint64(len(op.Cmds)))
	for _, c := range op.Cmds {
		dst = binary.AppendUvarint(dst, uint64(len(c)))
		for _, a := range c {
			dst = binary.AppendUvarint(dst, uint64(len(a)))
			dst = append(dst, a...)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(op.IDs)))
	for _, id := range op.IDs {
		dst = binary.AppendUvarint(dst, id)
	}
	dst = binary.AppendUvarint(dst, uint64(len(op.Addr)))
	dst = append(dst, op.Addr...)
	dst = binary.AppendUvarint(dst, uint64(op.Shard))
	dst = binary.AppendUvarint(dst, op.Seq)
	flags := byte(0) // bit 0: Last; bit 1: LocalAck
	if op.Last {
		flags |= 1
	}
	if op.LocalAck {
		flags |= 2
	}
	dst = append(dst, flags)
	if len(op.Guards) == 0 {
		return dst // no guard: nothing more (the encoding of an op without guards did not change)
	}
	dst = binary.AppendUvarint(dst, uint64(len(op.Guards)))
	for _, g := range op.Guards {
		dst = binary.AppendUvarint(dst, uint64(g.First))
		dst = binary.AppendUvarint(dst, uint64(g.Count))
		dst = binary.AppendUvarint(dst, uint64(len(g.Watches)))
		for _, w := range g.Watches {
			dst = binary.AppendUvarint(dst, uint64(len(w.Key)))
			dst = append(dst, w.Key...)
			dst = binary.AppendUvarint(dst, w.Version)
			dst = binary.AppendUvarint(dst, w.View)
			dst = binary.AppendVarint(dst, w.DeadlineMs)
		}
	}
	return dst
}

// decoder reads the fields Encode wrote; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", ErrBadOp)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", ErrBadOp)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) count(limit int) int {
	v := d.uvarint()
	if d.err == nil && (v > uint64(limit) || v > uint64(len(d.b))+1) {
		d.err = fmt.Errorf("%w: count %d", ErrBadOp, v)
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: length %d beyond the payload", ErrBadOp, n)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

// guards decodes an op's guards; each must cover commands of the op (ncmds of them).
func (d *decoder) guards(ncmds int) []Guard {
	n := d.count(maxOpCmds)
	if d.err == nil && n == 0 {
		d.err = fmt.Errorf("%w: empty guard list", ErrBadOp)
	}
	var out []Guard
	for i := 0; i < n && d.err == nil; i++ {
		g := Guard{First: int(d.uvarint()), Count: int(d.uvarint())}
		if d.err == nil && (g.First > ncmds || g.Count > ncmds-g.First) {
			d.err = fmt.Errorf("%w: guard of commands %d+%d in an op of %d", ErrBadOp, g.First, g.Count, ncmds)
		}
		m := d.count(maxOpArgs)
		for j := 0; j < m && d.err == nil; j++ {
			w := Watch{Key: d.bytes()}
			w.Version = d.uvarint()
			w.View = d.uvarint()
			w.DeadlineMs = d.varint()
			g.Watches = append(g.Watches, w)
		}
		out = append(out, g)
	}
	return out
}

// DecodeOp decodes an operation. The result aliases b.
func DecodeOp(b []byte) (Op, error) {
	if len(b) < 2 || b[0] != 1 {
		return Op{}, fmt.Errorf("%w: unknown version", ErrBadOp)
	}
	op := Op{Kind: OpKind(b[1])}
	if op.Kind < OpWrite || op.Kind > OpMigrate {
		return Op{}, fmt.Errorf("%w: unknown kind %d", ErrBadOp, b[1])
	}
	d := &decoder{b: b[2:]}
	op.ID = d.uvarint()
	op.NowMs = d.varint()
	if n := d.count(maxOpCmds); n > 0 {
		op.Cmds = make([][][]byte, n)
		for i := range op.Cmds {
			m := d.count(maxOpArgs)
			if d.err != nil {
				break
			}
			op.Cmds[i] = make([][]byte, m)
			for j := range op.Cmds[i] {
				op.Cmds[i][j] = d.bytes()
			}
		}
	}
	if n := d.count(maxOpCmds); n > 0 {
		op.IDs = make([]uint64, n)
		for i := range op.IDs {
			op.IDs[i] = d.uvarint()
		}
	}
	op.Addr = string(d.bytes())
	op.Shard = int(d.uvarint())
	op.Seq = d.uvarint()
	if d.err == nil {
		if len(d.b) == 0 || d.b[0] > 3 {
			d.err = fmt.Errorf("%w: bad flags", ErrBadOp)
		} else {
			op.Last, op.LocalAck = d.b[0]&1 != 0, d.b[0]&2 != 0
			d.b = d.b[1:]
		}
	}
	if d.err == nil && len(d.b) != 0 {
		op.Guards = d.guards(len(op.Cmds))
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrBadOp, len(d.b))
	}
	if d.err != nil {
		return Op{}, d.err
	}
	if op.Shard < 0 || op.Shard > maxOpCmds {
		return Op{}, fmt.Errorf("%w: shard %d", ErrBadOp, op.Shard)
	}
	return op, nil
}

/*
Replies. A replica of shard s answers an OpWrite or OpRead with its shard and, for every command of the
op it executed (the part of it whose keys are in s; keyless commands go to every shard), the command's
index and RESP reply. The originator keeps one answer per shard (all replicas of a shard answer the
same bytes: replicated apply is deterministic) and merges the parts (MergeReply).
*/

// Part is one command's reply in a ShardReply.
type Part struct {
	Index int
	Reply []byte
}

// ShardReply is a replica's answer to an op.
type ShardReply struct {
	Shard int
	Parts []Part
	// Gen is the hash generation the op was applied under: the originator merges the parts with that
	// generation's router, which may be newer than the one it routed the op with.
	Gen uint64
}

// Encode appends the binary form of r to dst.
func (r *ShardReply) Encode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(r.Shard))
	dst = binary.AppendUvarint(dst, uint64(len(r.Parts)))
	for _, p := range r.Parts {
		dst = binary.AppendUvarint(dst, uint64(p.Index))
		dst = binary.AppendUvarint(dst, uint64(len(p.Reply)))
		dst = append(dst, p.Reply...)
	}
	return binary.AppendUvarint(dst, r.Gen)
}

// DecodeShardReply decodes a replica's answer. The result aliases b.
func DecodeShardReply(b []byte) (ShardReply, error) {
	d := &decoder{b: b}
	r := ShardReply{Shard: int(d.uvarint())}
	n := d.count(maxOpCmds)
	for i := 0; i < n && d.err == nil; i++ {
		idx := int(d.uvarint())
		r.Parts = append(r.Parts, Part{Index: idx, Reply: d.bytes()})
	}
	r.Gen = d.uvarint()
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrBadOp, len(d.b))
	}
	if d.err != nil {
		return ShardReply{}, d.err
	}
	if r.Shard < 0 || r.Shard > maxOpCmds {
		return ShardReply{}, fmt.Errorf("%w: shard %d", ErrBadOp, r.Shard)
	}
	for _, p := range r.Parts {
		if p.Index < 0 || p.Index > maxOpCmds {
			return ShardReply{}, fmt.Errorf("%w: index %d", ErrBadOp, p.Index)
		}
	}
	return r, nil
}
