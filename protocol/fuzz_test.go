package protocol

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// seedInputs are the RESP rows of resp-bad-inputs.md and some valid traffic.
func seedInputs() [][]byte {
	seeds := [][]byte{
		[]byte("\r\nPING\r\n"), []byte("*-1\r\n*0\r\n*-10\r\n*1\r\n$4\r\nPING\r\n"),
		[]byte("*3000000000\r\n"), []byte("*9223372036854775807\r\n"), []byte("*99999999999999999999\r\n"),
		[]byte("*abc\r\n"), []byte("*1\n$4\r\nPING\r\n"), []byte("*1\r\n$-1\r\n"), []byte("*1\r\n$-10\r\n"),
		[]byte("*1\r\n$2000000000\r\n"), []byte("*1\r\n$9223372036854775807\r\nabc"),
		[]byte("*1\r\n$99999999999999999999\r\n"), []byte("*1\r\nfoo\r\n"), []byte("*1\r\n:5\r\n"),
		[]byte("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"), []byte("*1\r\n$4\r\nPINGxx\r\n"),
		[]byte("set \"a\r\n"), []byte("set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n"), []byte("\x00payload\n"),
		[]byte("*\x00payload"), []byte("$\x00payload"), []byte("%1\r\n+PING\r\n"), []byte("*11\r\n"),
		[]byte("*1\r\n$20000\r\n"), AppendCommand(nil, []byte("SET"), []byte("k\r\n"), []byte("")),
	}
	return seeds
}

// FuzzReadCommand: on any input the reader never panics and stops within a bounded number of reads;
// every command it returns, re-encoded as RESP, reads back equal.
func FuzzReadCommand(f *testing.F) {
	for _, s := range seedInputs() {
		f.Add(s, uint8(1), false)
		f.Add(s, uint8(0), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, unauth bool) {
		n := int(chunk)
		if n == 0 {
			n = len(data) + 1
		}
		cr := &chunkReader{data: data, n: n}
		r := NewReader(cr, DefaultLimits())
		r.SetAuthenticated(!unauth)
		var cmds [][][]byte
		for {
			args, err := r.ReadCommand()
			if err != nil {
				break
			}
			if len(args) == 0 {
				t.Fatal("empty command returned")
			}
			cp := make([][]byte, len(args))
			for i, a := range args {
				cp[i] = bytes.Clone(a)
			}
			cmds = append(cmds, cp)
			if len(cmds) > len(data) {
				t.Fatal("more commands than input bytes")
			}
		}
		if bound := len(data)/min(n, minReadBytes) + 4; cr.reads > bound {
			t.Fatalf("%d reads for %d bytes in chunks of %d", cr.reads, len(data), n)
		}
		var enc []byte
		for _, c := range cmds {
			enc = AppendCommand(enc, c...)
		}
		r2 := NewReader(bytes.NewReader(enc), DefaultLimits())
		for i, want := range cmds {
			got, err := r2.ReadCommand()
			if err != nil || !equalArgs(got, want) {
				t.Fatalf("command %d: re-read %q, %v; want %q", i, got, err, want)
			}
		}
		if _, err := r2.ReadCommand(); err != io.EOF {
			t.Fatalf("after re-read: %v", err)
		}
	})
}

// FuzzReadReply: ReadReply never panics; a reply it accepts encodes back (AppendValue) to bytes that
// read back to the same value and re-encode identically.
func FuzzReadReply(f *testing.F) {
	for _, s := range seedInputs() {
		f.Add(s)
	}
	for _, s := range []string{"+OK\r\n", "-ERR x\r\n", ":-9223372036854775808\r\n", "$-1\r\n", "*-1\r\n",
		"$3\r\nfoo\r\n", "*2\r\n*1\r\n:1\r\n$0\r\n\r\n", "*0\r\n", "$2\r\nfoo\r\n", "*1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ReadReply(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		enc := AppendValue(nil, v)
		v2, err := ReadReply(bufio.NewReader(bytes.NewReader(enc)))
		if err != nil {
			t.Fatalf("re-read of %q: %v", enc, err)
		}
		if enc2 := AppendValue(nil, v2); !bytes.Equal(enc, enc2) || v.String() != v2.String() {
			t.Fatalf("round trip: %q -> %q", enc, enc2)
		}
		if !bytes.HasPrefix(data, enc) {
			t.Fatalf("accepted %q but encodes back as %q", data, enc)
		}
	})
}
