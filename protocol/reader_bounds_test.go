package protocol

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// hostileRows are the RESP rows of resp-bad-inputs.md, each followed by endless junk where Redis
// would keep reading (rows 3–19 must end with an error; 1, 2, 11, 16 are valid).
var hostileRows = []struct {
	row  int
	in   string
	junk string // repeated after in until the reader returns an error or the bound is hit
	want string // substring of the final error; "" when the input is fine and ends in EOF
	// maxCapBytes bounds the Reader's buffer capacity; 0 means the default bound.
	maxCapBytes int
}{
	{1, "\r\nPING\r\n", "", "", 0},
	{2, "*-1\r\n*0\r\n*-10\r\n*1\r\n$4\r\nPING\r\n", "", "", 0},
	{3, "*3000000000\r\n", "x", "invalid multibulk length", 0},
	{4, "*9223372036854775807\r\n", "x", "invalid multibulk length", 0},
	{4, "*99999999999999999999\r\n", "x", "invalid multibulk length", 0},
	{5, "*abc\r\n", "x", "invalid multibulk length", 0},
	{5, "*1\n$4\r\nPING\r\n", "", "invalid multibulk length", 0},
	{6, "*1\r\n$-1\r\n", "x", "invalid bulk length", 0},
	{6, "*1\r\n$-10\r\n", "x", "invalid bulk length", 0},
	{7, "*1\r\n$2000000000\r\n", "x", "invalid bulk length", defaultBufBytes},
	{8, "*1\r\n$9223372036854775807\r\nabc", "x", "invalid bulk length", 0},
	{9, "*1\r\n$99999999999999999999\r\n", "x", "invalid bulk length", 0},
	{10, "*1\r\nfoo\r\n", "x", "expected '$', got 'f'", 0},
	{10, "*1\r\n:5\r\n", "x", "expected '$', got ':'", 0},
	{11, "*1\r\n$4\r\nPINGxx\r\n", "", "", 0},
	{12, "set \"a\r\n", "x", "unbalanced quotes", 0},
	{13, "", "a", "too big inline request", 4 * 64 << 10},
	{14, "*", "1", "too big mbulk count string", 4 * 64 << 10},
	{15, "\x00", "payload\r\n", "too big inline request", 0},
	{15, "*\x00", "payload", "too big mbulk count string", 0},
	{15, "$\x00", "payload", "too big inline request", 0},
	{16, "%1\r\n+PING\r\n", "", "", 0},
	{17, "*11\r\n", "x", "unauthenticated multibulk length", 0},
	{18, "*1\r\n$20000\r\n", "x", "unauthenticated bulk length", 0},
	// Row 19: an unauthenticated flood of maximal valid commands (10 bulks of 16384 bytes) is read
	// command by command; the buffer never holds more than about one command, far under 1 MiB.
	{19, "", row19Unit, "flood", 512 << 10},
}

var row19Unit = string(AppendCommand(nil, slices.Repeat([][]byte{bytes.Repeat([]byte("f"), 16384)}, 10)...))

// endlessReader yields prefix, then junk forever, at most chunk bytes per Read, and counts reads and
// bytes; it fails the test (by returning an error) past maxReads.
type endlessReader struct {
	prefix, junk []byte
	chunk        int
	reads, bytes int
	maxReads     int
}

var errTooManyReads = errors.New("test: too many reads: the reader does not stop")

func (e *endlessReader) Read(p []byte) (int, error) {
	e.reads++
	if e.reads > e.maxReads {
		return 0, errTooManyReads
	}
	n := 0
	for n < len(p) && n < e.chunk {
		if len(e.prefix) > 0 {
			k := copy(p[n:min(len(p), e.chunk)], e.prefix)
			e.prefix = e.prefix[k:]
			n += k
			continue
		}
		if len(e.junk) == 0 {
			if n == 0 {
				return 0, io.EOF
			}
			break
		}
		p[n] = e.junk[(e.bytes+n)%len(e.junk)]
		n++
	}
	e.bytes += n
	return n, nil
}

// TestHostileRowsBounded feeds every row, then endless junk, in reads of 1 byte and of 4 KiB: the
// reader must stop with the expected answer after a bounded number of reads (2 MiB of data at most)
// with a bounded buffer (stated per row: 16 KiB for row 7, 256 KiB for rows 13 and 14, 2 MiB
// otherwise).
func TestHostileRowsBounded(t *testing.T) {
	for _, tc := range hostileRows {
		for _, chunk := range []int{1, 4096} {
			if chunk == 1 && tc.row == 19 {
				continue // 1 MiB one byte at a time is slow and adds nothing
			}
			e := &endlessReader{prefix: []byte(tc.in), junk: []byte(tc.junk), chunk: chunk,
				maxReads: (2<<20)/chunk + 100}
			r := NewReader(e, DefaultLimits())
			if tc.row >= 17 {
				r.SetAuthenticated(false)
			}
			maxCap := 0
			var err error
			for i := 0; i < 1<<20 && err == nil; i++ {
				_, err = r.ReadCommand()
				maxCap = max(maxCap, r.BufferCap())
			}
			want := tc.want
			switch {
			case want == "flood":
				if err != errTooManyReads {
					t.Errorf("row %d: flood of valid commands ended with %v", tc.row, err)
				}
			case err == errTooManyReads:
				t.Errorf("row %d %q chunk %d: no answer after %d reads", tc.row, tc.in, chunk, e.reads)
			case want == "" && err != io.EOF:
				t.Errorf("row %d %q chunk %d: %v, want EOF", tc.row, tc.in, chunk, err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("row %d %q chunk %d: %v, want %q", tc.row, tc.in, chunk, err, want)
			}
			bound := tc.maxCapBytes
			if bound == 0 {
				bound = 2 << 20
			}
			if maxCap > bound {
				t.Errorf("row %d chunk %d: buffer grew to %d bytes, bound %d", tc.row, chunk, maxCap, bound)
			}
		}
	}
}

// TestQueryBufferLimitUnauthenticated: an unauthenticated client whose command exceeds 1 MiB (here
// made possible by raising the per-bulk limit) is cut off with ErrQueryBufferLimit, and the buffer
// stays near the cap.
func TestQueryBufferLimitUnauthenticated(t *testing.T) {
	lim := DefaultLimits()
	lim.UnauthMaxBulkBytes = 4 << 20
	e := &endlessReader{prefix: []byte("*1\r\n$4000000\r\n"), junk: []byte("z"), chunk: 1 << 16, maxReads: 1000}
	r := NewReader(e, lim)
	r.SetAuthenticated(false)
	_, err := r.ReadCommand()
	if err != ErrQueryBufferLimit {
		t.Fatalf("got %v", err)
	}
	if r.BufferCap() > 1<<20+maxReadChunkBytes {
		t.Errorf("buffer %d bytes", r.BufferCap())
	}
	if e.bytes > 1<<20+(1<<16) {
		t.Errorf("read %d bytes before stopping", e.bytes)
	}
}

// TestLargeBulkGrowsIncrementallyAndShrinks: a 3 MB bulk is not allocated on its header, the buffer
// grows with the data, and it shrinks back after the command.
func TestLargeBulkGrowsIncrementallyAndShrinks(t *testing.T) {
	const size = 3_000_000
	var in []byte
	in = append(in, "*2\r\n$3\r\nSET\r\n$7\r\n3000000\r\n"...)
	in = append(in, "*2\r\n$3\r\nSET\r\n$7000000\r\n"...) // header of a bulk never sent in full
	cr := &chunkReader{data: in, n: 1 << 20}
	r := NewReader(cr, DefaultLimits())
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatal(err)
	}
	if r.BufferCap() > defaultBufBytes {
		t.Errorf("the header of a 7 MB bulk grew the buffer to %d bytes", r.BufferCap())
	}

	big := AppendCommand(nil, []byte("SET"), []byte("k"), bytes.Repeat([]byte("v"), size))
	big = append(big, "*1\r\n$4\r\nPING\r\n"...)
	cr = &chunkReader{data: big, n: 64 << 10}
	r = NewReader(cr, DefaultLimits())
	caps := []int{}
	r.BeforeBlock = func() error { caps = append(caps, r.BufferCap()); return nil }
	args, err := r.ReadCommand()
	if err != nil || len(args) != 3 || len(args[2]) != size {
		t.Fatalf("%v %d", err, len(args))
	}
	if r.BufferCap() > 2*size {
		t.Errorf("buffer %d for a %d-byte command", r.BufferCap(), size)
	}
	for i := 1; i < len(caps); i++ {
		if caps[i] > 2*caps[i-1] {
			t.Errorf("buffer jumped from %d to %d", caps[i-1], caps[i])
		}
	}
	args, err = r.ReadCommand()
	if err != nil || string(args[0]) != "PING" {
		t.Fatal(err)
	}
	if r.BufferCap() != defaultBufBytes {
		t.Errorf("buffer did not shrink: %d", r.BufferCap())
	}
}

// TestEmptyReadsDoNotSpin: a reader that returns (0, nil) forever gets io.ErrNoProgress.
func TestEmptyReadsDoNotSpin(t *testing.T) {
	n := 0
	r := NewReader(readerFunc(func(p []byte) (int, error) { n++; return 0, nil }), DefaultLimits())
	if _, err := r.ReadCommand(); err != io.ErrNoProgress || n > maxEmptyReads {
		t.Fatalf("%v after %d reads", err, n)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestBeforeBlock is called only when no complete command is buffered, and its error is returned.
func TestBeforeBlock(t *testing.T) {
	in := "PING\r\nPING\r\nPING\r\n"
	r := NewReader(&chunkReader{data: []byte(in), n: len(in)}, DefaultLimits())
	calls := 0
	r.BeforeBlock = func() error { calls++; return nil }
	for i := 0; i < 3; i++ {
		if _, err := r.ReadCommand(); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("BeforeBlock called %d times for one batch", calls)
	}
	boom := errors.New("flush failed")
	r.BeforeBlock = func() error { return boom }
	if _, err := r.ReadCommand(); err != boom {
		t.Errorf("got %v", err)
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	var zero Limits
	err := zero.Validate()
	if !errors.Is(err, ErrInvalidLimits) {
		t.Fatal(err)
	}
	for _, f := range []string{"MaxBulkBytes", "MaxInlineBytes", "MaxMultibulkLen", "UnauthMaxMultibulkLen",
		"UnauthMaxBulkBytes", "MaxQueryBufferBytes", "UnauthMaxQueryBufferBytes"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("Validate of zero Limits does not report %s: %v", f, err)
		}
	}
}

// TestReadCommandSteadyStateAllocs: small pipelined commands cost no allocation.
func TestReadCommandSteadyStateAllocs(t *testing.T) {
	cmd := AppendCommand(nil, []byte("SET"), []byte("key:000123"), []byte("value-value"))
	cmd = append(cmd, "GET key:000123\r\n"...)
	rr := &repeatReader{unit: cmd}
	r := NewReader(rr, DefaultLimits())
	for i := 0; i < 1000; i++ { // warm up
		if _, err := r.ReadCommand(); err != nil {
			t.Fatal(err)
		}
	}
	if allocs := testing.AllocsPerRun(10000, func() { _, _ = r.ReadCommand() }); allocs != 0 {
		t.Errorf("%.2f allocations per command", allocs)
	}
}

// repeatReader yields unit forever, filling each Read.
type repeatReader struct {
	unit []byte
	off  int
}

func (rr *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], rr.unit[rr.off:])
		n += k
		rr.off = (rr.off + k) % len(rr.unit)
	}
	return n, nil
}

func BenchmarkReadCommand(b *testing.B) {
	for _, bc := range []struct {
		name string
		unit []byte
	}{
		{"multibulk-SET", AppendCommand(nil, []byte("SET"), []byte("key:000123"), []byte("xxxxxxxxxxxxxxxx"))},
		{"multibulk-GET", AppendCommand(nil, []byte("GET"), []byte("key:000123"))},
		{"inline-GET", []byte("GET key:000123\r\n")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(&repeatReader{unit: bc.unit}, DefaultLimits())
			b.SetBytes(int64(len(bc.unit)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadCommand(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRoundTripProperty: random argument vectors encoded as multibulk (and, when representable,
// inline) are read back equal, across random read sizes, in pipelines.
func TestRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		var cmds [][][]byte
		var in []byte
		for c := 0; c < 1+rng.IntN(8); c++ {
			args := randomArgs(rng)
			cmds = append(cmds, args)
			if line, ok := inlineEncode(args); ok && rng.IntN(2) == 0 {
				in = append(in, line...)
			} else {
				in = AppendCommand(in, args...)
			}
		}
		r := NewReader(&randomChunkReader{data: in, rng: rng}, DefaultLimits())
		for i, want := range cmds {
			got, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("iter %d cmd %d: %v (input %q)", iter, i, err, in)
			}
			if !equalArgs(got, want) {
				t.Fatalf("iter %d cmd %d: got %q want %q (input %q)", iter, i, got, want, in)
			}
		}
		if _, err := r.ReadCommand(); err != io.EOF {
			t.Fatalf("iter %d: %v after the last command", iter, err)
		}
	}
}

func randomArgs(rng *rand.Rand) [][]byte {
	n := 1 + rng.IntN(6)
	args := make([][]byte, n)
	for i := range args {
		size := rng.IntN(20)
		if rng.IntN(20) == 0 {
			size = rng.IntN(100_000)
		}
		a := make([]byte, size)
		alphabet := "abc \"'\\\r\n\t\x00\xffxyz"
		for j := range a {
			if rng.IntN(3) == 0 {
				a[j] = alphabet[rng.IntN(len(alphabet))]
			} else {
				a[j] = byte('a' + rng.IntN(26))
			}
		}
		args[i] = a
	}
	return args
}

// inlineEncode quotes args for an inline request with "…" and \xHH escapes; it fails when the line
// would be too long or the vector cannot be expressed (an empty first argument is fine quoted).
func inlineEncode(args [][]byte) ([]byte, bool) {
	var b []byte
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, '"')
		for _, c := range a {
			if c == '"' || c == '\\' || c < ' ' || c >= 0x7f {
				b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			} else {
				b = append(b, c)
			}
		}
		b = append(b, '"')
	}
	if len(b) > 60_000 {
		return nil, false
	}
	return append(b, '\r', '\n'), true
}

func equalArgs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

type randomChunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (c *randomChunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), len(c.data), 1+c.rng.IntN(5000))
	if c.rng.IntN(4) == 0 {
		k = min(k, 1+c.rng.IntN(3))
	}
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}
