package shard

import (
	"math"
	"strconv"

	"github.com/tidwall/redcon"
)

// readHash looks key up for reading; wrong is true if it holds another type.
func (s *Store) readHash(key []byte, nowMs int64) (e *entry, wrong bool) {
	e = s.lookup(key, nowMs, true)
	if e != nil && e.kind != kindHash {
		return nil, true
	}
	return e, false
}

// writeHash is hashTypeLookupWriteOrCreate: the hash at key, created empty if missing.
func (s *Store) writeHash(key []byte, nowMs int64) (e *entry, wrong bool) {
	e = s.lookup(key, nowMs, false)
	if e == nil {
		e = &entry{kind: kindHash, hash: newHash()}
		s.add(key, e, nowMs)
		return e, false
	}
	if e.kind != kindHash {
		return nil, true
	}
	return e, false
}

func cmdHSet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	hmset := args[0][1]|0x20 != 's'
	if len(args)%2 == 1 {
		if hmset {
			return appendArityError(dst, "hmset")
		}
		return appendArityError(dst, "hset")
	}
	e, wrong := s.writeHash(args[1], nowMs)
	if wrong {
		return redcon.AppendError(dst, errWrongType)
	}
	e.hash.tryConversion(args[2:])
	created := int64(0)
	for i := 2; i < len(args); i += 2 {
		if e.hash.set(args[i], args[i+1]) {
			created++
		}
	}
	s.changed(e)
	if hmset {
		return redcon.AppendOK(dst)
	}
	return redcon.AppendInt(dst, created)
}

func cmdHSetNX(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.writeHash(args[1], nowMs)
	if wrong {
		return redcon.AppendError(dst, errWrongType)
	}
	if e.hash.has(args[2]) {
		return append(dst, replyZero...)
	}
	e.hash.tryConversion(args[2:4])
	e.hash.set(args[2], args[3])
	s.changed(e)
	return append(dst, replyOne...)
}

func cmdHGet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readHash(args[1], nowMs)
	if wrong {
		return redcon.AppendError(dst, errWrongType)
	}
	if e != nil {
		if v, ok := e.hash.get(args[2]); ok {
			return redcon.AppendBulk(dst, v)
		}
	}
	return redcon.AppendNull(dst)
}

func cmdHMGet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readHash(args[1], nowMs)
	if wrong {
		return redcon.AppendError(dst, errWrongType)
	}
	dst = redcon.AppendArray(dst, len(args)-2)
	for _, f := range args[2:] {
		if e != nil {
			if v, ok := e.hash.get(f); ok {
				dst = redcon.AppendBulk(dst, v)
				continue
			}
		}
		dst = redcon.AppendNull(dst)
	}
	return dst
}

func cmdHDel(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e := s.lookup(args[1], nowMs, false)
	if e == nil {
		return append(dst, replyZero...)
	}
	if e.kind != kindHash {
		return redcon.AppendError(dst, errWrongType)
	}
	n := int64(0)
	for _, f := range args[2:] {
		if e.hash.del(f) {
			n++
			if e.hash.len() == 0 {
				break
			}
		}
	}
	if e.hash.len() == 0 {
		s.remove(e)
	} else if n > 0 {
		s.changed(e)
	}
	return redcon.AppendInt(dst, n)
}

func cmdHLen(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readHash(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return append(dst, replyZero...)
	}
	return redcon.AppendInt(dst, int64(e.hash.len()))
}

func cmdHStrlen(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readHash(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return append(dst, replyZero...)
	}
	v, _ := e.hash.get(args[2])
	return redcon.AppendInt(dst, int64(len(v)))
}

func cmdHExists(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readHash(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil || !e.hash.has(args[2]):
		return append(dst, replyZero...)
	}
	return append(dst, replyOne...)
}

// hashList appends fields (keys), values (vals) or both, in the hash's order.
func (s *Store) hashList(dst []byte, key []byte, keys, vals bool, nowMs int64) []byte {
	e, wrong := s.readHash(key, nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return redcon.AppendArray(dst, 0)
	}
	h := e.hash
	n := h.len()
	if keys && vals {
		n *= 2
	}
	dst = redcon.AppendArray(dst, n)
	for f, v := range h.all() {
		if keys {
			dst = redcon.AppendBulk(dst, f)
		}
		if vals {
			dst = redcon.AppendBulk(dst, v)
		}
	}
	return dst
}

func cmdHKeys(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.hashList(dst, args[1], true, false, nowMs)
}

func cmdHVals(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.hashList(dst, args[1], false, true, nowMs)
}

func cmdHGetAll(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.hashList(dst, args[1], true, true, nowMs)
}

func cmdHIncrBy(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	incr, ok := parseInt(args[3])
	if !ok {
		return redcon.AppendError(dst, errNotInt)
	}
	e, wrong := s.writeHash(args[1], nowMs)
	if wrong {
		return redcon.AppendError(dst, errWrongType)
	}
	var v int64
	if cur, found := e.hash.get(args[2]); found {
		if v, ok = parseInt(cur); !ok {
			return redcon.AppendError(dst, "ERR hash value is not an integer")
		}
	}
	if (incr < 0 && v < 0 && incr < math.MinInt64-v) || (incr > 0 && v > 0 && incr > math.MaxInt64-v) {
		return redcon.AppendError(dst, errOverflow)
	}
	v += incr
	var buf [20]byte
	e.hash.set(args[2], strconv.AppendInt(buf[:0], v, 10))
	s.changed(e)
	return redcon.AppendInt(dst, v)
}

func cmdHIncrByFloat(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	incr, ok := parseLongDouble(args[3])
	if !ok {
		return redcon.AppendError(dst, errNotFloat)
	}
	if incr.IsInf() {
		return redcon.AppendError(dst, "ERR value is NaN or Infinity")
	}
	e, wrong := s.writeHash(args[1], nowMs)
	if wrong {
		return redcon.AppendError(dst, errWrongType)
	}
	v := newLD()
	if cur, found := e.hash.get(args[2]); found {
		if v, ok = parseLongDouble(cur); !ok {
			return redcon.AppendError(dst, "ERR hash value is not a float")
		}
	}
	sum, ok := ldAdd(v, incr)
	if !ok {
		return redcon.AppendError(dst, errNaNInf)
	}
	num := appendLongDouble(nil, sum)
	e.hash.set(args[2], num)
	s.changed(e)
	return redcon.AppendBulk(dst, num)
}

// cmdHRandField is HRANDFIELD. Its random choices come from the store's own generator (reads are not
// replicated, so they need not agree between replicas).
func cmdHRandField(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	if len(args) < 3 {
		e, wrong := s.readHash(args[1], nowMs)
		switch {
		case wrong:
			return redcon.AppendError(dst, errWrongType)
		case e == nil:
			return redcon.AppendNull(dst)
		}
		r := splitmix{state: s.randState}
		i := r.intn(e.hash.len())
		s.randState = r.state
		return redcon.AppendBulk(dst, e.hash.at(i))
	}
	l, ok := parseInt(args[2])
	if !ok {
		return redcon.AppendError(dst, errNotInt)
	}
	if l == math.MinInt64 {
		return redcon.AppendError(dst, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	}
	withValues := false
	if len(args) > 4 || (len(args) == 4 && !eqFold(args[3], "withvalues")) {
		return redcon.AppendError(dst, errSyntax)
	} else if len(args) == 4 {
		withValues = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			return redcon.AppendError(dst, errOutOfRange)
		}
	}
	e, wrong := s.readHash(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil || l == 0:
		return redcon.AppendArray(dst, 0)
	}
	fields, vals := e.hash.pairs()
	size := int64(len(fields))
	per := 1
	if withValues {
		per = 2
	}
	appendPair := func(i int) {
		dst = redcon.AppendBulk(dst, fields[i])
		if withValues {
			dst = redcon.AppendBulk(dst, vals[i])
		}
	}
	r := splitmix{state: s.randState}
	defer func() { s.randState = r.state }()
	if l < 0 || l == 1 {
		count := l
		if count < 0 {
			count = -count
		}
		dst = redcon.AppendArray(dst, int(count)*per)
		for range count {
			appendPair(r.intn(int(size)))
		}
		return dst
	}
	if l >= size {
		dst = redcon.AppendArray(dst, int(size)*per)
		for i := range fields {
			appendPair(i)
		}
		return dst
	}
	// Distinct random fields: a partial Fisher–Yates shuffle of the positions.
	perm := make([]int, size)
	for i := range perm {
		perm[i] = i
	}
	dst = redcon.AppendArray(dst, int(l)*per)
	for i := range int(l) {
		j := i + r.intn(int(size)-i)
		perm[i], perm[j] = perm[j], perm[i]
		appendPair(perm[i])
	}
	return dst
}

var emptyScan = []byte("*2\r\n$1\r\n0\r\n*0\r\n")

// cmdHScan returns the whole (filtered) hash with cursor 0, whatever the cursor.
func cmdHScan(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	if _, ok := parseCursor(args[2]); !ok {
		return redcon.AppendError(dst, errInvalidCurs)
	}
	e, wrong := s.readHash(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return append(dst, emptyScan...)
	}
	_, pat, _, usePat, msg := parseScanOpts(args[3:], false)
	if msg != "" {
		return redcon.AppendError(dst, msg)
	}
	fields, vals := e.hash.pairs()
	var idx []int
	for i, f := range fields {
		if !usePat || MatchGlob(pat, f, false) {
			idx = append(idx, i)
		}
	}
	dst = redcon.AppendArray(dst, 2)
	dst = redcon.AppendBulkString(dst, "0")
	dst = redcon.AppendArray(dst, 2*len(idx))
	for _, i := range idx {
		dst = redcon.AppendBulk(dst, fields[i])
		dst = redcon.AppendBulk(dst, vals[i])
	}
	return dst
}
