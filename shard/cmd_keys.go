package shard

import (
	"math"
	"strconv"

	"github.com/tidwall/redcon"
)

func cmdDel(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	n := int64(0)
	for _, k := range args[1:] {
		if e := s.lookup(k, nowMs, false); e != nil {
			s.remove(e)
			n++
		}
	}
	return redcon.AppendInt(dst, n)
}

func cmdExists(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	n := int64(0)
	for _, k := range args[1:] {
		if s.lookup(k, nowMs, true) != nil {
			n++
		}
	}
	return redcon.AppendInt(dst, n)
}

func cmdTouch(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return cmdExists(s, dst, args, nowMs)
}

func cmdType(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e := s.lookup(args[1], nowMs, true)
	if e == nil {
		return redcon.AppendString(dst, "none")
	}
	return redcon.AppendString(dst, e.typeName())
}

// Flags of EXPIRE and friends.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

// expireGeneric is expireGenericCommand: basetime is nowMs for relative forms and 0 for the *AT forms.
func (s *Store) expireGeneric(dst []byte, name string, args [][]byte, basetime int64, seconds bool, nowMs int64) []byte {
	flags := 0
	for _, opt := range args[3:] {
		switch {
		case eqFold(opt, "nx"):
			flags |= expNX
		case eqFold(opt, "xx"):
			flags |= expXX
		case eqFold(opt, "gt"):
			flags |= expGT
		case eqFold(opt, "lt"):
			flags |= expLT
		default:
			return redcon.AppendError(dst, "ERR Unsupported option "+string(cstr(opt)))
		}
	}
	if flags&expNX != 0 && flags&(expXX|expGT|expLT) != 0 {
		return redcon.AppendError(dst, "ERR NX and XX, GT or LT options at the same time are not compatible")
	}
	if flags&expGT != 0 && flags&expLT != 0 {
		return redcon.AppendError(dst, "ERR GT and LT options at the same time are not compatible")
	}
	when, ok := parseInt(args[2])
	if !ok {
		return redcon.AppendError(dst, errNotInt)
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			return appendExpireTimeError(dst, name)
		}
		when *= 1000
	}
	if when > math.MaxInt64-basetime {
		return appendExpireTimeError(dst, name)
	}
	when += basetime
	e := s.lookup(args[1], nowMs, false)
	if e == nil {
		return append(dst, replyZero...)
	}
	cur := int64(-1)
	if e.expireMs != 0 {
		cur = e.expireMs
	}
	if (flags&expNX != 0 && cur != -1) ||
		(flags&expXX != 0 && cur == -1) ||
		(flags&expGT != 0 && (when <= cur || cur == -1)) ||
		(flags&expLT != 0 && cur != -1 && when >= cur) {
		return append(dst, replyZero...)
	}
	if when <= nowMs {
		s.remove(e)
	} else {
		s.setExpire(e, when)
	}
	return append(dst, replyOne...)
}

func cmdExpire(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.expireGeneric(dst, "expire", args, nowMs, true, nowMs)
}

func cmdPExpire(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.expireGeneric(dst, "pexpire", args, nowMs, false, nowMs)
}

func cmdExpireAt(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.expireGeneric(dst, "expireat", args, 0, true, nowMs)
}

func cmdPExpireAt(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.expireGeneric(dst, "pexpireat", args, 0, false, nowMs)
}

// ttlGeneric is ttlGenericCommand.
func (s *Store) ttlGeneric(dst []byte, key []byte, ms, abs bool, nowMs int64) []byte {
	e := s.lookup(key, nowMs, true)
	if e == nil {
		return redcon.AppendInt(dst, -2)
	}
	if e.expireMs == 0 {
		return redcon.AppendInt(dst, -1)
	}
	ttl := e.expireMs
	if !abs {
		ttl -= nowMs
	}
	ttl = max(ttl, 0)
	if !ms {
		ttl = ttl/1000 + (ttl%1000+500)/1000 // (ttl+500)/1000 without overflow
	}
	return redcon.AppendInt(dst, ttl)
}

func cmdTTL(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.ttlGeneric(dst, args[1], false, false, nowMs)
}

func cmdPTTL(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.ttlGeneric(dst, args[1], true, false, nowMs)
}

func cmdExpireTime(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.ttlGeneric(dst, args[1], false, true, nowMs)
}

func cmdPExpireTime(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.ttlGeneric(dst, args[1], true, true, nowMs)
}

func cmdPersist(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	e := s.lookup(args[1], nowMs, false)
	if e == nil || e.expireMs == 0 {
		return append(dst, replyZero...)
	}
	s.setExpire(e, 0)
	return append(dst, replyOne...)
}

// rename is renameGenericCommand: the value and its TTL move to dst (overwriting it unless nx).
func (s *Store) rename(dst []byte, args [][]byte, nx bool, nowMs int64) []byte {
	src, to := args[1], args[2]
	e := s.lookup(src, nowMs, false)
	if e == nil {
		return redcon.AppendError(dst, errNoKey)
	}
	if string(src) == string(to) {
		if nx {
			return append(dst, replyZero...)
		}
		return redcon.AppendOK(dst)
	}
	if old := s.lookup(to, nowMs, false); old != nil {
		if nx {
			return append(dst, replyZero...)
		}
		s.remove(old)
	}
	expire := e.expireMs
	s.unref(e) // a handle is written under its key: the new key writes the value again (add)
	s.remove(e)
	ne := &entry{kind: e.kind, enc: e.enc, str: e.str, hash: e.hash}
	s.add(to, ne, nowMs)
	if expire != 0 {
		s.setExpire(ne, expire)
	}
	if nx {
		return append(dst, replyOne...)
	}
	return redcon.AppendOK(dst)
}

func cmdRename(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.rename(dst, args, false, nowMs)
}

func cmdRenameNX(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	return s.rename(dst, args, true, nowMs)
}

// cmdKeys walks the slots in order (keys sorted within a slot) and skips expired keys without
// removing them, as Redis's KEYS does.
func cmdKeys(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	pat := args[1]
	all := len(pat) == 1 && pat[0] == '*'
	var out [][]byte
	for slot := nextOccupied(&s.occupied, 0); slot >= 0; slot = nextOccupied(&s.occupied, slot+1) {
		for _, e := range s.sortedSlotEntries(uint16(slot)) {
			kb := []byte(e.key)
			if (all || MatchGlob(pat, kb, false)) && !expired(e, nowMs) {
				out = append(out, kb)
			}
		}
	}
	dst = redcon.AppendArray(dst, len(out))
	for _, k := range out {
		dst = redcon.AppendBulk(dst, k)
	}
	return dst
}

/*
SCAN's cursor is the next slot to visit (0 = start; a reply cursor of 0 = done). One call visits whole
slots in order until it has collected COUNT keys (before filtering) or run out of slots, so a key present
for the whole iteration is returned at least once (exactly once if it stays in its slot), whatever else
is added or removed meanwhile. Cursors ≥ SlotCount end the iteration at once.
*/
func cmdScan(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	cursor, ok := parseCursor(args[1])
	if !ok {
		return redcon.AppendError(dst, errInvalidCurs)
	}
	count, pat, typ, usePat, msg := parseScanOpts(args[2:], true)
	if msg != "" {
		return redcon.AppendError(dst, msg)
	}
	var out [][]byte
	next := uint64(0)
	collected := 0
	if cursor < SlotCount {
		slot := nextOccupied(&s.occupied, int(cursor))
		for slot >= 0 {
			entries := s.sortedSlotEntries(uint16(slot))
			collected += len(entries)
			for _, e := range entries {
				kb := []byte(e.key)
				if usePat && !MatchGlob(pat, kb, false) {
					continue
				}
				if typ != nil && !eqFold(typ, e.typeName()) {
					continue
				}
				if expired(e, nowMs) {
					continue
				}
				out = append(out, kb)
			}
			slot = nextOccupied(&s.occupied, slot+1)
			if collected >= count && slot >= 0 {
				next = uint64(slot)
				break
			}
		}
	}
	dst = redcon.AppendArray(dst, 2)
	dst = redcon.AppendBulk(dst, strconv.AppendUint(nil, next, 10))
	dst = redcon.AppendArray(dst, len(out))
	for _, k := range out {
		dst = redcon.AppendBulk(dst, k)
	}
	return dst
}

// parseScanOpts parses COUNT, MATCH and (for SCAN) TYPE. msg is an error reply text.
func parseScanOpts(opts [][]byte, allowType bool) (count int, pat, typ []byte, usePat bool, msg string) {
	count = 10
	for i := 0; i < len(opts); {
		rem := len(opts) - i
		switch {
		case eqFold(opts[i], "count") && rem >= 2:
			c, ok := parseInt(opts[i+1])
			if !ok {
				return 0, nil, nil, false, errNotInt
			}
			if c < 1 {
				return 0, nil, nil, false, errSyntax
			}
			count = int(min(c, math.MaxInt32))
			i += 2
		case eqFold(opts[i], "match") && rem >= 2:
			pat = opts[i+1]
			usePat = !(len(pat) == 1 && pat[0] == '*')
			i += 2
		case eqFold(opts[i], "type") && allowType && rem >= 2:
			typ = opts[i+1]
			i += 2
		default:
			return 0, nil, nil, false, errSyntax
		}
	}
	return count, pat, typ, usePat, ""
}

// cmdRandomKey returns a random live key (its choice does not need to be replicated: it is a read).
func cmdRandomKey(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	for range 100 {
		if s.keys == 0 {
			return redcon.AppendNull(dst)
		}
		r := splitmix{state: s.randState}
		slot := nextOccupied(&s.occupied, r.intn(SlotCount))
		if slot < 0 {
			slot = nextOccupied(&s.occupied, 0)
		}
		pick := r.next()
		s.randState = r.state
		var best *entry
		var bestH uint64
		for e := s.slotHead[slot]; e != nil; e = e.slotNext {
			if h := mix64(fnv(pick, []byte(e.key))); best == nil || h < bestH {
				best, bestH = e, h
			}
		}
		if expired(best, nowMs) {
			s.remove(best)
			s.stats.ExpiredKeys++
			continue
		}
		return redcon.AppendBulkString(dst, best.key)
	}
	return redcon.AppendNull(dst)
}

func cmdCopy(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	replace := false
	for j := 3; j < len(args); j++ {
		switch {
		case eqFold(args[j], "replace"):
			replace = true
		case eqFold(args[j], "db") && j+1 < len(args):
			db, ok := parseInt(args[j+1])
			if !ok {
				return redcon.AppendError(dst, errNotInt)
			}
			if db < math.MinInt32 || db > math.MaxInt32 {
				return redcon.AppendError(dst, "ERR value is out of range, value must between -2147483648 and 2147483647")
			}
			if db != 0 { // vsdb has one database (SELECT 0 only)
				return redcon.AppendError(dst, "ERR DB index is out of range")
			}
			j++
		default:
			return redcon.AppendError(dst, errSyntax)
		}
	}
	if string(args[1]) == string(args[2]) {
		return redcon.AppendError(dst, errSameObject)
	}
	e := s.lookup(args[1], nowMs, true)
	if e == nil {
		return append(dst, replyZero...)
	}
	if old := s.lookup(args[2], nowMs, false); old != nil {
		if !replace {
			return append(dst, replyZero...)
		}
		s.remove(old)
	}
	ne := &entry{kind: e.kind, enc: e.enc}
	switch e.kind {
	case kindString:
		ne.str = append([]byte(nil), s.strOf(e)...)
	case kindHash:
		ne.hash = e.hash.clone()
	}
	s.add(args[2], ne, nowMs)
	if e.expireMs != 0 {
		s.setExpire(ne, e.expireMs)
	}
	return append(dst, replyOne...)
}

// cmdDBSize counts live keys (every key expired at nowMs is removed first). Redis counts expired keys
// its background cycle has not reclaimed yet; vsdb answers the logical count.
func cmdDBSize(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	s.purgeExpired(nowMs, math.MaxInt)
	return redcon.AppendInt(dst, int64(s.keys))
}

func cmdFlush(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	if len(args) > 2 || (len(args) == 2 && !eqFold(args[1], "sync") && !eqFold(args[1], "async")) {
		return redcon.AppendError(dst, errSyntax)
	}
	s.flush()
	return redcon.AppendOK(dst)
}

// cmdObject implements OBJECT ENCODING, IDLETIME and FREQ (REFCOUNT and HELP are not implemented).
func cmdObject(s *Store, dst []byte, args [][]byte, nowMs int64) []byte {
	sub := args[1]
	var name string
	switch {
	case eqFoldASCII(sub, "encoding"):
		name = "object|encoding"
	case eqFoldASCII(sub, "idletime"):
		name = "object|idletime"
	case eqFoldASCII(sub, "freq"):
		name = "object|freq"
	default:
		return redcon.AppendError(dst, "ERR unknown subcommand '"+string(trunc(sub, 128))+"'. Try OBJECT HELP.")
	}
	if len(args) != 3 {
		return appendArityError(dst, name)
	}
	e := s.find(args[2])
	if e != nil && expired(e, nowMs) {
		s.remove(e)
		s.stats.ExpiredKeys++
		e = nil
	}
	if e == nil {
		return redcon.AppendNull(dst)
	}
	switch name {
	case "object|encoding":
		return appendBulkString(dst, e.encodingName())
	case "object|idletime":
		return redcon.AppendInt(dst, max(nowMs-e.lruMs, 0)/1000)
	}
	return redcon.AppendError(dst, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
}
