package shard

// Redis's hash-max-listpack-entries and hash-max-listpack-value defaults.
const (
	listpackMaxEntries = 512 // compiled-in default of redis-server 7.0 (redis.conf ships 128)
	listpackMaxValue   = 64
)

/*
hashVal is a Redis hash. While listpack is true it mirrors Redis's listpack encoding: fields in
insertion order, deletions shift the rest, lookups are linear (≤ 512 fields). It converts once and for
all to the "hashtable" encoding (listpack=false) when a field or value longer than 64 bytes is written or
the 513th field is added, exactly when Redis converts; from then on idx maps field → position and
deletions swap the last pair in (order is unspecified, as in Redis's dict).
Invariants: len(fields) == len(vals); idx == nil iff listpack; bytes == Σ len(f)+len(v)+fieldOverhead.
*/
type hashVal struct {
	listpack bool
	fields   [][]byte
	vals     [][]byte
	idx      map[string]int
	bytes    int64
}

func newHash() *hashVal { return &hashVal{listpack: true} }

func (h *hashVal) len() int { return len(h.fields) }

func (h *hashVal) find(f []byte) int {
	if h.listpack {
		for i, x := range h.fields {
			if string(x) == string(f) {
				return i
			}
		}
		return -1
	}
	if i, ok := h.idx[string(f)]; ok {
		return i
	}
	return -1
}

func (h *hashVal) get(f []byte) ([]byte, bool) {
	if i := h.find(f); i >= 0 {
		return h.vals[i], true
	}
	return nil, false
}

func (h *hashVal) convert() {
	if !h.listpack {
		return
	}
	h.listpack = false
	h.idx = make(map[string]int, len(h.fields))
	for i, f := range h.fields {
		h.idx[string(f)] = i
	}
}

// set stores f=v (copying both) and reports whether the field is new. Like hashTypeSet, a field or value
// longer than the listpack limit converts first, and exceeding the entry limit converts after.
func (h *hashVal) set(f, v []byte) bool {
	if h.listpack && (len(f) > listpackMaxValue || len(v) > listpackMaxValue) {
		h.convert()
	}
	if i := h.find(f); i >= 0 {
		h.bytes += int64(len(v) - len(h.vals[i]))
		h.vals[i] = append(h.vals[i][:0:0], v...)
		return false
	}
	fc := append([]byte(nil), f...)
	h.fields = append(h.fields, fc)
	h.vals = append(h.vals, append([]byte(nil), v...))
	h.bytes += int64(len(f)+len(v)) + fieldOverheadBytes
	if !h.listpack {
		h.idx[string(fc)] = len(h.fields) - 1
	} else if len(h.fields) > listpackMaxEntries {
		h.convert()
	}
	return true
}

// del removes f and reports whether it was present.
func (h *hashVal) del(f []byte) bool {
	i := h.find(f)
	if i < 0 {
		return false
	}
	h.bytes -= int64(len(h.fields[i])+len(h.vals[i])) + fieldOverheadBytes
	last := len(h.fields) - 1
	if h.listpack {
		copy(h.fields[i:], h.fields[i+1:])
		copy(h.vals[i:], h.vals[i+1:])
	} else {
		delete(h.idx, string(h.fields[i]))
		if i != last {
			h.fields[i], h.vals[i] = h.fields[last], h.vals[last]
			h.idx[string(h.fields[i])] = i
		}
	}
	h.fields[last], h.vals[last] = nil, nil
	h.fields, h.vals = h.fields[:last], h.vals[:last]
	return true
}

func (h *hashVal) clone() *hashVal {
	c := &hashVal{listpack: h.listpack, bytes: h.bytes,
		fields: make([][]byte, len(h.fields)), vals: make([][]byte, len(h.vals))}
	for i := range h.fields {
		c.fields[i] = append([]byte(nil), h.fields[i]...)
		c.vals[i] = append([]byte(nil), h.vals[i]...)
	}
	if !h.listpack {
		c.idx = make(map[string]int, len(c.fields))
		for i, f := range c.fields {
			c.idx[string(f)] = i
		}
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
