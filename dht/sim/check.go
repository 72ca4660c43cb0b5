package sim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/vsync/check"
)

/*
The checks of one run (Check):
  - linearizable: the history, as per-key registers, is linearizable (vsync/check's porcupine model).
    Every key starts absent (an initial put of the absent marker); a DEL is a put of the absent marker;
    an INCR that answered n is a get of n-1 (absent for 1) and a put of n over the same interval; an
    operation whose outcome is unknown is a write that may take effect until the end of time (reads
    with no answer are dropped). A shard reset is a put of the absent marker of each of its keys at the
    reset's first install. An INCR of unknown outcome writes a value nobody knows (the register model
    cannot express "+1"), so from its call on the counter's reads (GETs, and the reads of answered
    INCRs) are left out; the answered INCRs' writes stay.
    Answered INCRs of one counter must also return distinct values (no lost update) unless a reset of
    its shard came between them.
  - lost_acked: an acknowledged write whose value is not the key's value in the final read, and that
    no other write nor a shard reset could have overwritten: every other write of the key was answered
    before the write began (one of unknown outcome may take effect at any time), and no reset came
    after its start.
  - partial_reads: an MGET of a pair (two keys in two shards, only ever written together by MSET or
    DEL of both) that saw different values, unless one key was absent because its shard was reset after
    the MSET of the other began.
  - digest_mismatch: after the run, the loaded replicas of one shard have different dht.Cluster digests.
*/

// absentValue marks an absent key in the register model.
const absentValue = "\x00absent"

// linTimeout bounds the porcupine search of one run.
const linTimeout = 20 * time.Second

// outcome is what the checks found in one run.
type outcome struct {
	linearizable   bool
	linInfo        string
	lostAcked      []string
	partialReads   []string
	digestMismatch []string
	settle         []string
}

func (d *driver) check() outcome {
	var out outcome
	end := d.next()
	for _, o := range d.ops {
		if o.status == statusPending {
			o.status, o.ret, o.retTk = statusUnknown, end, d.h.Now()
		}
	}
	out.linearizable, out.linInfo = d.checkLinearizable(end)
	out.lostAcked, out.settle = d.checkLostAcked()
	out.partialReads = d.checkPartialReads()
	out.digestMismatch = d.checkDigests()
	return out
}

// value returns the register value a reply element stands for.
func value(v protocol.Value) string {
	if v.Kind == protocol.Null {
		return absentValue
	}
	return string(v.Str)
}

// writes returns the register writes of o: key → value (absent for DEL).
func (d *driver) writes(o *op) map[string]string {
	w := map[string]string{}
	switch o.kind {
	case kindSet, kindMSet:
		for _, k := range o.keys {
			w[k] = o.value
		}
	case kindDel, kindMDel:
		for _, k := range o.keys {
			w[k] = absentValue
		}
	case kindIncr:
		if o.status == statusOK {
			w[o.keys[0]] = strconv.FormatInt(o.reply.Int, 10)
		} else {
			w[o.keys[0]] = "" // unknown
		}
	}
	return w
}

// reads returns the register reads of an answered o: key → value.
func (d *driver) reads(o *op) map[string]string {
	r := map[string]string{}
	if o.status != statusOK {
		return r
	}
	switch o.kind {
	case kindGet:
		r[o.keys[0]] = value(o.reply)
	case kindMGet, kindFinal:
		for i, k := range o.keys {
			if i < len(o.reply.Array) {
				r[k] = value(o.reply.Array[i])
			}
		}
	case kindIncr:
		prev := absentValue
		if o.reply.Int > 1 {
			prev = strconv.FormatInt(o.reply.Int-1, 10)
		}
		r[o.keys[0]] = prev
	case kindDel:
		if o.reply.Int == 0 {
			r[o.keys[0]] = absentValue
		}
	}
	return r
}

func (d *driver) checkLinearizable(end int64) (bool, string) {
	var kv []check.KVOp
	for _, k := range d.keys.all() {
		kv = append(kv, check.KVOp{ClientID: -1, Key: k, Kind: "put", Value: absentValue, Call: 0, Return: 0})
	}
	// Counters with an INCR of unknown outcome: their operations from its call on are left out.
	tainted := map[string]int64{}
	for _, o := range d.ops {
		if o.kind == kindIncr && o.status == statusUnknown {
			if t, ok := tainted[o.keys[0]]; !ok || o.call < t {
				tainted[o.keys[0]] = o.call
			}
		}
	}
	// A read of a tainted counter that ended before the first INCR of unknown outcome began cannot
	// have seen it; later reads may have (the INCRs' writes of known values are all kept).
	readable := func(o *op, k string) bool {
		t, ok := tainted[k]
		return !ok || (o.status == statusOK && o.ret < t)
	}
	for _, o := range d.ops {
		if o.status == statusFailed || o.status == statusPending {
			continue
		}
		ret := o.ret
		if o.status == statusUnknown {
			ret = end
		}
		for k, v := range d.reads(o) {
			if readable(o, k) {
				kv = append(kv, check.KVOp{ClientID: o.client, Key: k, Kind: "get", Value: v, Found: true, Call: o.call, Return: ret})
			}
		}
		if !o.write {
			continue
		}
		for k, v := range d.writes(o) {
			if v != "" {
				kv = append(kv, check.KVOp{ClientID: o.client, Key: k, Kind: "put", Value: v, Call: o.call, Return: ret})
			}
		}
	}
	for _, r := range d.resets {
		for _, k := range d.keys.all() {
			if r.loses(k) {
				kv = append(kv, check.KVOp{ClientID: -2, Key: k, Kind: "put", Value: absentValue, Call: r.at, Return: r.at})
			}
		}
	}
	// Keys in a stable order: porcupine's partition sorts keys, and the ops keep their order.
	slices.SortStableFunc(kv, func(a, b check.KVOp) int { return int(a.Call - b.Call) })
	ok, info := check.CheckLinearizable(kv, linTimeout)
	if !ok {
		return false, info
	}
	if dup := d.duplicateIncrs(); dup != "" {
		return false, dup
	}
	return true, info
}

// duplicateIncrs finds two answered INCRs of one counter with the same result and no reset of its
// shard between them (a lost update).
func (d *driver) duplicateIncrs() string {
	seen := map[string]*op{}
	for _, o := range d.ops {
		if o.kind != kindIncr || o.status != statusOK {
			continue
		}
		key := o.keys[0] + "=" + strconv.FormatInt(o.reply.Int, 10)
		if p := seen[key]; p != nil && !d.resetBetween(o.keys[0], min(p.call, o.call), max(p.ret, o.ret)) {
			return fmt.Sprintf("not linearizable: lost update: INCR %s answered %d twice (client %d [%d,%d] at %s, client %d [%d,%d] at %s)",
				o.keys[0], o.reply.Int, p.client, p.callTk, p.retTk, p.proc, o.client, o.callTk, o.retTk, o.proc)
		}
		seen[key] = o
	}
	return ""
}

// resetBetween reports whether key's shard was reset at a stamp in (from, to).
func (d *driver) resetBetween(key string, from, to int64) bool {
	for _, r := range d.resets {
		if r.loses(key) && r.at > from && r.at < to {
			return true
		}
	}
	return false
}

// final returns the final read's values (nil if it did not answer).
func (d *driver) finalState() map[string]string {
	if d.final == nil || d.final.status != statusOK {
		return nil
	}
	return d.reads(d.final)
}

func (d *driver) checkLostAcked() (lost, settle []string) {
	final := d.finalState()
	if final == nil {
		st := "never issued"
		if d.final != nil {
			st = statusNames[d.final.status]
		}
		return nil, []string{fmt.Sprintf("the final read did not answer (%s): the cluster did not settle", st)}
	}
	for _, w := range d.ops {
		if !w.write || w.status != statusOK {
			continue
		}
		for k, v := range d.writes(w) {
			if final[k] == v || d.resetBetween(k, w.call, math.MaxInt64) {
				continue
			}
			overwritten := false
			for _, o := range d.ops {
				// An operation of unknown outcome may take effect any time after its call.
				if o == w || !o.write || o.status == statusFailed || (o.status == statusOK && o.ret < w.call) {
					continue
				}
				if _, ok := d.writes(o)[k]; ok {
					overwritten = true
					break
				}
			}
			if !overwritten {
				lost = append(lost, fmt.Sprintf("%s %s=%q by client %d at %s, acknowledged [tick %d,%d], final value %q, no later write",
					kindNames[w.kind], k, show(v), w.client, w.proc, w.callTk, w.retTk, show(final[k])))
			}
		}
	}
	return lost, nil
}

func show(v string) string {
	if v == absentValue {
		return "(absent)"
	}
	return v
}

func (d *driver) checkPartialReads() []string {
	msetOf := map[string]*op{}
	for _, o := range d.ops {
		if o.kind == kindMSet {
			msetOf[o.value] = o
		}
	}
	var out []string
	for _, o := range d.ops {
		if (o.kind != kindMGet && o.kind != kindFinal) || o.status != statusOK {
			continue
		}
		r := d.reads(o)
		for _, p := range d.keys.pairs {
			a, b := r[p[0]], r[p[1]]
			if a == b {
				continue
			}
			excused := false
			for _, x := range [][2]string{{p[0], b}, {p[1], a}} { // (absent key, other value)
				absentKey, other := x[0], x[1]
				if r[absentKey] != absentValue {
					continue
				}
				if w := msetOf[other]; w != nil && d.resetBetween(absentKey, w.call, math.MaxInt64) {
					excused = true
				}
			}
			if !excused {
				out = append(out, fmt.Sprintf("%s by client %d at %s [tick %d,%d] saw %s=%q %s=%q",
					kindNames[o.kind], o.client, o.proc, o.callTk, o.retTk, p[0], show(a), p[1], show(b)))
			}
		}
	}
	return out
}

// checkDigests compares the digests of the loaded replicas of each shard at the end of the run.
func (d *driver) checkDigests() []string {
	type rd struct {
		member string
		digest uint64
	}
	byShard := map[int][]rd{}
	for _, proc := range d.h.Procs() {
		r := d.reps[proc]
		if r == nil || r.stopped || d.h.Member(proc, 0) != r.m {
			continue
		}
		dg, s := r.c.Digest(d.nowMs())
		if s >= 0 {
			byShard[s] = append(byShard[s], rd{r.m.ID(), dg})
		}
	}
	var out []string
	for s := 0; s < d.ns; s++ {
		reps := byShard[s]
		for _, x := range reps[min(1, len(reps)):] {
			if x.digest != reps[0].digest {
				out = append(out, fmt.Sprintf("shard %d: %s has digest %x %s, %s has %x %s", s, reps[0].member, reps[0].digest, d.dump(reps[0].member),
					x.member, x.digest, d.dump(x.member)))
			}
		}
	}
	return out
}

// dump renders member's values of the workload's keys of its shard (for a digest mismatch).
func (d *driver) dump(member string) string {
	for _, r := range d.reps {
		if r.m.ID() != member {
			continue
		}
		_, s := r.c.Digest(d.nowMs())
		rt := r.c.Router()
		var parts []string
		for _, k := range d.keys.all() {
			if rt.ShardOfKey([]byte(k)) != s {
				continue
			}
			out, ok := r.c.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte(k)}}, d.nowMs())
			if !ok {
				parts = append(parts, k+"=?")
				continue
			}
			parts = append(parts, k+"="+strings.TrimSpace(strings.ReplaceAll(string(out), "\r\n", " ")))
		}
		return fmt.Sprintf("{%s keys=%d}", strings.Join(parts, " "), r.c.Stats().Keys)
	}
	return "{}"
}
