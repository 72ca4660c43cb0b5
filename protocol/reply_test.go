package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"+OK\r\n", "OK", nil},
		{"-ERR bad\r\n", "(error) ERR bad", nil},
		{":42\r\n", "(integer) 42", nil},
		{":-9223372036854775808\r\n", "(integer) -9223372036854775808", nil},
		{"$5\r\nhe\r\no\r\n", `"he\r\no"`, nil},
		{"$0\r\n\r\n", `""`, nil},
		{"$-1\r\n", "(nil)", nil},
		{"*-1\r\n", "(nil array)", nil},
		{"*0\r\n", "[]", nil},
		{"*3\r\n:1\r\n*1\r\n+a\r\n$-1\r\n", "[(integer) 1, [a], (nil)]", nil},
		{"", "", io.EOF},
		{"+OK", "", io.ErrUnexpectedEOF},
		{"*2\r\n:1\r\n", "", io.ErrUnexpectedEOF},
		{"$3\r\nab", "", io.ErrUnexpectedEOF},
		{"+OK\n", "", ErrReplyFormat},
		{"\r\n", "", ErrReplyFormat},
		{"?x\r\n", "", ErrReplyFormat},
		{":1.5\r\n", "", ErrReplyFormat},
		{":99999999999999999999\r\n", "", ErrReplyFormat},
		{"$-2\r\n", "", ErrReplyFormat},
		{"$3\r\nfooXY", "", ErrReplyFormat},
		{"*-2\r\n", "", ErrReplyFormat},
		{"+a\rb\r\n", "", ErrReplyFormat},
		{"$9223372036854775807\r\n", "", ErrReplyTooLarge},
		{"*9223372036854775807\r\n", "", ErrReplyTooLarge},
		{strings.Repeat("*1\r\n", MaxReplyDepth+1) + ":1\r\n", "", ErrReplyTooLarge},
		{"+" + strings.Repeat("x", MaxReplyLineBytes+1) + "\r\n", "", ErrReplyTooLarge},
	} {
		v, err := ReadReply(bufio.NewReader(strings.NewReader(tc.in)))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%.40q: error %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || v.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, v, err, tc.want)
			continue
		}
		if enc := AppendValue(nil, v); string(enc) != tc.in {
			t.Errorf("%q encodes back as %q", tc.in, enc)
		}
	}
	long := "+" + strings.Repeat("y", 10000) + "\r\n"
	v, err := ReadReply(bufio.NewReader(strings.NewReader(long)))
	if err != nil || len(v.Str) != 10000 {
		t.Errorf("long status line: %v", err)
	}
}

// TestReadReplyBulkIsNotPreallocated: a huge announced bulk that never arrives costs only what
// arrived, not the announced size.
func TestReadReplyBulkIsNotPreallocated(t *testing.T) {
	in := "$500000000\r\n" + strings.Repeat("x", 100)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("a 500 MB bulk header with 100 bytes of data allocated %d bytes", d)
	}
	big := bytes.Repeat([]byte("b"), 3<<20)
	enc := AppendValue(nil, Value{Kind: Bulk, Str: big})
	v, err := ReadReply(bufio.NewReader(bytes.NewReader(enc)))
	if err != nil || !bytes.Equal(v.Str, big) {
		t.Fatalf("3 MiB bulk: %v", err)
	}
}

func TestAppendValueAndNullArray(t *testing.T) {
	v := Value{Kind: Array, Array: []Value{{Kind: SimpleString, Str: []byte("OK")}, {Kind: NullArray},
		{Kind: Null}, {Kind: Integer, Int: -3}, {Kind: Error, Str: []byte("ERR x")}, {Kind: Bulk, Str: []byte("b")}}}
	want := "*6\r\n+OK\r\n*-1\r\n$-1\r\n:-3\r\n-ERR x\r\n$1\r\nb\r\n"
	if got := string(AppendValue(nil, v)); got != want {
		t.Errorf("got %q", got)
	}
	if got := string(AppendNullArray([]byte("x"))); got != "x*-1\r\n" {
		t.Error(got)
	}
	defer func() {
		if recover() == nil {
			t.Error("AppendValue of a zero Value did not panic")
		}
	}()
	AppendValue(nil, Value{})
}
