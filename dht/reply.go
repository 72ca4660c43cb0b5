package dht

import (
	"bytes"
	"fmt"
	"strconv"
)

// maxReplyDepth bounds array nesting in parseReply.
const maxReplyDepth = 8

// reply is one parsed RESP2 reply. kind is the type byte; str is the simple/error/integer text or the
// bulk bytes (aliasing the input); null marks $-1 and *-1.
type reply struct {
	kind  byte
	str   []byte
	null  bool
	elems []reply
}

// parseReply parses one RESP2 reply from b and returns the rest. It is the small parser the typed API
// needs (replies produced by shard, so only well-formed input is expected; anything else is ErrBadReply).
func parseReply(b []byte, depth int) (reply, []byte, error) {
	if depth > maxReplyDepth {
		return reply{}, nil, fmt.Errorf("%w: nested too deep", ErrBadReply)
	}
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return reply{}, nil, fmt.Errorf("%w: no line", ErrBadReply)
	}
	r := reply{kind: b[0]}
	body, rest := b[1:i], b[i+2:]
	switch r.kind {
	case '+', '-', ':':
		r.str = body
		return r, rest, nil
	case '$', '*':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 {
			return reply{}, nil, fmt.Errorf("%w: length %q", ErrBadReply, body)
		}
		if n == -1 {
			r.null = true
			return r, rest, nil
		}
		if r.kind == '$' {
			if len(rest) < n+2 || rest[n] != '\r' || rest[n+1] != '\n' {
				return reply{}, nil, fmt.Errorf("%w: short bulk", ErrBadReply)
			}
			r.str = rest[:n]
			return r, rest[n+2:], nil
		}
		if n > len(rest) {
			return reply{}, nil, fmt.Errorf("%w: short array", ErrBadReply)
		}
		r.elems = make([]reply, 0, n)
		for range n {
			var e reply
			if e, rest, err = parseReply(rest, depth+1); err != nil {
				return reply{}, nil, err
			}
			r.elems = append(r.elems, e)
		}
		return r, rest, nil
	}
	return reply{}, nil, fmt.Errorf("%w: type byte %q", ErrBadReply, r.kind)
}
