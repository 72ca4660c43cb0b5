package group

import (
	"encoding/binary"
	"fmt"
)

/*
Envelope: the payload of one peer-transport frame (server/peer adds length, version and CRC-32C around
it). One envelope carries one or more encoded messages of one kind for one group, so a Ready's messages
to one node leave in one frame:

	byte 0      envelopeVersion (1)
	byte 1      kind: 1 = member message (vsync.Message to a group member),
	                  2 = oracle request (vsync.Message to the node's membership replica),
	                  3 = raft message (raftpb.Message between membership replicas)
	uvarint     len(group), then the group name (empty for oracle requests and raft messages)
	uvarint     count (1 … maxEnvelopeMessages)
	count ×     uvarint len(body), then body: vsync.Message.Marshal for kinds 1 and 2, proto for kind 3

Invariants: decodeEnvelope accepts exactly what encodeEnvelope produces (a fuzz target checks it never
panics and that what it accepts re-encodes to the same bytes); every length is bounded by what remains of
the input, so a corrupt envelope cannot make the decoder allocate more than the input's size.
*/

// envelopeVersion is the first byte of every envelope.
const envelopeVersion = 1

// Kind is what an envelope carries.
type Kind uint8

// Envelope kinds.
const (
	KindMember Kind = iota + 1 // vsync.Message to a member of Group
	KindOracle                 // vsync.Message (MsgOracleRequest) to the node's membership replica
	KindRaft                   // raftpb.Message between membership replicas
)

// maxEnvelopeMessages bounds the messages in one envelope.
const maxEnvelopeMessages = 1 << 16

// maxGroupNameBytes bounds a group name.
const maxGroupNameBytes = 256

// envelope is one decoded envelope; Bodies alias the input buffer.
type envelope struct {
	Kind   Kind
	Group  string
	Bodies [][]byte
}

// encodeEnvelope appends the envelope of bodies to dst.
func encodeEnvelope(dst []byte, kind Kind, group string, bodies [][]byte) []byte {
	dst = appendEnvelopeHeader(dst, kind, group, len(bodies))
	for _, b := range bodies {
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

// envelopeHeaderMaxBytes bounds the header appendEnvelopeHeader writes.
const envelopeHeaderMaxBytes = 2 + 2*binary.MaxVarintLen64 + maxGroupNameBytes

// appendEnvelopeHeader appends everything of an envelope before its bodies (version, kind, group and
// count); the caller appends count bodies, each as uvarint length and bytes.
func appendEnvelopeHeader(dst []byte, kind Kind, group string, count int) []byte {
	if count == 0 || count > maxEnvelopeMessages || len(group) > maxGroupNameBytes {
		panic(fmt.Sprintf("group: envelope of %d messages, group %d bytes", count, len(group)))
	}
	dst = append(dst, envelopeVersion, byte(kind))
	dst = binary.AppendUvarint(dst, uint64(len(group)))
	dst = append(dst, group...)
	return binary.AppendUvarint(dst, uint64(count))
}

// decodeEnvelope parses b; the bodies alias b.
func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) < 2 || b[0] != envelopeVersion {
		return e, fmt.Errorf("%w: bad version", ErrEnvelope)
	}
	e.Kind = Kind(b[1])
	if e.Kind < KindMember || e.Kind > KindRaft {
		return e, fmt.Errorf("%w: unknown kind %d", ErrEnvelope, b[1])
	}
	rest := b[2:]
	next := func(what string, limit uint64) (uint64, error) {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad %s", ErrEnvelope, what)
		}
		rest = rest[n:]
		// Every length, and the count (each message takes at least its length byte), fits in what remains.
		if limit = min(limit, uint64(len(rest))); v > limit {
			return 0, fmt.Errorf("%w: %s %d exceeds %d", ErrEnvelope, what, v, limit)
		}
		return v, nil
	}
	gl, err := next("group length", maxGroupNameBytes)
	if err != nil {
		return e, err
	}
	e.Group = string(rest[:gl])
	rest = rest[gl:]
	cnt, err := next("count", maxEnvelopeMessages)
	if err != nil {
		return e, err
	}
	if cnt == 0 {
		return e, fmt.Errorf("%w: no messages", ErrEnvelope)
	}
	e.Bodies = make([][]byte, 0, cnt)
	for i := uint64(0); i < cnt; i++ {
		l, err := next("body length", 1<<62)
		if err != nil {
			return e, err
		}
		e.Bodies = append(e.Bodies, rest[:l:l])
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return e, fmt.Errorf("%w: %d trailing bytes", ErrEnvelope, len(rest))
	}
	return e, nil
}
