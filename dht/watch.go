package dht

import (
	"slices"

	"github.com/vsdb/vsdb/shard"
)

/*
WATCH on a cluster. A transaction's watched keys may live in any shard, and EXEC is one ordered op that
every member delivers at the same point of the total order; every member must take the same decision
(execute or abort), including the members that hold none of the watched keys. So the decision depends
only on what every member knows: the ops delivered in the current view.

  - Every member keeps write stamps: the number of ordered write ops delivered in the current view
    (seq), and per slot the seq of the last op with a write command on a key of that slot (flush: the
    last FLUSHALL/FLUSHDB). A key's version is max(slot stamp, flush stamp). Stamps come from the op's
    commands, not from the data, so a member that is not a replica of the key's shard, or still loads
    it, keeps the same stamps as its replicas. A view install resets them (every member, at the same
    cut, a joiner included).
  - WATCH takes (view, version) from the watching node's own stamps, then reads the key's deadline
    (PEXPIRETIME, strict) through the cluster. That read is ordered after the prefix the stamps came
    from, so if the version is still the same at EXEC, no write touched the key in between and the key
    is as the read saw it: it expired exactly when EXEC's time passed its deadline.
  - EXEC carries a Guard per transaction (its command range in the op and its watches). At delivery,
    each member goes through the op's commands in order, stamping each write; when a guard's first
    command comes (after the earlier commands of the op, which may be other clients' requests batched
    with it, were stamped), it aborts the guard's commands if any watch was taken in another view, its
    version changed, or its deadline passed at the op's time. The replicas
    then execute the rest of the op; an aborted command's part is answered with an empty reply, and the
    originator answers EXEC with a null array.

Aborts are conservative, like Redis's own (a write to another key of the same slot, or any view change
between WATCH and EXEC, aborts too); a transaction never executes after a watched key changed.
*/

// Guard makes commands First..First+Count-1 of an op conditional on Watches (WATCH … EXEC).
type Guard struct {
	First, Count int
	Watches      []Watch
}

// writeStamps are the per-view write stamps (see above).
type writeStamps struct {
	seq   uint64
	flush uint64
	slot  [shard.SlotCount]uint64
}

func (w *writeStamps) reset() { *w = writeStamps{} }

// flushAll changes every key's version (as a FLUSHALL does): a hash-generation cut.
func (w *writeStamps) flushAll() {
	w.seq++
	w.flush = w.seq
}

func (w *writeStamps) version(key []byte) uint64 { return max(w.slot[shard.KeySlot(key)], w.flush) }

// noteCmd stamps the keys of one write command with the current op's seq.
func (w *writeStamps) noteCmd(cmd [][]byte, isWrite func([]byte) bool) {
	if len(cmd) == 0 || !isWrite(cmd[0]) {
		return
	}
	if IsKeyless(cmd[0]) {
		w.flush = w.seq
		return
	}
	eachKey(cmd, func(k int) { w.slot[shard.KeySlot(cmd[k])] = w.seq })
}

// WatchVersion returns the current view and key's version at this member (WATCH on a cluster).
func (c *Cluster) WatchVersion(key []byte) (view, version uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view.ID, c.stamps.version(key)
}

// guardAndStamp decides op's guards and stamps its writes, command by command in the op's order: a
// guard is decided when its first command comes, after the earlier commands of the same op were
// stamped (a batch op carries several clients' requests: two EXECs that watched the same key must not
// both run). It returns, per command, whether its guard failed (nil: none failed).
func (c *Cluster) guardAndStamp(op Op) []bool {
	if op.Kind == OpWrite {
		c.stamps.seq++
	}
	guards := op.Guards // by First (the batcher makes them so; any other order is sorted here)
	byFirst := func(a, b Guard) int { return a.First - b.First }
	if !slices.IsSortedFunc(guards, byFirst) {
		guards = slices.Clone(guards)
		slices.SortStableFunc(guards, byFirst)
	}
	var aborted []bool
	next := 0
	for i, cmd := range op.Cmds {
		for ; next < len(guards) && guards[next].First <= i; next++ {
			g := guards[next]
			if g.First != i || g.Count <= 0 || g.First+g.Count > len(op.Cmds) || c.guardHolds(g, op.NowMs) {
				continue
			}
			if aborted == nil {
				aborted = make([]bool, len(op.Cmds))
			}
			for j := g.First; j < g.First+g.Count; j++ {
				aborted[j] = true
			}
		}
		if op.Kind == OpWrite && (aborted == nil || !aborted[i]) {
			c.stamps.noteCmd(cmd, c.st.IsWrite)
		}
	}
	return aborted
}

func (c *Cluster) guardHolds(g Guard, nowMs int64) bool {
	for _, w := range g.Watches {
		if w.View != c.view.ID || c.stamps.version(w.Key) != w.Version || (w.DeadlineMs >= 0 && nowMs > w.DeadlineMs) {
			return false
		}
	}
	return true
}
