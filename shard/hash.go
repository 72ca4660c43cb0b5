package shard

import "iter"

// Redis's hash-max-listpack-entries and hash-max-listpack-value defaults.
const (
	listpackMaxEntries = 512 // compiled-in default of redis-server 7.0 (redis.conf ships 128)
	listpackMaxValue   = 64
)

/*
hashVal is a Redis hash. While listpack is true it mirrors Redis's listpack encoding, also in memory: the
pairs are one contiguous buffer lp (field length, field, value length, value; a length is one byte, as
no listpack element exceeds 64 bytes) in insertion order; deletions shift the rest; lookups are linear (≤ 512 pairs, each ≤ 64 bytes). One
buffer means a read touches the hash header and one allocation, which is what makes aggregation scans
over many small hashes fast. A change writes a new buffer (copy on write), so slices handed out by get
or all stay valid. It converts once and for all to the "hashtable" encoding (listpack=false) when a field
or value longer than 64 bytes is written or the 513th field is added, exactly when Redis converts; from
then on fields/vals hold the pairs, idx maps field → position, and deletions swap the last pair in
(order is unspecified, as in Redis's dict).

Invariants: listpack ⇒ fields, vals, idx are nil and lp holds n pairs; !listpack ⇒ lp is nil,
len(fields) == len(vals) == n, idx has one entry per field; bytes == Σ len(f)+len(v)+fieldOverheadBytes.
*/
type hashVal struct {
	listpack bool
	n        int
	lp       []byte
	fields   [][]byte
	vals     [][]byte
	idx      map[string]int
	bytes    int64
}

func newHash() *hashVal { return &hashVal{listpack: true} }

func (h *hashVal) len() int { return h.n }

// lpNext reads one length-prefixed element of a listpack buffer at off: the element and the offset
// after it.
func lpNext(lp []byte, off int) ([]byte, int) {
	start := off + 1
	end := start + int(lp[off])
	return lp[start:end], end
}

// lpFind returns the offsets of pair f in the listpack buffer (start of the field's length, start of
// the value's length, end of the pair), or ok=false.
func (h *hashVal) lpFind(f []byte) (pairOff, valOff, end int, ok bool) {
	off := 0
	for off < len(h.lp) {
		start := off
		var fk []byte
		fk, off = lpNext(h.lp, off)
		valStart := off
		_, off = lpNext(h.lp, off)
		if len(fk) == len(f) && string(fk) == string(f) {
			return start, valStart, off, true
		}
	}
	return 0, 0, 0, false
}

// lpAppend appends one element (at most listpackMaxValue bytes).
func lpAppend(dst, b []byte) []byte {
	if len(b) > listpackMaxValue {
		panic("shard: listpack element over the limit")
	}
	dst = append(dst, byte(len(b)))
	return append(dst, b...)
}

// has reports whether field f is set.
func (h *hashVal) has(f []byte) bool {
	if h.listpack {
		_, _, _, ok := h.lpFind(f)
		return ok
	}
	_, ok := h.idx[string(f)]
	return ok
}

func (h *hashVal) get(f []byte) ([]byte, bool) {
	if h.listpack {
		_, valOff, _, ok := h.lpFind(f)
		if !ok {
			return nil, false
		}
		v, _ := lpNext(h.lp, valOff)
		return v, true
	}
	if i, ok := h.idx[string(f)]; ok {
		return h.vals[i], true
	}
	return nil, false
}

// all yields every pair in order (insertion order while listpack).
func (h *hashVal) all() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		if !h.listpack {
			for i, f := range h.fields {
				if !yield(f, h.vals[i]) {
					return
				}
			}
			return
		}
		for off := 0; off < len(h.lp); {
			var f, v []byte
			f, off = lpNext(h.lp, off)
			v, off = lpNext(h.lp, off)
			if !yield(f, v) {
				return
			}
		}
	}
}

// pairs returns the fields and values as slices (positions for random access), valid until the next
// change.
func (h *hashVal) pairs() (fields, vals [][]byte) {
	if !h.listpack {
		return h.fields, h.vals
	}
	fields, vals = make([][]byte, 0, h.n), make([][]byte, 0, h.n)
	for f, v := range h.all() {
		fields, vals = append(fields, f), append(vals, v)
	}
	return fields, vals
}

// at returns the field at position i (0 ≤ i < len).
func (h *hashVal) at(i int) []byte {
	if !h.listpack {
		return h.fields[i]
	}
	off := 0
	for ; i > 0; i-- {
		_, off = lpNext(h.lp, off)
		_, off = lpNext(h.lp, off)
	}
	f, _ := lpNext(h.lp, off)
	return f
}

func (h *hashVal) convert() {
	if !h.listpack {
		return
	}
	h.fields, h.vals = make([][]byte, 0, h.n), make([][]byte, 0, h.n)
	h.idx = make(map[string]int, h.n)
	for f, v := range h.all() {
		fc := append([]byte(nil), f...)
		h.idx[string(fc)] = len(h.fields)
		h.fields = append(h.fields, fc)
		h.vals = append(h.vals, append([]byte(nil), v...))
	}
	h.listpack, h.lp = false, nil
}

// set stores f=v (copying both) and reports whether the field is new. Like hashTypeSet, a field or value
// longer than the listpack limit converts first, and exceeding the entry limit converts after.
func (h *hashVal) set(f, v []byte) bool {
	if h.listpack && (len(f) > listpackMaxValue || len(v) > listpackMaxValue) {
		h.convert()
	}
	if h.listpack {
		_, valOff, end, ok := h.lpFind(f)
		if ok {
			old, _ := lpNext(h.lp, valOff)
			h.bytes += int64(len(v) - len(old))
			lp := make([]byte, 0, len(h.lp)+len(v)+1)
			lp = append(lp, h.lp[:valOff]...)
			lp = lpAppend(lp, v)
			h.lp = append(lp, h.lp[end:]...)
			return false
		}
		lp := make([]byte, 0, len(h.lp)+len(f)+len(v)+2*1)
		lp = append(lp, h.lp...)
		lp = lpAppend(lp, f)
		h.lp = lpAppend(lp, v)
		h.n++
		h.bytes += int64(len(f)+len(v)) + fieldOverheadBytes
		if h.n > listpackMaxEntries {
			h.convert()
		}
		return true
	}
	if i, ok := h.idx[string(f)]; ok {
		h.bytes += int64(len(v) - len(h.vals[i]))
		h.vals[i] = append(h.vals[i][:0:0], v...)
		return false
	}
	fc := append([]byte(nil), f...)
	h.fields = append(h.fields, fc)
	h.vals = append(h.vals, append([]byte(nil), v...))
	h.idx[string(fc)] = len(h.fields) - 1
	h.n++
	h.bytes += int64(len(f)+len(v)) + fieldOverheadBytes
	return true
}

// del removes f and reports whether it was present.
func (h *hashVal) del(f []byte) bool {
	if h.listpack {
		pairOff, valOff, end, ok := h.lpFind(f)
		if !ok {
			return false
		}
		v, _ := lpNext(h.lp, valOff)
		h.bytes -= int64(len(f)+len(v)) + fieldOverheadBytes
		lp := make([]byte, 0, len(h.lp)-(end-pairOff))
		lp = append(lp, h.lp[:pairOff]...)
		h.lp = append(lp, h.lp[end:]...)
		h.n--
		return true
	}
	i, ok := h.idx[string(f)]
	if !ok {
		return false
	}
	h.bytes -= int64(len(h.fields[i])+len(h.vals[i])) + fieldOverheadBytes
	last := len(h.fields) - 1
	delete(h.idx, string(h.fields[i]))
	if i != last {
		h.fields[i], h.vals[i] = h.fields[last], h.vals[last]
		h.idx[string(h.fields[i])] = i
	}
	h.fields[last], h.vals[last] = nil, nil
	h.fields, h.vals = h.fields[:last], h.vals[:last]
	h.n--
	return true
}

func (h *hashVal) clone() *hashVal {
	c := &hashVal{listpack: h.listpack, n: h.n, bytes: h.bytes}
	if h.listpack {
		c.lp = append([]byte(nil), h.lp...)
		return c
	}
	c.fields, c.vals = make([][]byte, len(h.fields)), make([][]byte, len(h.vals))
	c.idx = make(map[string]int, len(h.fields))
	for i := range h.fields {
		c.fields[i] = append([]byte(nil), h.fields[i]...)
		c.vals[i] = append([]byte(nil), h.vals[i]...)
		c.idx[string(c.fields[i])] = i
	}
	return c
}

// tryConversion is hashTypeTryConversion: any argument longer than the listpack value limit converts.
func (h *hashVal) tryConversion(args [][]byte) {
	if !h.listpack {
		return
	}
	for _, a := range args {
		if len(a) > listpackMaxValue {
			h.convert()
			return
		}
	}
}
