package protocol

/*
The peer frame codec: the framing of the node-to-node TCP transport (server/peer).

Wire layout of one frame (all integers big-endian):

	offset  size  field
	0       2     magic            0x56 0x46 ("VF")
	2       1     version          PeerFrameVersion (1)
	3       1     flags            PeerFlag… bits; 0 is an opaque data frame
	4       4     payload length   uint32, at most the reader's max payload size
	8       4     checksum         CRC-32C (Castagnoli) of the payload bytes only
	12      n     payload

A connection is a sequence of frames; nothing sits between them. The first frame each side sends is a
handshake (flags = PeerFlagHandshake) whose payload is a PeerHandshake:

	offset  size  field
	0       8     node id          the sender's NodeID
	8       8     incarnation      grows each time the sender's process restarts
	16      8     cluster id       both ends must agree, or the connection is refused
	24      …     reserved         ignored by this version (room for later fields)

Invariants of PeerFrameReader:
  - it returns a frame only when magic, version, length and checksum all hold; the first bad frame ends the
    stream: the reader returns the same error from then on (the connection must be closed: after a bad
    header there is no way to find the next frame boundary);
  - it allocates in proportion to the bytes actually received, never the declared length up front: a
    header that claims MaxPayloadBytes and then stalls costs at most peerFrameChunkBytes;
  - io.EOF is returned only at a frame boundary; a stream cut inside a frame is io.ErrUnexpectedEOF.
*/

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Peer frame constants.
const (
	// PeerFrameMagic is the first two bytes of every peer frame ("VF").
	PeerFrameMagic uint16 = 0x5646
	// PeerFrameVersion is the version byte this codec writes and accepts.
	PeerFrameVersion byte = 1
	// PeerFrameHeaderBytes is the size of the fixed frame header.
	PeerFrameHeaderBytes = 12
	// PeerFrameMaxPayloadBytes is the largest payload the length field can describe and the upper bound on
	// any reader's configured maximum (1 GiB; a uint32 could say 4 GiB, no peer message is that large).
	PeerFrameMaxPayloadBytes = 1 << 30
	// PeerHandshakeBytes is the size of the fields of a version-1 handshake payload.
	PeerHandshakeBytes = 24
)

// Peer frame flags.
const (
	// PeerFlagHandshake marks a handshake frame: its payload is a PeerHandshake.
	PeerFlagHandshake byte = 1 << 0
)

// peerFrameChunkBytes is how much payload buffer the reader allocates before it has seen that many
// bytes arrive; it then grows the buffer by doubling (bounded by the declared length).
const peerFrameChunkBytes = 64 << 10

// Peer frame errors. The reader wraps them with details; test with errors.Is.
var (
	ErrPeerFrameMagic     = errors.New("protocol: peer frame: bad magic")
	ErrPeerFrameVersion   = errors.New("protocol: peer frame: unsupported version")
	ErrPeerFrameTooLarge  = errors.New("protocol: peer frame: payload too large")
	ErrPeerFrameChecksum  = errors.New("protocol: peer frame: checksum mismatch")
	ErrPeerFrameHandshake = errors.New("protocol: peer frame: malformed handshake")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// PeerFrameChecksum returns the CRC-32C (Castagnoli) of payload, as stored in a frame header.
func PeerFrameChecksum(payload []byte) uint32 { return crc32.Checksum(payload, castagnoli) }

// AppendPeerFrame appends one frame carrying payload with the given flags to dst and returns the extended
// slice. It panics if payload is longer than PeerFrameMaxPayloadBytes (a caller bug: senders check sizes).
func AppendPeerFrame(dst []byte, flags byte, payload []byte) []byte {
	dst = AppendPeerFrameHeader(dst, flags, payload)
	return append(dst, payload...)
}

// AppendPeerFrameHeader appends only the 12-byte header of the frame that would carry payload, for
// writers that send the payload bytes separately (vectored writes). Same panic as AppendPeerFrame.
func AppendPeerFrameHeader(dst []byte, flags byte, payload []byte) []byte {
	if len(payload) > PeerFrameMaxPayloadBytes {
		panic(fmt.Sprintf("protocol: peer frame payload of %d bytes exceeds %d", len(payload), PeerFrameMaxPayloadBytes))
	}
	dst = binary.BigEndian.AppendUint16(dst, PeerFrameMagic)
	dst = append(dst, PeerFrameVersion, flags)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return binary.BigEndian.AppendUint32(dst, PeerFrameChecksum(payload))
}

// PeerFrame is one decoded frame.
type PeerFrame struct {
	// Flags are the frame's flag bits (PeerFlag…).
	Flags byte
	// Payload is the frame's payload, freshly allocated for this frame and owned by the caller.
	Payload []byte
}

// PeerFrameReader reads frames from a stream. It does no buffering of its own: give it a *bufio.Reader
// (or another buffered reader) when the source is a socket. It is not safe for concurrent use.
type PeerFrameReader struct {
	r               io.Reader
	maxPayloadBytes int
	hdr             [PeerFrameHeaderBytes]byte
	err             error // sticky: the first error ends the stream
}

// NewPeerFrameReader returns a reader of frames from r that refuses payloads longer than maxPayloadBytes
// (ErrPeerFrameTooLarge). It panics if maxPayloadBytes is not in 0..PeerFrameMaxPayloadBytes.
func NewPeerFrameReader(r io.Reader, maxPayloadBytes int) *PeerFrameReader {
	if maxPayloadBytes < 0 || maxPayloadBytes > PeerFrameMaxPayloadBytes {
		panic(fmt.Sprintf("protocol: peer frame max payload %d not in 0..%d", maxPayloadBytes, PeerFrameMaxPayloadBytes))
	}
	return &PeerFrameReader{r: r, maxPayloadBytes: maxPayloadBytes}
}

// Next reads the next frame. It returns io.EOF at a clean end of stream (between frames),
// io.ErrUnexpectedEOF inside a frame, a wrapped ErrPeerFrameMagic, ErrPeerFrameVersion,
// ErrPeerFrameTooLarge or ErrPeerFrameChecksum for a bad frame, or the source's error. After any error
// every later call returns the same error.
func (fr *PeerFrameReader) Next() (PeerFrame, error) {
	if fr.err != nil {
		return PeerFrame{}, fr.err
	}
	f, err := fr.next()
	if err != nil {
		fr.err = err
	}
	return f, err
}

func (fr *PeerFrameReader) next() (PeerFrame, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return PeerFrame{}, err // io.EOF only when no header byte arrived
	}
	h := fr.hdr[:]
	if m := binary.BigEndian.Uint16(h[0:2]); m != PeerFrameMagic {
		return PeerFrame{}, fmt.Errorf("%w: %#04x", ErrPeerFrameMagic, m)
	}
	if v := h[2]; v != PeerFrameVersion {
		return PeerFrame{}, fmt.Errorf("%w: %d (want %d)", ErrPeerFrameVersion, v, PeerFrameVersion)
	}
	flags := h[3]
	n := uint64(binary.BigEndian.Uint32(h[4:8]))
	if n > uint64(fr.maxPayloadBytes) {
		return PeerFrame{}, fmt.Errorf("%w: %d bytes (max %d)", ErrPeerFrameTooLarge, n, fr.maxPayloadBytes)
	}
	sum := binary.BigEndian.Uint32(h[8:12])
	payload, err := readGrowing(fr.r, int(n))
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return PeerFrame{}, err
	}
	if got := PeerFrameChecksum(payload); got != sum {
		return PeerFrame{}, fmt.Errorf("%w: header %#08x, payload %#08x", ErrPeerFrameChecksum, sum, got)
	}
	return PeerFrame{Flags: flags, Payload: payload}, nil
}

// readGrowing reads exactly n bytes, allocating at most peerFrameChunkBytes before data arrives and then
// at most twice what has arrived, so a lying length costs memory only in proportion to real bytes.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	if n <= peerFrameChunkBytes {
		buf := make([]byte, n)
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	buf := make([]byte, 0, peerFrameChunkBytes)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, min(cap(buf), n-len(buf)))...)[:len(buf)]
		}
		k, err := io.ReadFull(r, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// PeerHandshake is the payload of the handshake frame each side of a peer connection sends first.
type PeerHandshake struct {
	// NodeID is the sender's node id.
	NodeID uint64
	// Incarnation distinguishes restarts of the same node: a restarted process uses a larger value.
	Incarnation uint64
	// ClusterID names the cluster; a connection between different clusters is refused.
	ClusterID uint64
}

// AppendPeerHandshake appends a whole handshake frame (header and payload) carrying h to dst.
func AppendPeerHandshake(dst []byte, h PeerHandshake) []byte {
	var p [PeerHandshakeBytes]byte
	binary.BigEndian.PutUint64(p[0:8], h.NodeID)
	binary.BigEndian.PutUint64(p[8:16], h.Incarnation)
	binary.BigEndian.PutUint64(p[16:24], h.ClusterID)
	return AppendPeerFrame(dst, PeerFlagHandshake, p[:])
}

// ParsePeerHandshake decodes a handshake frame. It returns a wrapped ErrPeerFrameHandshake if the frame
// does not have the handshake flag or its payload is shorter than PeerHandshakeBytes; longer payloads
// are accepted and the extra bytes ignored (later versions may add fields).
func ParsePeerHandshake(f PeerFrame) (PeerHandshake, error) {
	if f.Flags&PeerFlagHandshake == 0 {
		return PeerHandshake{}, fmt.Errorf("%w: flags %#02x lack the handshake bit", ErrPeerFrameHandshake, f.Flags)
	}
	if len(f.Payload) < PeerHandshakeBytes {
		return PeerHandshake{}, fmt.Errorf("%w: %d-byte payload (want >= %d)", ErrPeerFrameHandshake, len(f.Payload), PeerHandshakeBytes)
	}
	p := f.Payload
	return PeerHandshake{
		NodeID:      binary.BigEndian.Uint64(p[0:8]),
		Incarnation: binary.BigEndian.Uint64(p[8:16]),
		ClusterID:   binary.BigEndian.Uint64(p[16:24]),
	}, nil
}
