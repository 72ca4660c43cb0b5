package difftest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Errors of the reply reader.
var (
	ErrBadReply = errors.New("difftest: malformed RESP reply")
)

// maxReplyDepth and maxReplyElems bound what ReadReply accepts.
const (
	maxReplyDepth = 8
	maxReplyElems = 1 << 20
	maxBulkBytes  = 64 << 20
)

// AppendCommand appends args as a RESP multibulk request.
func AppendCommand(dst []byte, args [][]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// ReadReply reads one complete RESP2 reply from r and returns its raw bytes.
func ReadReply(r *bufio.Reader) ([]byte, error) {
	return readReply(r, nil, 0)
}

func readReply(r *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > maxReplyDepth {
		return nil, ErrBadReply
	}
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: %q", ErrBadReply, line)
	}
	dst = append(dst, line...)
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':':
		return dst, nil
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 || n > maxBulkBytes {
			return nil, fmt.Errorf("%w: bulk length %q", ErrBadReply, body)
		}
		if n == -1 {
			return dst, nil
		}
		start := len(dst)
		dst = append(dst, make([]byte, n+2)...)
		if _, err := ioReadFull(r, dst[start:]); err != nil {
			return nil, err
		}
		if !bytes.HasSuffix(dst, []byte("\r\n")) {
			return nil, ErrBadReply
		}
		return dst, nil
	case '*':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 || n > maxReplyElems {
			return nil, fmt.Errorf("%w: array length %q", ErrBadReply, body)
		}
		for range max(n, 0) {
			if dst, err = readReply(r, dst, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: type byte %q", ErrBadReply, line[0])
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// value is a parsed reply: kind is the RESP type byte; str holds simple/error/integer text or bulk
// bytes; null marks $-1 / *-1; elems holds array elements.
type value struct {
	kind  byte
	str   []byte
	null  bool
	elems []value
}

func parseValue(b []byte) (value, []byte, error) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return value{}, nil, ErrBadReply
	}
	v := value{kind: b[0]}
	body, rest := b[1:i], b[i+2:]
	switch v.kind {
	case '+', '-', ':':
		v.str = body
		return v, rest, nil
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 {
			return value{}, nil, ErrBadReply
		}
		if n == -1 {
			v.null = true
			return v, rest, nil
		}
		if len(rest) < n+2 {
			return value{}, nil, ErrBadReply
		}
		v.str = rest[:n]
		return v, rest[n+2:], nil
	case '*':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 {
			return value{}, nil, ErrBadReply
		}
		if n == -1 {
			v.null = true
			return v, rest, nil
		}
		for range n {
			var e value
			if e, rest, err = parseValue(rest); err != nil {
				return value{}, nil, err
			}
			v.elems = append(v.elems, e)
		}
		return v, rest, nil
	}
	return value{}, nil, ErrBadReply
}

func (v value) append(dst []byte) []byte {
	switch v.kind {
	case '+', '-', ':':
		dst = append(dst, v.kind)
		dst = append(dst, v.str...)
		return append(dst, '\r', '\n')
	case '$':
		if v.null {
			return append(dst, "$-1\r\n"...)
		}
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(v.str)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, v.str...)
		return append(dst, '\r', '\n')
	case '*':
		if v.null {
			return append(dst, "*-1\r\n"...)
		}
		dst = append(dst, '*')
		dst = strconv.AppendInt(dst, int64(len(v.elems)), 10)
		dst = append(dst, '\r', '\n')
		for _, e := range v.elems {
			dst = e.append(dst)
		}
		return dst
	}
	panic("difftest: value of unknown kind")
}
