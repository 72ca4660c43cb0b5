package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Kind is the type of a RESP2 reply.
type Kind uint8

// The RESP2 reply kinds.
const (
	SimpleString Kind = iota + 1 // +OK
	Error                        // -ERR …
	Integer                      // :1
	Bulk                         // $3 foo
	Array                        // *2 …
	Null                         // $-1 (nil bulk)
	NullArray                    // *-1
)

var kindNames = [...]string{"invalid", "simple-string", "error", "integer", "bulk", "array", "null", "null-array"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one RESP2 reply. Str holds the text of SimpleString, Error and Bulk; Int the value of
// Integer; Array the elements of Array.
type Value struct {
	Kind  Kind
	Str   []byte
	Int   int64
	Array []Value
}

// Bounds of ReadReply. A reply past them fails with ErrReplyTooLarge.
const (
	MaxReplyBulkBytes   = 512 << 20 // as proto-max-bulk-len
	MaxReplyLineBytes   = 64 << 10  // simple strings, errors and headers
	MaxReplyDepth       = 64        // nesting of arrays
	MaxReplyElements    = 1 << 24   // elements in the whole reply, all levels together
	replyPreallocElems  = 1024      // elements allocated before they arrive
	replyPreallocBytes  = 64 << 10  // bulk bytes allocated before they arrive
	replyBulkGrowFactor = 2
)

// Reply reader errors, wrapped with details.
var (
	ErrReplyFormat   = errors.New("protocol: malformed reply")
	ErrReplyTooLarge = errors.New("protocol: reply too large")
)

// ReadReply reads one RESP2 reply. It is bounded: bulks of at most MaxReplyBulkBytes (allocated as
// the data arrives, not up front), lines of at most MaxReplyLineBytes, MaxReplyDepth levels and
// MaxReplyElements elements in all. Lines must end in "\r\n"; simple strings and errors cannot hold
// '\r' or '\n'. A malformed reply wraps ErrReplyFormat; io errors pass through (io.ErrUnexpectedEOF
// when the stream ends inside a reply).
func ReadReply(br *bufio.Reader) (Value, error) {
	budget := MaxReplyElements
	return readValue(br, 0, &budget, true)
}

func readValue(br *bufio.Reader, depth int, budget *int, first bool) (Value, error) {
	line, err := readLine(br)
	if err != nil {
		if !first && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Value{}, err
	}
	if len(line) == 0 {
		return Value{}, fmt.Errorf("%w: empty line", ErrReplyFormat)
	}
	body := line[1:]
	switch line[0] {
	case '+', '-':
		if strings.ContainsAny(string(body), "\r\n") {
			return Value{}, fmt.Errorf("%w: newline inside a status line", ErrReplyFormat)
		}
		k := SimpleString
		if line[0] == '-' {
			k = Error
		}
		return Value{Kind: k, Str: append([]byte{}, body...)}, nil
	case ':':
		n, ok := parseInt(body)
		if !ok {
			return Value{}, fmt.Errorf("%w: bad integer %q", ErrReplyFormat, body)
		}
		return Value{Kind: Integer, Int: n}, nil
	case '$':
		n, ok := parseInt(body)
		switch {
		case !ok || n < -1:
			return Value{}, fmt.Errorf("%w: bad bulk length %q", ErrReplyFormat, body)
		case n == -1:
			return Value{Kind: Null}, nil
		case n > MaxReplyBulkBytes:
			return Value{}, fmt.Errorf("%w: bulk of %d bytes", ErrReplyTooLarge, n)
		}
		data, err := readBulk(br, int(n))
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: Bulk, Str: data}, nil
	case '*':
		n, ok := parseInt(body)
		switch {
		case !ok || n < -1:
			return Value{}, fmt.Errorf("%w: bad array length %q", ErrReplyFormat, body)
		case n == -1:
			return Value{Kind: NullArray}, nil
		case n > int64(*budget):
			return Value{}, fmt.Errorf("%w: more than %d elements", ErrReplyTooLarge, MaxReplyElements)
		case depth >= MaxReplyDepth:
			return Value{}, fmt.Errorf("%w: nested deeper than %d", ErrReplyTooLarge, MaxReplyDepth)
		}
		*budget -= int(n)
		elems := make([]Value, 0, min(int(n), replyPreallocElems))
		for i := int64(0); i < n; i++ {
			v, err := readValue(br, depth+1, budget, false)
			if err != nil {
				return Value{}, err
			}
			elems = append(elems, v)
		}
		return Value{Kind: Array, Array: elems}, nil
	}
	return Value{}, fmt.Errorf("%w: unknown type byte %q", ErrReplyFormat, line[0])
}

// readLine returns one line without its "\r\n"; the slice is valid until the next read of br.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == nil {
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return nil, fmt.Errorf("%w: line not ended by CRLF", ErrReplyFormat)
		}
		return line[:len(line)-2], nil
	}
	if err != bufio.ErrBufferFull {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	long := append([]byte{}, line...)
	for {
		line, err = br.ReadSlice('\n')
		long = append(long, line...)
		if len(long) > MaxReplyLineBytes+2 {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrReplyTooLarge, MaxReplyLineBytes)
		}
		switch err {
		case nil:
			if long[len(long)-2] != '\r' {
				return nil, fmt.Errorf("%w: line not ended by CRLF", ErrReplyFormat)
			}
			return long[:len(long)-2], nil
		case bufio.ErrBufferFull:
		case io.EOF:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// readBulk reads n bytes and the "\r\n" after them, growing its buffer as data arrives.
func readBulk(br *bufio.Reader, n int) ([]byte, error) {
	data := make([]byte, 0, min(n, replyPreallocBytes))
	for len(data) < n {
		if len(data) == cap(data) {
			grown := make([]byte, len(data), min(n, replyBulkGrowFactor*cap(data)))
			copy(grown, data)
			data = grown
		}
		m, err := io.ReadFull(br, data[len(data):cap(data)])
		data = data[:len(data)+m]
		if err != nil {
			return nil, unexpected(err)
		}
	}
	var crlf [2]byte
	if _, err := io.ReadFull(br, crlf[:]); err != nil {
		return nil, unexpected(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return nil, fmt.Errorf("%w: bulk not followed by CRLF", ErrReplyFormat)
	}
	return data, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// String returns a redis-cli-like debugging form: "OK", (error) ERR x, (integer) 1, "bulk" (Go
// quoted), (nil), (nil array), [a, b].
func (v Value) String() string {
	var sb strings.Builder
	v.writeTo(&sb)
	return sb.String()
}

func (v Value) writeTo(sb *strings.Builder) {
	switch v.Kind {
	case SimpleString:
		sb.WriteString(string(v.Str))
	case Error:
		sb.WriteString("(error) ")
		sb.WriteString(string(v.Str))
	case Integer:
		sb.WriteString("(integer) ")
		sb.WriteString(strconv.FormatInt(v.Int, 10))
	case Bulk:
		sb.WriteString(strconv.Quote(string(v.Str)))
	case Null:
		sb.WriteString("(nil)")
	case NullArray:
		sb.WriteString("(nil array)")
	case Array:
		sb.WriteByte('[')
		for i, e := range v.Array {
			if i > 0 {
				sb.WriteString(", ")
			}
			e.writeTo(sb)
		}
		sb.WriteByte(']')
	default:
		sb.WriteString("(" + v.Kind.String() + ")")
	}
}
