package shard

import (
	"math/bits"
	"slices"
	"strings"
)

/*
Store is the data of one node's shard: one hash map from key to entry (a lookup costs one hash and,
typically, one key comparison), and, threaded through the entries, one doubly linked list per slot, so
that slot ranges can be listed, counted, exported and dropped without scanning the map. (Per-slot Go
maps, the first layout, hold only a handful of keys each, and Go's small-map lookup compares the key
with every entry: 26% of the server's CPU under redis-benchmark.)

Invariants (checked by checkInvariants in tests):
  - every entry is dict[e.key], and is on exactly the list slotHead[e.slot]; slotLen[s] is that list's
    length, and occupied has bit s set iff slotLen[s] > 0;
  - keys with a TTL are exactly the entries of the min-heap expiry (ordered by (expireMs, key)), each
    with heapIdx its position; volatileBySlot counts them per slot and volOccupied mirrors it;
  - usedBytes == Σ e.size, and e.size == e.computeSize() after every command;
  - slotVer[s] or flushVer changes whenever a key of slot s is written, deleted or expires
    (KeyVersion is max(slotVer[slot], flushVer)).

Determinism: every decision depends only on the command, its nowMs and the logical data (live keys),
never on map iteration order, a clock, or which expired keys happen to be physically removed yet:
eviction first removes every key expired at nowMs, then samples with a generator seeded from Config.Seed
and the op, and breaks ties by key bytes.
*/
type Store struct {
	cfg         Config
	dict        map[string]*entry
	slotHead    [SlotCount]*entry
	slotLen     [SlotCount]uint32
	occupied    [SlotCount / 64]uint64
	volOccupied [SlotCount / 64]uint64
	volBySlot   [SlotCount]uint32
	expiry      expiryHeap
	slotVer     [SlotCount]uint64
	flushVer    uint64
	verSeq      uint64
	keys        int
	usedBytes   int64
	stats       Stats
	randState   uint64 // for RANDOMKEY (reads; not replicated)
}

// Stats are the counters of a Store.
type Stats struct {
	Keys            int   // keys stored (including expired keys not yet removed)
	KeysWithExpiry  int   // keys with a TTL
	UsedMemoryBytes int64 // deterministic estimate: Σ key + value + fixed overhead
	Hits            int64 // reads that found their key
	Misses          int64 // reads that did not
	ExpiredKeys     int64 // keys removed because their TTL passed
	EvictedKeys     int64 // keys removed by the maxmemory policy
	// ValueWriteErrors counts values that Config.Values refused to write (they stayed in memory).
	ValueWriteErrors int64
}

// NewStore returns an empty store. cfg must be valid (see Config.Validate); an invalid config panics.
func NewStore(cfg Config) *Store {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	s := &Store{cfg: cfg.withDefaults(), dict: make(map[string]*entry)}
	s.randState = s.cfg.Seed ^ 0x9e3779b97f4a7c15
	return s
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := s.stats
	st.Keys = s.keys
	st.KeysWithExpiry = len(s.expiry)
	st.UsedMemoryBytes = s.usedBytes
	return st
}

// SetMaxMemory changes the memory limit and the eviction policy (CONFIG SET maxmemory…).
func (s *Store) SetMaxMemory(maxBytes int64, p Policy) error {
	c := s.cfg
	c.MaxMemoryBytes, c.EvictionPolicy = maxBytes, p
	if err := c.Validate(); err != nil {
		return err
	}
	s.cfg = c.withDefaults()
	return nil
}

func (s *Store) bump(slot uint16) {
	s.verSeq++
	s.slotVer[slot] = s.verSeq
}

// KeyVersion returns a number that changes whenever the key is written, deleted or expires (it may also
// change when another key of the same slot does). A key expired at nowMs is removed first.
func (s *Store) KeyVersion(key []byte, nowMs int64) uint64 {
	s.lookup(key, nowMs, false)
	return max(s.slotVer[KeySlot(key)], s.flushVer)
}

func (s *Store) find(key []byte) *entry { return s.dict[string(key)] }

// expired is Redis's keyIsExpired: strictly past the deadline.
func expired(e *entry, nowMs int64) bool { return e.expireMs != 0 && nowMs > e.expireMs }

// lookup returns the live entry of key, removing it if it has expired; read counts a hit or a miss.
// Every lookup refreshes the LRU clock.
func (s *Store) lookup(key []byte, nowMs int64, read bool) *entry {
	e := s.find(key)
	if e != nil && expired(e, nowMs) {
		s.remove(e)
		s.stats.ExpiredKeys++
		e = nil
	}
	if read {
		if e == nil {
			s.stats.Misses++
		} else {
			s.stats.Hits++
		}
	}
	if e != nil {
		e.lruMs = nowMs
	}
	return e
}

// add inserts a new entry for key (which must be absent).
func (s *Store) add(key []byte, e *entry, nowMs int64) {
	slot := KeySlot(key)
	e.key = string(key)
	e.slot = slot
	e.heapIdx = -1
	e.lruMs = nowMs
	if _, dup := s.dict[e.key]; dup {
		panic("shard: add of an existing key")
	}
	s.dict[e.key] = e
	e.slotPrev, e.slotNext = nil, s.slotHead[slot]
	if e.slotNext != nil {
		e.slotNext.slotPrev = e
	}
	s.slotHead[slot] = e
	s.slotLen[slot]++
	s.occupied[slot/64] |= 1 << (slot % 64)
	s.keys++
	s.persist(e)
	e.size = e.computeSize()
	s.usedBytes += e.size
	s.bump(slot)
}

// remove deletes e from the store.
func (s *Store) remove(e *entry) {
	s.dropRef(e)
	s.setExpire(e, 0)
	delete(s.dict, e.key)
	if e.slotPrev != nil {
		e.slotPrev.slotNext = e.slotNext
	} else {
		s.slotHead[e.slot] = e.slotNext
	}
	if e.slotNext != nil {
		e.slotNext.slotPrev = e.slotPrev
	}
	e.slotPrev, e.slotNext = nil, nil
	s.slotLen[e.slot]--
	if s.slotLen[e.slot] == 0 {
		s.occupied[e.slot/64] &^= 1 << (e.slot % 64)
	}
	s.keys--
	s.usedBytes -= e.size
	s.bump(e.slot)
}

// changed records an in-place modification of e's value.
func (s *Store) changed(e *entry) {
	s.persist(e)
	n := e.computeSize()
	s.usedBytes += n - e.size
	e.size = n
	s.bump(e.slot)
}

// setExpire sets (ms > 0) or clears (ms == 0) e's deadline.
func (s *Store) setExpire(e *entry, ms int64) {
	if e.expireMs == ms {
		return
	}
	s.bump(e.slot)
	switch {
	case e.expireMs == 0: // add
		e.expireMs = ms
		s.expiry.push(e)
		s.volBySlot[e.slot]++
		s.volOccupied[e.slot/64] |= 1 << (e.slot % 64)
	case ms == 0: // remove
		s.expiry.remove(e)
		e.expireMs = 0
		s.volBySlot[e.slot]--
		if s.volBySlot[e.slot] == 0 {
			s.volOccupied[e.slot/64] &^= 1 << (e.slot % 64)
		}
	default:
		e.expireMs = ms
		s.expiry.fix(e)
	}
}

// setString makes e hold a new string value, keeping or clearing its TTL. The old buffer is reused
// unless it is much larger than the new value (so a shrunk value does not pin a big allocation).
func (s *Store) setString(e *entry, v []byte, enc strEnc, keepTTL bool) {
	s.dropRef(e)
	if e.kind == kindString && cap(e.str) <= 2*len(v)+64 {
		e.str = append(e.str[:0], v...)
	} else {
		e.kind, e.hash = kindString, nil
		e.str = append([]byte(nil), v...)
	}
	e.enc = enc
	if !keepTTL {
		s.setExpire(e, 0)
	}
	s.changed(e)
}

// putString is setKey for strings: overwrite (type and all) or create.
func (s *Store) putString(key, v []byte, enc strEnc, keepTTL bool, nowMs int64) *entry {
	if e := s.lookup(key, nowMs, false); e != nil {
		s.setString(e, v, enc, keepTTL)
		return e
	}
	e := &entry{kind: kindString, enc: enc, str: append([]byte(nil), v...)}
	s.add(key, e, nowMs)
	return e
}

// purgeExpired removes up to maxKeys keys whose deadline is before nowMs, soonest first.
func (s *Store) purgeExpired(nowMs int64, maxKeys int) int {
	n := 0
	for n < maxKeys && len(s.expiry) > 0 && expired(s.expiry[0], nowMs) {
		s.remove(s.expiry[0])
		s.stats.ExpiredKeys++
		n++
	}
	return n
}

// ActiveExpire is the bounded active expire cycle: it removes up to maxKeys keys whose TTL has passed at
// nowMs (the earliest deadlines first; Redis samples randomly, the result on the live data is the same)
// and returns how many it removed.
func (s *Store) ActiveExpire(nowMs int64, maxKeys int) int {
	return s.purgeExpired(nowMs, maxKeys)
}

// CountKeysInSlot returns the number of keys of slot live at nowMs. (Redis also counts expired keys
// it has not reclaimed yet; replicas reclaim at different moments, so counting only live keys is what
// keeps the answer the same at every replica.)
func (s *Store) CountKeysInSlot(slot uint16, nowMs int64) int {
	slot %= SlotCount
	n := 0
	for e := s.slotHead[slot]; e != nil; e = e.slotNext {
		if !expired(e, nowMs) {
			n++
		}
	}
	return n
}

// KeysInSlot returns up to max keys of slot live at nowMs, in byte order (copies).
func (s *Store) KeysInSlot(slot uint16, max int, nowMs int64) [][]byte {
	var out [][]byte
	for _, e := range s.sortedSlotEntries(slot % SlotCount) {
		if len(out) >= max {
			break
		}
		if !expired(e, nowMs) {
			out = append(out, []byte(e.key))
		}
	}
	return out
}

// sortedSlotEntries returns the entries of slot in key byte order.
func (s *Store) sortedSlotEntries(slot uint16) []*entry {
	out := make([]*entry, 0, s.slotLen[slot])
	for e := s.slotHead[slot]; e != nil; e = e.slotNext {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entry) int { return strings.Compare(a.key, b.key) })
	return out
}

// nextOccupied returns the first slot ≥ from whose bit is set in bm, or -1.
func nextOccupied(bm *[SlotCount / 64]uint64, from int) int {
	if from >= SlotCount {
		return -1
	}
	w := from / 64
	word := bm[w] >> (from % 64)
	if word != 0 {
		return from + bits.TrailingZeros64(word)
	}
	for w++; w < len(bm); w++ {
		if bm[w] != 0 {
			return w*64 + bits.TrailingZeros64(bm[w])
		}
	}
	return -1
}

// flush removes every key.
func (s *Store) flush() {
	if s.cfg.Values != nil {
		for _, e := range s.dict {
			s.dropRef(e)
		}
	}
	clear(s.dict)
	s.slotHead = [SlotCount]*entry{}
	s.slotLen = [SlotCount]uint32{}
	s.occupied = [SlotCount / 64]uint64{}
	s.volOccupied = [SlotCount / 64]uint64{}
	s.volBySlot = [SlotCount]uint32{}
	for _, e := range s.expiry {
		e.heapIdx = -1
	}
	s.expiry = nil
	s.keys = 0
	s.usedBytes = 0
	s.verSeq++
	s.flushVer = s.verSeq
}

// Digest is an order-independent digest of the live data at nowMs: keys, types, values, hash fields
// and deadlines, but not encodings, LRU clocks or counters.
func (s *Store) Digest(nowMs int64) uint64 {
	var sum uint64
	{
		for _, e := range s.dict {
			if expired(e, nowMs) {
				continue
			}
			h := fnv(fnvOffset, []byte(e.key))
			h = fnvU64(h, uint64(e.kind))
			h = fnvU64(h, uint64(e.expireMs))
			switch e.kind {
			case kindString:
				h = fnv(h, s.strOf(e))
			case kindHash:
				var fs uint64
				for f, v := range e.hash.all() {
					fh := fnv(fnvOffset, f)
					fh = fnvU64(fh, uint64(len(f)))
					fs += mix64(fnv(fh, v))
				}
				h = fnvU64(h, fs)
			}
			sum += mix64(h)
		}
	}
	return sum
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return fnvU64(h, uint64(len(b)))
}

func fnvU64(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// mix64 is the splitmix64 finalizer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// splitmix is a small deterministic generator (no global rand).
type splitmix struct{ state uint64 }

func (r *splitmix) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

func (r *splitmix) intn(n int) int { return int(r.next() % uint64(n)) }

// expiryHeap is a binary min-heap of entries ordered by (expireMs, key).
type expiryHeap []*entry

func heapLess(a, b *entry) bool {
	if a.expireMs != b.expireMs {
		return a.expireMs < b.expireMs
	}
	return a.key < b.key
}

func (h *expiryHeap) push(e *entry) {
	e.heapIdx = int32(len(*h))
	*h = append(*h, e)
	h.up(int(e.heapIdx))
}

func (h *expiryHeap) remove(e *entry) {
	i := int(e.heapIdx)
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	e.heapIdx = -1
	if i != last {
		h.fix((*h)[i])
	}
}

func (h *expiryHeap) fix(e *entry) {
	i := int(e.heapIdx)
	if !h.down(i) {
		h.up(i)
	}
}

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = int32(i)
	h[j].heapIdx = int32(j)
}

func (h expiryHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !heapLess(h[i], h[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h expiryHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && heapLess(h[r], h[l]) {
			m = r
		}
		if !heapLess(h[m], h[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// DeleteSlot removes every key of slot (for slot migration) and returns how many it removed.
func (s *Store) DeleteSlot(slot uint16) int {
	slot %= SlotCount
	victims := make([]*entry, 0, s.slotLen[slot])
	for e := s.slotHead[slot]; e != nil; e = e.slotNext {
		victims = append(victims, e)
	}
	for _, e := range victims {
		s.remove(e)
	}
	return len(victims)
}
