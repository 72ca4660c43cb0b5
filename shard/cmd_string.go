package shard

import (
	"math"
	"strconv"

	"github.com/tidwall/redcon"
)

// Option flags of SET and GETEX (parseExtendedStringArgumentsOrReply in Redis's t_string.c).
const (
	optNX = 1 << iota
	optXX
	optEX
	optPX
	optKeepTTL
	optGet
	optEXAT
	optPXAT
	optPersist
)

const optAnyExpire = optEX | optPX | optEXAT | optPXAT

// expireOptFlag returns the flag of an expire option (EX, PX, EXAT, PXAT, any case), or 0.
func expireOptFlag(opt []byte) int {
	switch {
	case eqFold(opt, "ex"):
		return optEX
	case eqFold(opt, "px"):
		return optPX
	case eqFold(opt, "exat"):
		return optEXAT
	case eqFold(opt, "pxat"):
		return optPXAT
	}
	return 0
}

// parseStringOpts parses SET (isSet, from args[3]) or GETEX (from args[2]) options exactly as Redis:
// conflicting options and an expire option without a value are syntax errors.
func parseStringOpts(args [][]byte, isSet bool) (flags int, expire []byte, ok bool) {
	j := 2
	if isSet {
		j = 3
	}
	for ; j < len(args); j++ {
		opt := args[j]
		hasNext := j < len(args)-1
		switch {
		case eqFold(opt, "nx") && flags&optXX == 0 && isSet:
			flags |= optNX
		case eqFold(opt, "xx") && flags&optNX == 0 && isSet:
			flags |= optXX
		case eqFold(opt, "get") && isSet:
			flags |= optGet
		case eqFold(opt, "keepttl") && flags&(optPersist|optAnyExpire) == 0 && isSet:
			flags |= optKeepTTL
		case eqFold(opt, "persist") && !isSet && flags&(optAnyExpire|optKeepTTL) == 0:
			flags |= optPersist
		case expireOptFlag(opt) != 0 && hasNext &&
			flags&(optKeepTTL|optPersist|optAnyExpire&^expireOptFlag(opt)) == 0:
			// EX, PX, EXAT, PXAT: one value; conflicts with KEEPTTL, PERSIST and the other three
			// (repeating the same one is allowed, as in Redis: the last value wins).
			flags |= expireOptFlag(opt)
			expire = args[j+1]
			j++
		default:
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// expireMillis is getExpireMillisecondsOrReply: the absolute deadline in ms, or an error reply text.
func expireMillis(name string, expire []byte, flags int, nowMs int64) (int64, string) {
	v, ok := parseInt(expire)
	if !ok {
		return 0, errNotInt
	}
	seconds := flags&(optPX|optPXAT) == 0
	if v <= 0 || (seconds && v > math.MaxInt64/1000) {
		return 0, "ERR invalid expire time in '" + name + "' command"
	}
	if seconds {
		v *= 1000
	}
	if flags&(optEX|optPX) != 0 {
		v += nowMs // wraps on overflow, like Redis; caught below
	}
	if v <= 0 {
		return 0, "ERR invalid expire time in '" + name + "' command"
	}
	return v, ""
}

// readString looks key up for reading; wrong is true if it holds another type.
func (s *Store) readString(key []byte, nowMs int64) (e *entry, wrong bool) {
	e = s.lookup(key, nowMs, true)
	if e != nil && e.kind != kindString {
		return nil, true
	}
	return e, false
}

// appendGet is getGenericCommand: the value, a null, or WRONGTYPE (ok false).
func (s *Store) appendGet(dst []byte, key []byte, nowMs int64) ([]byte, bool) {
	e, wrong := s.readString(key, nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType), false
	case e == nil:
		return redcon.AppendNull(dst), true
	}
	return redcon.AppendBulk(dst, s.strOf(e)), true
}

func cmdGet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	dst, _ = s.appendGet(dst, args[1], nowMs)
	return dst
}

// setGeneric is setGenericCommand. okReply/abortReply nil mean +OK / null.
func (s *Store) setGeneric(dst []byte, name string, flags int, key, val, expire []byte, nowMs int64,
	okReply, abortReply []byte) []byte {
	var ms int64
	if expire != nil {
		var msg string
		if ms, msg = expireMillis(name, expire, flags, nowMs); msg != "" {
			return redcon.AppendError(dst, msg)
		}
	}
	if flags&optGet != 0 {
		var ok bool
		if dst, ok = s.appendGet(dst, key, nowMs); !ok {
			return dst
		}
	}
	found := s.lookup(key, nowMs, false) != nil
	if (flags&optNX != 0 && found) || (flags&optXX != 0 && !found) {
		if flags&optGet == 0 {
			if abortReply != nil {
				return append(dst, abortReply...)
			}
			return redcon.AppendNull(dst)
		}
		return dst
	}
	e := s.putString(key, val, tryEncoding(val), flags&optKeepTTL != 0, nowMs)
	if expire != nil {
		s.setExpire(e, ms)
	}
	if flags&optGet == 0 {
		if okReply != nil {
			return append(dst, okReply...)
		}
		return redcon.AppendOK(dst)
	}
	return dst
}

var (
	replyOne  = []byte(":1\r\n")
	replyZero = []byte(":0\r\n")
)

func cmdSet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	flags, expire, ok := parseStringOpts(args, true)
	if !ok {
		return redcon.AppendError(dst, errSyntax)
	}
	return s.setGeneric(dst, "set", flags, args[1], args[2], expire, nowMs, nil, nil)
}

func cmdSetNX(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.setGeneric(dst, "setnx", optNX, args[1], args[2], nil, nowMs, replyOne, replyZero)
}

func cmdSetEX(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.setGeneric(dst, "setex", optEX, args[1], args[3], args[2], nowMs, nil, nil)
}

func cmdPSetEX(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.setGeneric(dst, "psetex", optPX, args[1], args[3], args[2], nowMs, nil, nil)
}

func cmdGetSet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	dst, ok := s.appendGet(dst, args[1], nowMs)
	if ok {
		s.putString(args[1], args[2], tryEncoding(args[2]), false, nowMs)
	}
	return dst
}

func cmdGetDel(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readString(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return redcon.AppendNull(dst)
	}
	dst = redcon.AppendBulk(dst, s.strOf(e))
	s.remove(e)
	return dst
}

func cmdGetEx(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	flags, expire, ok := parseStringOpts(args, false)
	if !ok {
		return redcon.AppendError(dst, errSyntax)
	}
	e, wrong := s.readString(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return redcon.AppendNull(dst)
	}
	var ms int64
	if expire != nil {
		var msg string
		if ms, msg = expireMillis("getex", expire, flags, nowMs); msg != "" {
			return redcon.AppendError(dst, msg)
		}
	}
	dst = redcon.AppendBulk(dst, s.strOf(e))
	switch {
	case flags&(optEXAT|optPXAT) != 0 && ms <= nowMs:
		s.remove(e)
	case expire != nil:
		s.setExpire(e, ms)
	case flags&optPersist != 0:
		s.setExpire(e, 0)
	}
	return dst
}

func cmdMGet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	dst = redcon.AppendArray(dst, len(args)-1)
	for _, k := range args[1:] {
		e := s.lookup(k, nowMs, true)
		if e == nil || e.kind != kindString {
			dst = redcon.AppendNull(dst)
		} else {
			dst = redcon.AppendBulk(dst, s.strOf(e))
		}
	}
	return dst
}

func (s *Store) mset(dst []byte, args [][]byte, nowMs int64, nx bool) []byte {
	if len(args)%2 == 0 {
		return appendArityError(dst, map[bool]string{false: "mset", true: "msetnx"}[nx])
	}
	if nx {
		for j := 1; j < len(args); j += 2 {
			if s.lookup(args[j], nowMs, false) != nil {
				return append(dst, replyZero...)
			}
		}
	}
	for j := 1; j < len(args); j += 2 {
		s.putString(args[j], args[j+1], tryEncoding(args[j+1]), false, nowMs)
	}
	if nx {
		return append(dst, replyOne...)
	}
	return redcon.AppendOK(dst)
}

func cmdMSet(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.mset(dst, args, nowMs, false)
}

func cmdMSetNX(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.mset(dst, args, nowMs, true)
}

// lengthOK is checkStringLength.
func lengthOK(size, add int64) bool {
	total := size + add
	return total <= protoMaxBulkLen && total >= size && total >= add
}

func cmdAppend(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e := s.lookup(args[1], nowMs, false)
	if e == nil {
		s.putString(args[1], args[2], tryEncoding(args[2]), false, nowMs)
		return redcon.AppendInt(dst, int64(len(args[2])))
	}
	if e.kind != kindString {
		return redcon.AppendError(dst, errWrongType)
	}
	if !lengthOK(int64(len(s.strOf(e))), int64(len(args[2]))) {
		return redcon.AppendError(dst, errTooBig)
	}
	s.unref(e)
	e.str = append(e.str, args[2]...)
	e.enc = encRaw
	n := len(e.str)
	s.changed(e)
	return redcon.AppendInt(dst, int64(n))
}

func cmdStrlen(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e, wrong := s.readString(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return append(dst, replyZero...)
	}
	return redcon.AppendInt(dst, int64(len(s.strOf(e))))
}

func cmdGetRange(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	start, ok1 := parseInt(args[2])
	if !ok1 {
		return redcon.AppendError(dst, errNotInt)
	}
	end, ok2 := parseInt(args[3])
	if !ok2 {
		return redcon.AppendError(dst, errNotInt)
	}
	e, wrong := s.readString(args[1], nowMs)
	switch {
	case wrong:
		return redcon.AppendError(dst, errWrongType)
	case e == nil:
		return redcon.AppendBulk(dst, nil)
	}
	str := s.strOf(e)
	n := int64(len(str))
	if start < 0 && end < 0 && start > end {
		return redcon.AppendBulk(dst, nil)
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return redcon.AppendBulk(dst, nil)
	}
	return redcon.AppendBulk(dst, str[start:end+1])
}

func cmdSetRange(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	offset, ok := parseInt(args[2])
	if !ok {
		return redcon.AppendError(dst, errNotInt)
	}
	if offset < 0 {
		return redcon.AppendError(dst, "ERR offset is out of range")
	}
	val := args[3]
	e := s.lookup(args[1], nowMs, false)
	if e == nil {
		if len(val) == 0 {
			return append(dst, replyZero...)
		}
		if !lengthOK(offset, int64(len(val))) {
			return redcon.AppendError(dst, errTooBig)
		}
		e = &entry{kind: kindString, enc: encRaw, str: make([]byte, offset+int64(len(val)))}
		copy(e.str[offset:], val)
		n := len(e.str)
		s.add(args[1], e, nowMs)
		return redcon.AppendInt(dst, int64(n))
	}
	if e.kind != kindString {
		return redcon.AppendError(dst, errWrongType)
	}
	if len(val) == 0 {
		return redcon.AppendInt(dst, int64(len(s.strOf(e))))
	}
	if !lengthOK(offset, int64(len(val))) {
		return redcon.AppendError(dst, errTooBig)
	}
	s.unref(e)
	if need := offset + int64(len(val)); need > int64(len(e.str)) {
		e.str = append(e.str, make([]byte, need-int64(len(e.str)))...)
	}
	copy(e.str[offset:], val)
	e.enc = encRaw
	n := len(e.str)
	s.changed(e)
	return redcon.AppendInt(dst, int64(n))
}

// incrDecr is incrDecrCommand: the TTL is kept, the result is integer-encoded.
func (s *Store) incrDecr(dst []byte, key []byte, incr int64, nowMs int64) []byte {
	e := s.lookup(key, nowMs, false)
	var v int64
	if e != nil {
		if e.kind != kindString {
			return redcon.AppendError(dst, errWrongType)
		}
		var ok bool
		if v, ok = parseInt(s.strOf(e)); !ok {
			return redcon.AppendError(dst, errNotInt)
		}
	}
	if (incr < 0 && v < 0 && incr < math.MinInt64-v) || (incr > 0 && v > 0 && incr > math.MaxInt64-v) {
		return redcon.AppendError(dst, errOverflow)
	}
	v += incr
	var buf [20]byte
	num := strconv.AppendInt(buf[:0], v, 10)
	if e != nil {
		s.setString(e, num, encInt, true)
	} else {
		s.putString(key, num, encInt, false, nowMs)
	}
	return redcon.AppendInt(dst, v)
}

func cmdIncr(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.incrDecr(dst, args[1], 1, nowMs)
}

func cmdDecr(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.incrDecr(dst, args[1], -1, nowMs)
}

func cmdIncrBy(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	incr, ok := parseInt(args[2])
	if !ok {
		return redcon.AppendError(dst, errNotInt)
	}
	return s.incrDecr(dst, args[1], incr, nowMs)
}

func cmdDecrBy(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	incr, ok := parseInt(args[2])
	if !ok {
		return redcon.AppendError(dst, errNotInt)
	}
	if incr == math.MinInt64 {
		return redcon.AppendError(dst, "ERR decrement would overflow")
	}
	return s.incrDecr(dst, args[1], -incr, nowMs)
}

func cmdIncrByFloat(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e := s.lookup(args[1], nowMs, false)
	if e != nil && e.kind != kindString {
		return redcon.AppendError(dst, errWrongType)
	}
	cur := newLD()
	if e != nil {
		var ok bool
		if cur, ok = parseLongDouble(s.strOf(e)); !ok {
			return redcon.AppendError(dst, errNotFloat)
		}
	}
	incr, ok := parseLongDouble(args[2])
	if !ok {
		return redcon.AppendError(dst, errNotFloat)
	}
	sum, ok := ldAdd(cur, incr)
	if !ok {
		return redcon.AppendError(dst, errNaNInf)
	}
	num := appendLongDouble(nil, sum)
	if e != nil {
		s.setString(e, num, embstrOrRaw(num), true)
	} else {
		s.putString(args[1], num, embstrOrRaw(num), false, nowMs)
	}
	return redcon.AppendBulk(dst, num)
}
