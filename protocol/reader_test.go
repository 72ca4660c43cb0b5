package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// chunkReader returns at most n bytes per Read, then io.EOF, and counts its Read calls.
type chunkReader struct {
	data  []byte
	n     int
	reads int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	c.reads++
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.data))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

// parseInput decodes a transcript's input: each line is Go-escaped text (as inside "…"), and the
// lines are concatenated without separators; "repeat N text" repeats the escaped text N times.
func parseInput(t testing.TB, input string) []byte {
	var out []byte
	for _, line := range strings.Split(input, "\n") {
		if line == "" {
			continue
		}
		rep := 1
		if rest, ok := strings.CutPrefix(line, "repeat "); ok {
			n, text, _ := strings.Cut(rest, " ")
			var err error
			if rep, err = strconv.Atoi(n); err != nil {
				t.Fatalf("bad repeat count in %q", line)
			}
			line = text
		}
		s, err := strconv.Unquote(`"` + line + `"`)
		if err != nil {
			t.Fatalf("bad escaped line %q: %v", line, err)
		}
		out = append(out, bytes.Repeat([]byte(s), rep)...)
	}
	return out
}

// transcript reads every command from data with reads of at most chunk bytes and renders them, with
// the final error; it also returns the largest buffer capacity seen and the number of Read calls.
func transcript(data []byte, chunk int, lim Limits, unauth bool) (out string, maxCap, reads int) {
	cr := &chunkReader{data: data, n: chunk}
	r := NewReader(cr, lim)
	if unauth {
		r.SetAuthenticated(false)
	}
	var sb strings.Builder
	maxCap = r.BufferCap()
	for i := 0; ; i++ {
		if i > len(data)+10 {
			sb.WriteString("too many commands: the reader does not make progress\n")
			break
		}
		args, err := r.ReadCommand()
		maxCap = max(maxCap, r.BufferCap())
		if err != nil {
			switch {
			case err == io.EOF && r.Buffered() == 0:
				sb.WriteString("eof\n")
			case err == io.EOF:
				fmt.Fprintf(&sb, "eof with %d bytes buffered\n", r.Buffered())
			default:
				fmt.Fprintf(&sb, "error: %v\n", err)
			}
			break
		}
		sb.WriteString("command:")
		for _, a := range args {
			if len(a) > 40 {
				fmt.Fprintf(&sb, " %q…(%d bytes)", a[:20], len(a))
			} else {
				fmt.Fprintf(&sb, " %q", a)
			}
		}
		sb.WriteString("\n")
	}
	return sb.String(), maxCap, cr.reads
}

func limitsFromArgs(t testing.TB, td *datadriven.TestData) (Limits, bool) {
	lim := DefaultLimits()
	set := func(key string, dst *int64) {
		if td.HasArg(key) {
			var v int
			td.ScanArgs(t, key, &v)
			*dst = int64(v)
		}
	}
	set("maxbulk", &lim.MaxBulkBytes)
	lim.UnauthMaxBulkBytes = min(lim.UnauthMaxBulkBytes, lim.MaxBulkBytes)
	set("qlimit", &lim.MaxQueryBufferBytes)
	set("uqlimit", &lim.UnauthMaxQueryBufferBytes)
	if td.HasArg("maxinline") {
		td.ScanArgs(t, "maxinline", &lim.MaxInlineBytes)
	}
	if err := lim.Validate(); err != nil {
		t.Fatalf("%s: %v", td.Pos, err)
	}
	return lim, td.HasArg("unauth")
}

// TestReaderTranscript runs testdata/reader.txt. Every case is read with reads of 1, 2, 3, 7, 64
// and 1<<20 bytes; all must give the same transcript (so partial reads are covered everywhere).
func TestReaderTranscript(t *testing.T) {
	datadriven.RunTest(t, "testdata/reader.txt", func(t *testing.T, td *datadriven.TestData) string {
		if td.Cmd != "read" {
			t.Fatalf("unknown directive %s", td.Cmd)
		}
		lim, unauth := limitsFromArgs(t, td)
		data := parseInput(t, td.Input)
		var first string
		for _, chunk := range []int{1 << 20, 1, 2, 3, 7, 64} {
			out, _, reads := transcript(data, chunk, lim, unauth)
			if bound := len(data)/min(chunk, minReadBytes) + 4; reads > bound { // each read has room for minReadBytes
				t.Errorf("%s chunk %d: %d reads, more than %d", td.Pos, chunk, reads, bound)
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("%s: reads of %d bytes give\n%s\nbut one read gives\n%s", td.Pos, chunk, out, first)
			}
		}
		return first
	})
}

func TestProtocolErrorAs(t *testing.T) {
	r := NewReader(strings.NewReader("*1\r\n$-1\r\n"), DefaultLimits())
	_, err := r.ReadCommand()
	var pv ProtocolError
	var pp *ProtocolError
	if !errors.As(err, &pv) || !errors.As(err, &pp) || pv.Msg != msgInvalidBulkLen || pp.Msg != msgInvalidBulkLen {
		t.Fatalf("errors.As on %v: %v %v", err, pv, pp)
	}
	if err.Error() != "ERR Protocol error: invalid bulk length" {
		t.Fatal(err)
	}
	if _, err2 := r.ReadCommand(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
}
