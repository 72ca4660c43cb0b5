package dht

import (
	"maps"
	"slices"

	"github.com/vsdb/vsdb/shard"
)

/*
Streaming a shard's slice with bounded memory. A donor must send its shard as it was at the view's cut
(the recipient applies the shard's ops delivered since the cut on top of it), while it goes on applying
those ops. It does not copy the shard at the cut: each Transfer has a cursor (the next slot of the
store's CRC16 index to export), and its chunks are cut from the live store on demand (Transfer.Next,
from the driver's sending goroutine, one chunk in flight). Before an op writes a key whose slot the
cursor has not passed, the donor saves the key's pre-image: the commands that rebuild it as it was at
the cut, or nothing if it did not exist (copy-on-write per key). A chunk of slot s then holds the
pre-images of s's saved keys and the current value of its other keys: exactly s at the cut.

Invariants:
  - A key's pre-image is saved at most once per transfer, before the first write after the cut to it,
    and only while the cursor has not passed its slot; a key created after the cut has an empty
    pre-image and is not sent.
  - Keyless writes (FLUSHALL, FLUSHDB) save every unsent key: the one case where a transfer's memory
    grows to the unsent part of the shard.
  - Expiry (active or on access) is not a write: a key that expires and is reclaimed before its slot is
    sent is not sent, which the recipient cannot tell from a sent expired key.
  - A view change ends every transfer (OnView starts new ones at the new cut): Next then reports !ok.
Memory: the chunk being cut (about ChunkBytes) plus the pre-images of the keys written during the
transfer, instead of a copy of the whole shard.
*/

// exportState is one Transfer's progress (guarded by the Cluster's mutex).
type exportState struct {
	to     string
	view   uint64
	shard  int
	seq    uint64
	cursor int                              // the next slot to export; shard.SlotCount: done
	saved  map[uint16]map[string][][][]byte // slot → key → pre-image (nil: absent at the cut)
}

// Next cuts the transfer's next chunk (an encoded OpChunk). last marks the final one; ok is false when
// a view change ended the transfer (the next view starts a new one).
func (t Transfer) Next() (chunk []byte, last, ok bool) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	x := t.x
	if x == nil || !slices.Contains(c.exports, x) || x.cursor >= shard.SlotCount {
		return nil, false, false
	}
	x.seq++
	op := Op{Kind: OpChunk, ID: x.view, Shard: x.shard, Seq: x.seq}
	size := 0
	emit := func(cmd [][]byte) { size += op.appendCmd(cmd) }
	for x.cursor < shard.SlotCount && size < ChunkBytes {
		slot := uint16(x.cursor)
		saved := x.saved[slot]
		c.st.ExportSlot(slot, 0, func(cmd [][]byte) {
			if _, ok := saved[string(cmd[1])]; !ok {
				emit(cmd)
			}
		})
		for _, k := range slices.Sorted(maps.Keys(saved)) {
			for _, cmd := range saved[k] {
				emit(cmd)
			}
		}
		delete(x.saved, slot)
		x.cursor = c.nextExportSlot(x, x.cursor+1)
	}
	op.Last = x.cursor >= shard.SlotCount
	if op.Last {
		c.exports = slices.DeleteFunc(c.exports, func(e *exportState) bool { return e == x })
	}
	return op.Encode(nil), op.Last, true
}

// nextExportSlot returns the first slot ≥ from that has keys now or saved pre-images (shard.SlotCount:
// none).
func (c *Cluster) nextExportSlot(x *exportState, from int) int {
	next := c.st.NextSlot(from)
	if next < 0 {
		next = shard.SlotCount
	}
	for s := range x.saved {
		if int(s) >= from && int(s) < next {
			next = int(s)
		}
	}
	return next
}

// startExport begins a transfer of this member's shard s to member to, at the current cut. Caller
// holds c.mu.
func (c *Cluster) startExport(to string, s int, view uint64) Transfer {
	x := &exportState{to: to, view: view, shard: s, saved: map[uint16]map[string][][][]byte{}}
	x.cursor = c.nextExportSlot(x, 0)
	if x.cursor >= shard.SlotCount {
		x.cursor = shard.SlotCount - 1 // an empty shard still sends its one (last, empty) chunk
	}
	c.exports = append(c.exports, x)
	return Transfer{To: to, c: c, x: x}
}

// preserve saves, for every transfer in progress, the pre-images of the keys that write command cmd is
// about to change (see the block comment). Caller holds c.mu.
func (c *Cluster) preserve(cmd [][]byte) {
	if len(c.exports) == 0 || !c.st.IsWrite(cmd[0]) {
		return
	}
	if IsKeyless(cmd[0]) {
		for _, x := range c.exports {
			for slot := c.st.NextSlot(x.cursor); slot >= 0; slot = c.st.NextSlot(slot + 1) {
				c.st.ExportSlot(uint16(slot), 0, func(e [][]byte) { c.save(x, e[1]) })
			}
		}
		return
	}
	eachKey(cmd, func(i int) {
		for _, x := range c.exports {
			c.save(x, cmd[i])
		}
	})
}

// save records key's pre-image in transfer x unless x already sent its slot or saved it.
func (c *Cluster) save(x *exportState, key []byte) {
	slot := shard.KeySlot(key) // the store's index slot, which the cursor walks
	if int(slot) < x.cursor {
		return
	}
	m := x.saved[slot]
	if _, done := m[string(key)]; done {
		return
	}
	if m == nil {
		m = map[string][][][]byte{}
		x.saved[slot] = m
	}
	var pre [][][]byte
	c.st.ExportKey(key, 0, func(cmd [][]byte) { pre = append(pre, cloneArgs(cmd)) })
	m[string(key)] = pre
}
