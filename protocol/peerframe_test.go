package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// peerChunkReader hands out its data at most n bytes per Read, then io.EOF.
type peerChunkReader struct {
	data []byte
	n    int
}

func (r *peerChunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

func TestPeerFrameLayout(t *testing.T) {
	got := AppendPeerFrame([]byte("x"), 0x80, []byte("hello"))
	want := []byte{'x', 0x56, 0x46, 1, 0x80, 0, 0, 0, 5}
	want = binary.BigEndian.AppendUint32(want, PeerFrameChecksum([]byte("hello")))
	want = append(want, "hello"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("frame = %x, want %x", got, want)
	}
	// CRC-32C check value of "123456789" (RFC 3720 B.4).
	if c := PeerFrameChecksum([]byte("123456789")); c != 0xe3069283 {
		t.Fatalf("crc32c = %#x", c)
	}
}

func TestPeerFrameRoundTrip(t *testing.T) {
	payloads := [][]byte{nil, {}, []byte("a"), bytes.Repeat([]byte{7}, peerFrameChunkBytes),
		bytes.Repeat([]byte("xyz"), peerFrameChunkBytes+5), bytes.Repeat([]byte{1}, 5*peerFrameChunkBytes+3)}
	var stream []byte
	for i, p := range payloads {
		stream = AppendPeerFrame(stream, byte(i), p)
	}
	for _, chunk := range []int{1, 7, 4096, len(stream)} {
		fr := NewPeerFrameReader(&peerChunkReader{data: stream, n: chunk}, 8*peerFrameChunkBytes)
		for i, p := range payloads {
			f, err := fr.Next()
			if err != nil {
				t.Fatalf("chunk %d frame %d: %v", chunk, i, err)
			}
			if f.Flags != byte(i) || !bytes.Equal(f.Payload, p) || len(f.Payload) != len(p) {
				t.Fatalf("chunk %d frame %d: flags %d, %d bytes; want %d, %d bytes", chunk, i, f.Flags, len(f.Payload), i, len(p))
			}
		}
		if _, err := fr.Next(); err != io.EOF {
			t.Fatalf("chunk %d: after the last frame got %v, want io.EOF", chunk, err)
		}
	}
}

func TestPeerFrameErrors(t *testing.T) {
	good := AppendPeerFrame(nil, 0, []byte("payload"))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"empty stream", nil, 100, io.EOF},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 'R'; return b }), 100, ErrPeerFrameMagic},
		{"bad magic second byte", mutate(func(b []byte) []byte { b[1] ^= 1; return b }), 100, ErrPeerFrameMagic},
		{"version 0", mutate(func(b []byte) []byte { b[2] = 0; return b }), 100, ErrPeerFrameVersion},
		{"version 2", mutate(func(b []byte) []byte { b[2] = 2; return b }), 100, ErrPeerFrameVersion},
		{"too large for max", good, 6, ErrPeerFrameTooLarge},
		{"length beyond uint32 max payload", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[4:8], 0xffffffff)
			return b
		}), PeerFrameMaxPayloadBytes, ErrPeerFrameTooLarge},
		{"checksum of header corrupt", mutate(func(b []byte) []byte { b[8] ^= 0x10; return b }), 100, ErrPeerFrameChecksum},
		{"payload bit flip", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), 100, ErrPeerFrameChecksum},
		{"truncated header", good[:5], 100, io.ErrUnexpectedEOF},
		{"truncated payload", good[:len(good)-1], 100, io.ErrUnexpectedEOF},
		{"truncated large payload", AppendPeerFrame(nil, 0, make([]byte, 3*peerFrameChunkBytes))[:2*peerFrameChunkBytes],
			4 * peerFrameChunkBytes, io.ErrUnexpectedEOF},
		{"exactly max is fine, then EOF", good, 7, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := NewPeerFrameReader(bytes.NewReader(tc.in), tc.max)
			var err error
			for range 3 {
				if _, err = fr.Next(); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if _, again := fr.Next(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
		})
	}
}

// A header declaring a huge payload that never arrives must not make the reader allocate that much.
func TestPeerFrameNoUpfrontAllocation(t *testing.T) {
	hdr := binary.BigEndian.AppendUint16(nil, PeerFrameMagic)
	hdr = append(hdr, PeerFrameVersion, 0)
	hdr = binary.BigEndian.AppendUint32(hdr, PeerFrameMaxPayloadBytes)
	hdr = binary.BigEndian.AppendUint32(hdr, 0)
	in := append(hdr, make([]byte, 1000)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewPeerFrameReader(bytes.NewReader(in), PeerFrameMaxPayloadBytes).Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 4*peerFrameChunkBytes {
		t.Fatalf("allocated %d bytes for a 1 KiB stream declaring 1 GiB", d)
	}
}

func TestPeerHandshake(t *testing.T) {
	h := PeerHandshake{NodeID: 3, Incarnation: 1<<40 + 5, ClusterID: 0xfeedface}
	fr := NewPeerFrameReader(bytes.NewReader(AppendPeerHandshake(nil, h)), 1024)
	f, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePeerHandshake(f)
	if err != nil || got != h {
		t.Fatalf("got %+v, %v; want %+v", got, err, h)
	}
	// Later versions may append fields: extra bytes are ignored.
	ext := PeerFrame{Flags: PeerFlagHandshake, Payload: append(bytes.Clone(f.Payload), 9, 9)}
	if got, err := ParsePeerHandshake(ext); err != nil || got != h {
		t.Fatalf("extended: got %+v, %v", got, err)
	}
	for _, bad := range []PeerFrame{
		{Flags: 0, Payload: f.Payload},
		{Flags: PeerFlagHandshake, Payload: f.Payload[:PeerHandshakeBytes-1]},
		{Flags: PeerFlagHandshake},
	} {
		if _, err := ParsePeerHandshake(bad); !errors.Is(err, ErrPeerFrameHandshake) {
			t.Fatalf("ParsePeerHandshake(%+v) err = %v", bad, err)
		}
	}
}

func TestPeerFrameReaderBadMax(t *testing.T) {
	for _, m := range []int{-1, PeerFrameMaxPayloadBytes + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("NewPeerFrameReader(max %d) did not panic", m)
				}
			}()
			NewPeerFrameReader(bytes.NewReader(nil), m)
		}()
	}
}

// FuzzPeerFrameReader: on any input the reader never panics and returns only frames that re-encode to
// exactly the bytes it consumed; and any payload written with AppendPeerFrame reads back unchanged.
func FuzzPeerFrameReader(f *testing.F) {
	f.Add(AppendPeerFrame(nil, 0, []byte("hello")), uint8(0), uint16(100))
	f.Add(AppendPeerHandshake(AppendPeerFrame(nil, 0, nil), PeerHandshake{NodeID: 1, ClusterID: 2}), uint8(3), uint16(64))
	f.Add([]byte{0x56, 0x46, 1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, uint8(1), uint16(0xffff))
	f.Add([]byte{0x56, 0x46, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(0), uint16(10))
	f.Add(AppendPeerFrame(nil, PeerFlagHandshake, bytes.Repeat([]byte{0xab}, 300))[:200], uint8(5), uint16(1000))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, maxPayload uint16) {
		n := int(chunk)
		if n == 0 {
			n = len(data) + 1
		}
		// Property 1: arbitrary bytes.
		fr := NewPeerFrameReader(&peerChunkReader{data: data, n: n}, int(maxPayload))
		consumed := 0
		for {
			fm, err := fr.Next()
			if err != nil {
				if err == io.EOF && consumed != len(data) {
					t.Fatalf("io.EOF after %d of %d bytes", consumed, len(data))
				}
				break
			}
			if len(fm.Payload) > int(maxPayload) {
				t.Fatalf("payload of %d bytes exceeds max %d", len(fm.Payload), maxPayload)
			}
			enc := AppendPeerFrame(nil, fm.Flags, fm.Payload)
			if !bytes.Equal(enc, data[consumed:consumed+len(enc)]) {
				t.Fatalf("frame at %d does not re-encode to its input bytes", consumed)
			}
			consumed += len(enc)
			if fm.Flags&PeerFlagHandshake != 0 {
				_, _ = ParsePeerHandshake(fm) // must not panic
			}
		}
		// Property 2: data as a payload round-trips.
		if len(data) <= int(maxPayload) {
			enc := AppendPeerFrame(nil, chunk, data)
			fm, err := NewPeerFrameReader(&peerChunkReader{data: enc, n: n}, int(maxPayload)).Next()
			if err != nil || fm.Flags != chunk || !bytes.Equal(fm.Payload, data) {
				t.Fatalf("round trip of %d bytes: flags %d, err %v", len(data), fm.Flags, err)
			}
		}
	})
}
