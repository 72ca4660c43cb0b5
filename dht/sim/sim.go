package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/shard"
	vsim "github.com/vsdb/vsdb/vsync/sim"
)

// ErrBadOptions reports options that cannot run.
var ErrBadOptions = errors.New("dhtsim: invalid options")

// Options configures Run and RunSeed.
type Options struct {
	Seed    int64    // the first seed (default 1)
	Seeds   int      // how many consecutive seeds (default 1)
	Faults  []string // fault names of vsync/sim (crash, partition, drop, delay, dup, oracle)
	Members int      // member processes (default 5)
	Params  dht.Params
	Steps   int // ticks per run (default 1500); faults stop at 60%
	Clients int // concurrent clients, one operation in flight each (default 6)
	// OpPerMille is the chance, per idle client and tick, of starting an operation (default 150).
	OpPerMille int
	// StaleReads injects a deliberate stale-read bug (only to prove the checker fails): the membership
	// service removes a suspected member without waiting out its lease, and replicas serve local reads
	// while wedged, so a replica cut off from the group keeps answering from its old data.
	StaleReads bool
	// NoReadIndex injects another deliberate bug: replicas serve local reads without waiting for the
	// read index, so a replica that has not yet applied a write its originator acknowledged at its own
	// delivery (LocalAck) answers without it.
	NoReadIndex bool
	// KeepHistory keeps each run's formatted history in its SeedResult.
	KeepHistory bool
	// Rehash switches the group to hash generation 1 at a quarter of the run and to generation 2 at
	// 45% (SimHashers), so keys migrate between shards at consistent cuts while the clients run and
	// the faults strike (dht/rehash.go).
	Rehash bool
	// WriteAckAll acknowledges every write when every member answered (the server's --cluster-write-ack
	// all). Default: a write whose originator is a ready replica of its shards is acknowledged at the
	// originator's own delivery (LocalAck), and local reads wait for the read index.
	WriteAckAll bool
}

// SimHashers are the custom hashers of a Rehash run: generation g XORs the CRC16 slot with a
// constant, which moves about half of the keys (all of them with 2 shards, for g = 1) to another shard.
func SimHashers(gen uint64) dht.Hasher {
	if gen == 0 || gen > 2 {
		return nil
	}
	mask := uint16(gen*0x2A5B) & 0x3FFF
	return dht.HasherFunc(func(key []byte) uint16 { return shard.KeySlot(key) ^ mask })
}

// DefaultParams is the layout of a run: 2 shards of 2 replicas (a fifth member is a spare replica of
// shard 0), at least 2 members to serve.
var DefaultParams = dht.Params{RF: 2, ExpectedGroupSize: 4, MinGroupSize: 2}

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Seeds == 0 {
		o.Seeds = 1
	}
	if o.Members == 0 {
		o.Members = 5
	}
	if o.Params == (dht.Params{}) {
		o.Params = DefaultParams
	}
	o.Params = o.Params.WithDefaults()
	if o.Steps == 0 {
		o.Steps = 1500
	}
	if o.Clients == 0 {
		o.Clients = 6
	}
	if o.OpPerMille == 0 {
		o.OpPerMille = 150
	}
	return o
}

func (o Options) simOptions() vsim.Options {
	return vsim.Options{Faults: o.Faults, Members: o.Members, Oracle: 3, Groups: 1, Steps: o.Steps, LeaseGuard: !o.StaleReads}
}

// Validate reports every problem of the options at once.
func (o Options) Validate() error {
	o = o.withDefaults()
	var bad []string
	if err := o.simOptions().Validate(); err != nil {
		bad = append(bad, err.Error())
	}
	if err := o.Params.Validate(); err != nil {
		bad = append(bad, err.Error())
	}
	if o.Steps < 2*stopBeforeEndTicks {
		bad = append(bad, fmt.Sprintf("Steps = %d, want >= %d", o.Steps, 2*stopBeforeEndTicks))
	}
	if o.Clients < 1 || o.OpPerMille < 1 || o.OpPerMille > 1000 {
		bad = append(bad, fmt.Sprintf("Clients = %d, OpPerMille = %d: want >= 1 and 1..1000", o.Clients, o.OpPerMille))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrBadOptions, strings.Join(bad, "; "))
	}
	return nil
}

// SeedResult is one seed's outcome.
type SeedResult struct {
	Seed         int64
	Linearizable bool
	// LinInfo is porcupine's account (the keys and operations when not linearizable); its intervals
	// are event stamps (one counter over every invocation and response), not ticks.
	LinInfo        string
	LostAcked      []string // acknowledged writes missing from the final state
	PartialReads   []string // multi-key reads that saw part of an atomic multi-key write
	DigestMismatch []string // replicas of one shard that disagree after the run
	Other          []string // the group layer's checkers and liveness, and a final read that failed
	Replay         string   // the command that replays this seed
	Stats          Stats
	History        string // the formatted history (only with KeepHistory)
}

// Violations counts the seed's violations.
func (r SeedResult) Violations() int {
	n := len(r.LostAcked) + len(r.PartialReads) + len(r.DigestMismatch) + len(r.Other)
	if !r.Linearizable {
		n++
	}
	return n
}

// Stats counts what runs did.
type Stats struct {
	Ops        int // client operations issued
	OK         int // answered
	Unknown    int // outcome unknown (timeout, CLUSTERDOWN after sending, crash of the member)
	Failed     int // refused before anything was sent
	LocalReads int // answered by a local read
	// LocalAcks counts the writes acknowledged at their originator's own delivery (LocalAck), and
	// Resent those applied nowhere there and sent again as a query.
	LocalAcks, Resent int
	Resets            int // shard resets (every replica holding a shard's data failed together)
	// MovedResets counts the resets in which a replica that held the shard's data survived in the
	// view but was placed in another shard (the data was lost by the placement, not by the faults).
	MovedResets int
	// Migrations counts the hash-generation changes that took effect (Rehash): the generation the
	// members ended at.
	Migrations int
	Views      int64
	Crashes    int64
	Partitions int64
}

func (s *Stats) add(o Stats) {
	s.Ops += o.Ops
	s.OK += o.OK
	s.Unknown += o.Unknown
	s.Failed += o.Failed
	s.LocalReads += o.LocalReads
	s.LocalAcks += o.LocalAcks
	s.Resent += o.Resent
	s.Resets += o.Resets
	s.MovedResets += o.MovedResets
	s.Migrations += o.Migrations
	s.Views += o.Views
	s.Crashes += o.Crashes
	s.Partitions += o.Partitions
}

// RunSeed runs and checks one seed.
func RunSeed(seed int64, o Options) SeedResult {
	o = o.withDefaults()
	d := newDriver(o)
	vr := vsim.RunApp(seed, o.simOptions(), d)
	out := d.check()
	sr := SeedResult{Seed: seed, Linearizable: out.linearizable, LinInfo: out.linInfo, LostAcked: out.lostAcked,
		PartialReads: out.partialReads, DigestMismatch: out.digestMismatch, Other: out.settle, Replay: ReplayCommand(seed, o)}
	for _, v := range vr.Violations {
		sr.Other = append(sr.Other, v.Checker+": "+v.Detail)
	}
	sr.Stats = Stats{Ops: len(d.ops), Resets: len(d.resets), Views: vr.Stats.Views, Crashes: vr.Stats.Crashes, Partitions: vr.Stats.Partitions}
	for _, r := range d.resets {
		if r.moved {
			sr.Stats.MovedResets++
		}
	}
	for _, r := range d.reps {
		sr.Stats.Migrations = max(sr.Stats.Migrations, int(r.c.Router().Gen))
	}
	for _, op := range d.ops {
		switch op.status {
		case statusOK:
			sr.Stats.OK++
		case statusUnknown:
			sr.Stats.Unknown++
		case statusFailed:
			sr.Stats.Failed++
		}
		if op.local {
			sr.Stats.LocalReads++
		}
		if op.localAck && op.status == statusOK {
			sr.Stats.LocalAcks++
		}
		if op.resent {
			sr.Stats.Resent++
		}
	}
	if o.KeepHistory {
		sr.History = d.formatHistory()
	}
	return sr
}

// Result is the outcome of Run.
type Result struct {
	Seeds          int
	Violations     int // total over all seeds
	NotLinearized  int // seeds whose history is not linearizable
	LostAcked      int
	PartialReads   int
	DigestMismatch int
	Other          int
	Failures       []SeedResult // seeds with violations, in seed order
	Stats          Stats
}

// Run runs opts.Seeds seeds from opts.Seed and checks each.
func Run(o Options) Result {
	o = o.withDefaults()
	res := Result{Seeds: o.Seeds}
	for i := 0; i < o.Seeds; i++ {
		sr := RunSeed(o.Seed+int64(i), o)
		res.Stats.add(sr.Stats)
		if !sr.Linearizable {
			res.NotLinearized++
		}
		res.LostAcked += len(sr.LostAcked)
		res.PartialReads += len(sr.PartialReads)
		res.DigestMismatch += len(sr.DigestMismatch)
		res.Other += len(sr.Other)
		if n := sr.Violations(); n > 0 {
			res.Violations += n
			res.Failures = append(res.Failures, sr)
		}
	}
	return res
}

// Summary is the result's one-line summary: seeds=N linearizable=yes|no lost_acked=… violations=V.
func (r Result) Summary() string {
	lin := "yes"
	if r.NotLinearized > 0 {
		lin = fmt.Sprintf("no(%d seeds)", r.NotLinearized)
	}
	return fmt.Sprintf("seeds=%d linearizable=%s lost_acked=%d partial_reads=%d digest_mismatch=%d other=%d violations=%d",
		r.Seeds, lin, r.LostAcked, r.PartialReads, r.DigestMismatch, r.Other, r.Violations)
}

// Report renders every failing seed (its replay command and at most maxPerSeed violations) and the
// summary line.
func (r Result) Report(maxPerSeed int) string {
	var b strings.Builder
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "FAIL seed=%d (%d violations) replay: %s\n", f.Seed, f.Violations(), f.Replay)
		var lines []string
		if !f.Linearizable {
			lines = append(lines, "linearizable: "+f.LinInfo)
		}
		for _, l := range f.LostAcked {
			lines = append(lines, "lost_acked: "+l)
		}
		for _, l := range f.PartialReads {
			lines = append(lines, "partial_read: "+l)
		}
		for _, l := range f.DigestMismatch {
			lines = append(lines, "digest_mismatch: "+l)
		}
		lines = append(lines, f.Other...)
		for i, l := range lines {
			if i == maxPerSeed {
				fmt.Fprintf(&b, "  … %d more\n", len(lines)-i)
				break
			}
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	s := r.Stats
	fmt.Fprintf(&b, "ops=%d ok=%d unknown=%d failed=%d local_reads=%d local_acks=%d resent=%d shard_resets=%d (placement moved the data holder: %d) views=%d crashes=%d partitions=%d migrations=%d\n",
		s.Ops, s.OK, s.Unknown, s.Failed, s.LocalReads, s.LocalAcks, s.Resent, s.Resets, s.MovedResets, s.Views, s.Crashes, s.Partitions, s.Migrations)
	b.WriteString(r.Summary() + "\n")
	return b.String()
}

// ReplayCommand returns the command line that replays seed under o.
func ReplayCommand(seed int64, o Options) string {
	o = o.withDefaults()
	cmd := fmt.Sprintf("vsdb dhtsim --seed %d", seed) + vsim.FaultsArg(o.Faults)
	if o.Members != 5 {
		cmd += fmt.Sprintf(" --members %d", o.Members)
	}
	if o.Params != DefaultParams.WithDefaults() {
		cmd += fmt.Sprintf(" --rf %d --expected %d --min %d", o.Params.RF, o.Params.ExpectedGroupSize, o.Params.MinGroupSize)
	}
	if o.Steps != 1500 {
		cmd += fmt.Sprintf(" --steps %d", o.Steps)
	}
	if o.Clients != 6 {
		cmd += fmt.Sprintf(" --clients %d", o.Clients)
	}
	if o.OpPerMille != 150 {
		cmd += fmt.Sprintf(" --op-per-mille %d", o.OpPerMille)
	}
	if o.StaleReads {
		cmd += " --bug stale-reads"
	}
	if o.NoReadIndex {
		cmd += " --bug no-read-index"
	}
	if o.Rehash {
		cmd += " --rehash"
	}
	if o.WriteAckAll {
		cmd += " --write-ack-all"
	}
	return cmd
}

// formatHistory renders the client history, one operation a line, and the shard resets.
func (d *driver) formatHistory() string {
	var b strings.Builder
	lines := map[int64][]string{}
	var stamps []int64
	add := func(stamp int64, l string) {
		if lines[stamp] == nil {
			stamps = append(stamps, stamp)
		}
		lines[stamp] = append(lines[stamp], l)
	}
	for _, e := range d.events {
		add(e.stamp, fmt.Sprintf("[%d] %s", e.tick, e.text))
	}
	for _, o := range d.ops {
		res := ""
		if o.status == statusOK {
			res = " -> " + strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(formatValue(o)), "\n", " "))
		}
		path := "ordered"
		if o.local {
			path = "local"
		}
		add(o.call, fmt.Sprintf("[%d,%d] client %d at %s %s %q %s %s%s", o.callTk, o.retTk, o.client, o.proc, kindNames[o.kind],
			o.keys, path, statusNames[o.status], res))
	}
	for _, r := range d.resets {
		add(r.at, fmt.Sprintf("[%d] shard %d reset at view %d (data holder moved to another shard: %v)", r.tick, r.shard, r.view, r.moved))
	}
	slices.Sort(stamps)
	for _, st := range stamps {
		for _, l := range lines[st] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func formatValue(o *op) string {
	switch {
	case o.reply.Array != nil:
		var parts []string
		for _, v := range o.reply.Array {
			parts = append(parts, show(value(v)))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case o.kind == kindIncr || o.kind == kindDel || o.kind == kindMDel:
		return fmt.Sprint(o.reply.Int)
	}
	return show(value(o.reply))
}
