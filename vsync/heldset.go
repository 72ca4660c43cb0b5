package vsync

import "sort"

/*
window maps uint64 keys to values where the zero value means "absent", replacing a map on the hot
paths: a sender's held entries by index (heldSet, lo = stable+1) and the ordering records by position
(vstate.records, lo = stablePos+1).

Keys are held in a ring of slots covering lo … lo+span-1, where lo only grows (trim: nothing below it
is ever stored again). Keys arrive nearly in order and leave from the front, so the ring stays as large
as the unstable window. A key more than maxHeldSpan ahead of lo (possible only if this member's stable
frontier lags by that many) goes to the far map, so a wild key cannot make the ring allocate; get
consults far only when it is non-empty.

Invariants: every stored key is ≥ lo; a key is in the ring or in far, never both; span ≤ len(ring);
len(ring) is 0 or a power of two; a stored value is never the zero value.
*/
type window[V comparable] struct {
	lo   uint64 // the key of the ring slot at head
	ring []V    // slots for lo … lo+span-1, starting at head
	head int
	span int
	far  map[uint64]V
}

// heldSet is one sender's held entries by index (senderState.held).
type heldSet = window[*entry]

// maxHeldSpan bounds a window's ring (in slots).
const maxHeldSpan = 1 << 20

// get returns the value at idx, or the zero value.
func (h *window[V]) get(idx uint64) V {
	var zero V
	if idx >= h.lo && idx-h.lo < uint64(h.span) {
		if e := h.ring[(h.head+int(idx-h.lo))&(len(h.ring)-1)]; e != zero {
			return e
		}
	}
	if len(h.far) > 0 {
		return h.far[idx]
	}
	return zero
}

// has reports whether idx holds a value.
func (h *window[V]) has(idx uint64) bool {
	var zero V
	return h.get(idx) != zero
}

// set stores e (not the zero value) at idx (idx ≥ lo; a broken caller invariant panics).
func (h *window[V]) set(idx uint64, e V) {
	if idx < h.lo {
		panic("vsync: window key below the stable frontier")
	}
	off := idx - h.lo
	if off >= maxHeldSpan {
		if h.far == nil {
			h.far = map[uint64]V{}
		}
		h.far[idx] = e
		return
	}
	if len(h.far) > 0 {
		delete(h.far, idx) // stored far before the window moved up to it
	}
	if int(off) >= len(h.ring) {
		h.grow(int(off) + 1)
	}
	if int(off) >= h.span {
		h.span = int(off) + 1
	}
	h.ring[(h.head+int(off))&(len(h.ring)-1)] = e
}

// grow makes the ring hold at least n slots, keeping the held entries in place relative to lo.
func (h *window[V]) grow(n int) {
	size := max(16, len(h.ring))
	for size < n {
		size *= 2
	}
	ring := make([]V, size)
	for i := 0; i < h.span; i++ {
		ring[i] = h.ring[(h.head+i)&(len(h.ring)-1)]
	}
	h.ring, h.head = ring, 0
}

// remove deletes the value at idx, if any.
func (h *window[V]) remove(idx uint64) {
	var zero V
	if idx >= h.lo && idx-h.lo < uint64(h.span) {
		h.ring[(h.head+int(idx-h.lo))&(len(h.ring)-1)] = zero
	}
	if len(h.far) > 0 {
		delete(h.far, idx)
	}
}

// trim drops every index below lo (they will never be stored again) and moves the window to lo.
func (h *window[V]) trim(lo uint64) {
	if lo <= h.lo {
		return
	}
	var zero V
	drop := lo - h.lo
	if drop >= uint64(h.span) {
		clear(h.ring)
		h.head, h.span = 0, 0
	} else {
		for i := 0; i < int(drop); i++ {
			h.ring[(h.head+i)&(len(h.ring)-1)] = zero
		}
		h.head = (h.head + int(drop)) & (len(h.ring) - 1)
		h.span -= int(drop)
	}
	h.lo = lo
	for idx := range h.far {
		if idx < lo {
			delete(h.far, idx)
		}
	}
}

// keys returns the keys holding a value, in increasing order.
func (h *window[V]) keys() []uint64 {
	var zero V
	var out []uint64
	for i := 0; i < h.span; i++ {
		if h.ring[(h.head+i)&(len(h.ring)-1)] != zero {
			out = append(out, h.lo+uint64(i))
		}
	}
	if len(h.far) > 0 {
		for idx := range h.far {
			out = append(out, idx)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	}
	return out
}
