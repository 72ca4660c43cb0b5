package protocol

import (
	"bytes"
	"io"
)

// Buffer sizing. The buffer starts at defaultBufBytes (Redis's PROTO_IOBUF_LEN), doubles while one
// command needs more room, and goes back to defaultBufBytes once a command larger than
// shrinkAboveBytes has been consumed and little data is left over.
const (
	defaultBufBytes    = 16 << 10
	minReadBytes       = 4 << 10
	maxReadChunkBytes  = 16 << 10 // slack above the query buffer limit, for reading one byte past it
	shrinkAboveBytes   = 64 << 10
	defaultArgsCap     = 16
	shrinkArgsAbove    = 1024 // Redis allocates argv for at most 1024 arguments up front
	maxEmptyReads      = 100  // consecutive (0, nil) reads before io.ErrNoProgress, as bufio
	requestKindUnknown = 0
	requestInline      = 1
	requestMultibulk   = 2
)

// Reader reads client requests (RESP multibulk and inline commands) with Redis 7's limits and
// error texts. It is not safe for concurrent use.
//
// Fidelity to Redis 7.0 networking.c (processInlineBuffer, processMultibulkBuffer):
//   - a request starting with '*' is multibulk, anything else inline;
//   - line ends are searched as strchr does, so a NUL byte before the terminator means the line never
//     ends and the client is cut off by the size limit (the "protocol desync" regression test);
//   - header lines end at '\r' and the next byte is skipped unchecked; a bulk's two trailing bytes
//     are skipped unchecked;
//   - numbers are parsed as string2ll (no '+', no leading zero, no overflow).
//
// Deliberate differences: Redis checks its size limits after reads of up to 16 KiB, so whether a
// line a little over 64 KiB is refused depends on how the bytes arrive; here the cut-off is exact
// and independent of read sizes (it is what Redis does when bytes arrive one at a time). The query
// buffer limit applies to the bytes of one incomplete command: the Reader reads only when no
// complete command is buffered, and never more than its free space, so pipelined traffic beyond one
// command stays in the socket (TCP backpressure) instead of in memory.
//
// Buffer invariants (indices into buf):
//
//	0 <= start <= end <= len(buf) == cap(buf)
//	buf[start:end] is data read from rd and not yet returned as commands (Buffered()).
//	The current, incomplete command begins at start; every offset in parseState and spans is relative
//	to start, so compaction (moving buf[start:end] to buf[0:]) and growth keep them valid.
//	Parsing only looks at buf[start : start+qlimit] (the query buffer window), so a command longer
//	than the query buffer limit can never complete: it fails with ErrQueryBufferLimit as soon as more
//	than qlimit bytes of it are buffered, whatever the sizes of the reads that brought them.
//	Line searches resume where they stopped (parseState.scanned), so a line dribbled in one byte per
//	Read costs linear, not quadratic, work; every Read either adds bytes or counts towards
//	io.ErrNoProgress, and each call either consumes bytes, reads, or returns: the Reader never spins.
//	The buffer never holds more than qlimit + maxReadChunkBytes bytes, and never more than about
//	twice what one command needs: a bulk length is checked before anything is allocated for it.
type Reader struct {
	// BeforeBlock, when non-nil, is called just before the Reader would block on rd.Read because no
	// complete command is buffered (the server flushes its pipelined replies there). An error from it
	// is returned by ReadCommand.
	BeforeBlock func() error

	rd     io.Reader
	lim    Limits
	authed bool

	buf        []byte
	start, end int

	st      parseState
	spans   []argSpan
	args    [][]byte
	readErr error // error from rd, returned once the buffered commands are exhausted
	failErr error // sticky protocol or limit error
}

// parseState is the progress of parsing the command that begins at Reader.start.
type parseState struct {
	kind     uint8 // requestKindUnknown, requestInline, requestMultibulk
	pos      int   // bytes of the command fully parsed so far
	scanned  int   // bytes after pos already searched for the line terminator without success
	sawNUL   bool  // a NUL precedes any terminator in the current line: it never ends (strchr)
	argsLeft int64 // multibulk: arguments still to read; 0 before the header is parsed
	bulkLen  int64 // multibulk: length of the bulk being read, or -1 before its "$N" line
}

// NewReader returns a Reader of rd with the given limits, which must pass Validate (NewReader panics
// otherwise: limits are the caller's configuration, checked once at start-up). The client starts
// authenticated; call SetAuthenticated(false) to apply the unauthenticated limits.
func NewReader(rd io.Reader, lim Limits) *Reader {
	if err := lim.Validate(); err != nil {
		panic(err)
	}
	return &Reader{
		rd:     rd,
		lim:    lim,
		authed: true,
		buf:    make([]byte, defaultBufBytes),
		st:     parseState{bulkLen: -1},
		spans:  make([]argSpan, 0, defaultArgsCap),
		args:   make([][]byte, 0, defaultArgsCap),
	}
}

// SetAuthenticated switches between the unauthenticated limits (ok false) and the normal ones. Call it
// between commands.
func (r *Reader) SetAuthenticated(ok bool) { r.authed = ok }

// Buffered returns the number of bytes read from rd and not yet returned as commands.
func (r *Reader) Buffered() int { return r.end - r.start }

// BufferCap returns the capacity of the Reader's buffer in bytes (for tests and metrics).
func (r *Reader) BufferCap() int { return len(r.buf) }

// ReadCommand returns the next command's arguments. The slices alias the Reader's buffer and are
// valid only until the next call. Empty inline lines and "*0", "*-1", "*-N" headers produce no
// command (they are skipped). Errors: *ProtocolError (reply with it, then close), ErrQueryBufferLimit
// (close without a reply), an error from BeforeBlock, or the error of the underlying reader (io.EOF
// included, passed through unchanged; Buffered() > 0 then means a command was cut short). After a
// *ProtocolError or ErrQueryBufferLimit every later call returns the same error.
func (r *Reader) ReadCommand() (args [][]byte, err error) {
	if r.failErr != nil {
		return nil, r.failErr
	}
	r.reclaim()
	emptyReads := 0
	for {
		if r.start < r.end {
			done, err := r.parse()
			if err != nil {
				r.failErr = err
				return nil, err
			}
			if done {
				n := r.st.pos
				r.st = parseState{bulkLen: -1}
				if len(r.spans) == 0 { // empty inline line or "*N" with N <= 0: skip
					r.start += n
					continue
				}
				args := r.args[:0]
				for _, s := range r.spans {
					args = append(args, r.buf[r.start+s.start:r.start+s.end:r.start+s.end])
				}
				r.args = args
				r.spans = r.spans[:0]
				r.start += n
				return args, nil
			}
			if int64(r.end-r.start) > r.queryLimit() {
				r.failErr = ErrQueryBufferLimit
				return nil, ErrQueryBufferLimit
			}
		}
		if r.readErr != nil {
			return nil, r.readErr
		}
		n, err := r.fill()
		if err != nil {
			return nil, err
		}
		if n == 0 && r.readErr == nil {
			emptyReads++
			if emptyReads >= maxEmptyReads {
				return nil, io.ErrNoProgress
			}
		} else {
			emptyReads = 0
		}
	}
}

// queryLimit is the query buffer limit that applies now.
func (r *Reader) queryLimit() int64 {
	if r.authed {
		return r.lim.MaxQueryBufferBytes
	}
	return r.lim.UnauthMaxQueryBufferBytes
}

// reclaim runs at the start of ReadCommand, when the previous command's arguments are dead: it
// rewinds an empty buffer, and gives back a buffer (or argument slice) grown for a large command.
func (r *Reader) reclaim() {
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	if len(r.buf) > shrinkAboveBytes && r.end-r.start <= defaultBufBytes/2 {
		nb := make([]byte, defaultBufBytes)
		r.end = copy(nb, r.buf[r.start:r.end])
		r.start = 0
		r.buf = nb
	}
	if cap(r.args) > shrinkArgsAbove {
		r.args = make([][]byte, 0, defaultArgsCap)
		r.spans = make([]argSpan, 0, defaultArgsCap)
	}
}

// fill makes room and reads once from rd, after calling BeforeBlock. It returns the number of bytes
// read; a read error is kept in readErr (the bytes that came with it are parsed first).
func (r *Reader) fill() (int, error) {
	r.makeRoom()
	if r.BeforeBlock != nil {
		if err := r.BeforeBlock(); err != nil {
			return 0, err
		}
	}
	n, err := r.rd.Read(r.buf[r.end:])
	if n < 0 || n > len(r.buf)-r.end {
		panic("protocol: reader returned an impossible count")
	}
	r.end += n
	if err != nil {
		r.readErr = err
	}
	return n, nil
}

// makeRoom ensures buf has at least one free byte after end, preferably minReadBytes: it compacts
// when the unconsumed data is small, else grows the buffer by doubling, never beyond what the
// current command is known to need (when a bulk length is known) and never beyond the query buffer
// limit plus maxReadChunkBytes.
func (r *Reader) makeRoom() {
	if len(r.buf)-r.end >= minReadBytes {
		return
	}
	used := r.end - r.start
	if used+minReadBytes <= len(r.buf) {
		copy(r.buf, r.buf[r.start:r.end])
		r.start, r.end = 0, used
		return
	}
	newCap := 2 * len(r.buf)
	if need := r.knownNeed(); need > used && need < newCap {
		newCap = max(need, used+minReadBytes)
	}
	if limitCap := int(r.queryLimit()) + maxReadChunkBytes; newCap > limitCap {
		newCap = max(limitCap, used+1)
	}
	nb := make([]byte, newCap)
	copy(nb, r.buf[r.start:r.end])
	r.start, r.end = 0, used
	r.buf = nb
}

// knownNeed returns how many bytes the current command is known to need (through the end of the bulk
// being read), or 0 when unknown.
func (r *Reader) knownNeed() int {
	if r.st.kind == requestMultibulk && r.st.bulkLen >= 0 {
		return r.st.pos + int(r.st.bulkLen) + 2
	}
	return 0
}

// parse advances the state machine over the buffered bytes of the current command. It reports done
// when the command is complete (its spans are in r.spans, its length in r.st.pos).
func (r *Reader) parse() (done bool, err error) {
	window := r.buf[r.start:r.end]
	if q := r.queryLimit(); int64(len(window)) > q {
		window = window[:q]
	}
	if r.st.kind == requestKindUnknown {
		r.spans = r.spans[:0]
		if window[0] == '*' {
			r.st.kind = requestMultibulk
		} else {
			r.st.kind = requestInline
		}
	}
	if r.st.kind == requestInline {
		return r.parseInline(window)
	}
	return r.parseMultibulk(window)
}

// findLine searches b for the terminator of the line that begins at r.st.pos with Redis's rules:
// strchr semantics (a NUL byte ends the search: the line then never terminates), and the line may be
// at most MaxInlineBytes long (tooBig is the error message past that). needNext asks for one more
// byte after the terminator ("\r" then any byte, as networking.c skips it unchecked). It returns the
// terminator's offset in b, or -1 if the line is not complete yet.
func (r *Reader) findLine(b []byte, term byte, needNext bool, tooBig string) (int, error) {
	lineStart := r.st.pos
	limitEnd := min(len(b), lineStart+r.lim.MaxInlineBytes+1)
	if !r.st.sawNUL {
		from := lineStart + r.st.scanned
		seg := b[from:limitEnd]
		i := bytes.IndexByte(seg, term)
		nulSearch := seg
		if i >= 0 {
			nulSearch = seg[:i]
		}
		if bytes.IndexByte(nulSearch, 0) >= 0 {
			r.st.sawNUL = true
		} else if i >= 0 {
			idx := from + i
			if !needNext || idx+1 < len(b) {
				r.st.scanned = 0
				return idx, nil
			}
			r.st.scanned = idx - lineStart
			return -1, nil
		} else {
			r.st.scanned = limitEnd - lineStart
		}
	}
	if len(b)-lineStart > r.lim.MaxInlineBytes {
		return -1, &ProtocolError{Msg: tooBig}
	}
	return -1, nil
}

// parseInline parses an inline request: one line split by sdssplitargs.
func (r *Reader) parseInline(b []byte) (bool, error) {
	nl, err := r.findLine(b, '\n', false, msgTooBigInline)
	if nl < 0 {
		return false, err
	}
	lineEnd := nl
	if nl > 0 && b[nl-1] == '\r' {
		lineEnd--
	}
	spans, ok := splitInline(b[:lineEnd], r.spans[:0], 0)
	r.spans = spans
	if !ok {
		return false, &ProtocolError{Msg: msgUnbalancedQuotes}
	}
	r.st.pos = nl + 1
	return true, nil
}

// parseMultibulk parses "*N\r\n" then N times "$L\r\n<L bytes>\r\n", as processMultibulkBuffer does:
// the byte after each '\r' and the two bytes after each bulk are skipped unchecked.
func (r *Reader) parseMultibulk(b []byte) (bool, error) {
	st := &r.st
	if st.argsLeft == 0 {
		n, cr, ok := r.fastHeader(b)
		if cr < 0 {
			var err error
			if cr, err = r.findLine(b, '\r', true, msgTooBigMbulkCount); cr < 0 {
				return false, err
			}
			n, ok = parseInt(b[1:cr])
		}
		if !ok || n > r.lim.MaxMultibulkLen {
			return false, &ProtocolError{Msg: msgInvalidMultibulkLen}
		}
		if !r.authed && n > r.lim.UnauthMaxMultibulkLen {
			return false, &ProtocolError{Msg: msgUnauthMultibulkLen}
		}
		st.pos = cr + 2
		if n <= 0 {
			return true, nil
		}
		st.argsLeft = n
		st.bulkLen = -1
		r.spans = r.spans[:0]
	}
	for st.argsLeft > 0 {
		if st.bulkLen < 0 {
			n, cr, ok := r.fastHeader(b)
			slow := cr < 0
			if slow {
				var err error
				if cr, err = r.findLine(b, '\r', true, msgTooBigBulkCount); cr < 0 {
					return false, err
				}
			}
			if c := b[st.pos]; c != '$' {
				if c == '\r' || c == '\n' { // addReplyErrorFormat maps newlines to spaces
					c = ' '
				}
				return false, &ProtocolError{Msg: "expected '$', got '" + string([]byte{c}) + "'"}
			}
			if slow {
				n, ok = parseInt(b[st.pos+1 : cr])
			}
			if !ok || n < 0 || n > r.lim.MaxBulkBytes {
				return false, &ProtocolError{Msg: msgInvalidBulkLen}
			}
			if !r.authed && n > r.lim.UnauthMaxBulkBytes {
				return false, &ProtocolError{Msg: msgUnauthBulkLen}
			}
			st.pos = cr + 2
			st.bulkLen = n
		}
		if int64(len(b)-st.pos) < st.bulkLen+2 {
			return false, nil
		}
		end := st.pos + int(st.bulkLen)
		r.spans = append(r.spans, argSpan{st.pos, end})
		st.pos = end + 2
		st.bulkLen = -1
		st.argsLeft--
	}
	return true, nil
}

// fastHeader is the common case of a header line at r.st.pos: one byte ('*' or '$'), 1 to 18
// decimal digits without a leading zero (or a single "0"), '\r', and one more byte buffered, within
// MaxInlineBytes. It returns the value, the offset of the '\r' and true; or cr -1 when the line is
// anything else, and the caller takes the general path (findLine, parseInt), which gives the same
// answer for these lines.
func (r *Reader) fastHeader(b []byte) (n int64, cr int, ok bool) {
	i := r.st.pos + 1
	end := min(len(b)-1, i+18) // leave room for the byte after '\r'
	if r.st.scanned != 0 || r.st.sawNUL || i >= end {
		return 0, -1, false
	}
	start := i
	for ; i < end; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	if i == start || i == end || b[i] != '\r' || i-r.st.pos > r.lim.MaxInlineBytes ||
		(b[start] == '0' && i-start > 1) {
		return 0, -1, false
	}
	return n, i, true
}
