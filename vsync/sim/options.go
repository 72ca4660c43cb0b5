package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vsdb/vsdb/vsync/check"
)

// The fault names accepted in Options.Faults.
const (
	FaultCrash     = "crash"     // member processes crash (sometimes all of them) and restart as new incarnations
	FaultPartition = "partition" // the network splits in two for a while, then heals
	FaultDrop      = "drop"      // messages are lost
	FaultDelay     = "delay"     // messages take 1–8 ticks (so they are reordered)
	FaultDup       = "dup"       // messages are delivered twice
	FaultOracle    = "oracle"    // membership replicas crash and restart (a minority at a time)
)

// AllFaults lists every fault name.
var AllFaults = []string{FaultCrash, FaultPartition, FaultDrop, FaultDelay, FaultDup, FaultOracle}

// Options configures Run.
type Options struct {
	Seed    int64    // the first seed (default 1)
	Seeds   int      // how many consecutive seeds (default 1)
	Faults  []string // fault names (see AllFaults)
	Members int      // member processes (default 3)
	Oracle  int      // membership replicas (default 3; 1 to 5)
	Groups  int      // groups, every process in each (default 1)
	Steps   int      // ticks per run (default 1500); faults stop at 60%, the rest lets the group settle
	Phi     int      // SafeSend acceptors Φ (0 = all members)
	// OpPerMille is the chance, per member and tick, of starting an operation (default 60 = 6%).
	OpPerMille int
	// Bug injects a deliberate protocol bug into every member (only for proving that checkers fail).
	Bug string
	// Codec routes every member message through Marshal/Unmarshal.
	Codec bool
	// KeepHistory keeps each run's history in the result (tests and transcripts).
	KeepHistory bool
	// LeaseGuard makes the membership replicas wait out a suspected member's lease (OracleLeaseTicks
	// plus a margin) before removing it, as the server's replicas do: a member cut off from the
	// service has stopped before a view without it exists. Off, a suspicion is acted on at once.
	LeaseGuard bool
}

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Seeds == 0 {
		o.Seeds = 1
	}
	if o.Members == 0 {
		o.Members = 3
	}
	if o.Oracle == 0 {
		o.Oracle = 3
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	if o.Steps == 0 {
		o.Steps = 1500
	}
	if o.OpPerMille == 0 {
		o.OpPerMille = 60
	}
	return o
}

// Validate reports every problem of the options at once.
func (o Options) Validate() error {
	o = o.withDefaults()
	var bad []string
	for _, f := range o.Faults {
		ok := false
		for _, a := range AllFaults {
			ok = ok || a == f
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("unknown fault %q (want %s)", f, strings.Join(AllFaults, ",")))
		}
	}
	if o.Oracle < 1 || o.Oracle > 5 {
		bad = append(bad, fmt.Sprintf("Oracle = %d, want 1 to 5", o.Oracle))
	}
	if o.Members < 1 {
		bad = append(bad, fmt.Sprintf("Members = %d, want >= 1", o.Members))
	}
	if o.Seeds < 0 || o.Steps < 100 {
		bad = append(bad, fmt.Sprintf("Seeds = %d, Steps = %d: want Seeds >= 0 and Steps >= 100", o.Seeds, o.Steps))
	}
	if len(bad) > 0 {
		return fmt.Errorf("sim: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Result is the outcome of Run.
type Result struct {
	Seeds      int
	Violations int          // total over all seeds
	Failures   []SeedResult // seeds with violations, in seed order
	Runs       []SeedResult // every seed (only with KeepHistory)
	Stats      Stats        // summed over seeds
}

// SeedResult is one seed's outcome.
type SeedResult struct {
	Seed       int64
	Violations []check.Violation
	Replay     string // the command that replays this seed
	History    []check.Event
	Stats      Stats
}

// Stats counts what a run did.
type Stats struct {
	Ticks        int64
	Messages     int64            // member messages sent
	ByKind       map[string]int64 // member messages by kind
	Multicasts   int64            // multicasts started
	Deliveries   int64
	Views        int64 // ViewInstalled events
	Crashes      int64
	Restarts     int64
	Partitions   int64
	Stopped      map[string]int64 // members stopped, by reason
	Isolations   int64            // members whose lease ran out (EventLease with Isolated)
	Renewals     int64            // isolated members whose lease was renewed (EventLease without it)
	ViewChangeTk []int64          // ticks from a change's first attempt to the first install of the next view
	// Overflowed counts packets the network's buffer refused (not a fault: the run outgrew the buffer,
	// and its figures are not to be trusted; Scale fails on it).
	Overflowed int64
}

func (s *Stats) add(o Stats) {
	s.Ticks += o.Ticks
	s.Messages += o.Messages
	s.Multicasts += o.Multicasts
	s.Deliveries += o.Deliveries
	s.Views += o.Views
	s.Crashes += o.Crashes
	s.Restarts += o.Restarts
	s.Partitions += o.Partitions
	s.Overflowed += o.Overflowed
	s.Isolations += o.Isolations
	s.Renewals += o.Renewals
	if s.ByKind == nil {
		s.ByKind = map[string]int64{}
	}
	for k, v := range o.ByKind {
		s.ByKind[k] += v
	}
	if s.Stopped == nil {
		s.Stopped = map[string]int64{}
	}
	for k, v := range o.Stopped {
		s.Stopped[k] += v
	}
	s.ViewChangeTk = append(s.ViewChangeTk, o.ViewChangeTk...)
}

// FaultsArg returns the " --faults a,b" argument of a replay command (sorted), or "" for none.
func FaultsArg(faults []string) string {
	if len(faults) == 0 {
		return ""
	}
	f := slices.Clone(faults)
	sort.Strings(f)
	return " --faults " + strings.Join(f, ",")
}

// ReplayCommand returns the command line that replays seed under o.
func ReplayCommand(seed int64, o Options) string {
	o = o.withDefaults()
	cmd := fmt.Sprintf("vsdb sim --seed %d", seed) + FaultsArg(o.Faults)
	if o.Members != 3 {
		cmd += fmt.Sprintf(" --members %d", o.Members)
	}
	if o.Steps != 1500 {
		cmd += fmt.Sprintf(" --steps %d", o.Steps)
	}
	if o.Phi != 0 {
		cmd += fmt.Sprintf(" --phi %d", o.Phi)
	}
	if o.Bug != "" {
		cmd += " --bug " + o.Bug
	}
	return cmd
}

// Run runs opts.Seeds seeds from opts.Seed and checks each history.
func Run(opts Options) Result {
	opts = opts.withDefaults()
	res := Result{Seeds: opts.Seeds}
	for i := 0; i < opts.Seeds; i++ {
		seed := opts.Seed + int64(i)
		sr := RunSeed(seed, opts)
		res.Violations += len(sr.Violations)
		res.Stats.add(sr.Stats)
		if len(sr.Violations) > 0 {
			res.Failures = append(res.Failures, sr)
		}
		if opts.KeepHistory {
			res.Runs = append(res.Runs, sr)
		} else {
			sr.History = nil
		}
	}
	return res
}

// Report renders what `vsdb sim` prints: each failing seed with its replay command and violations
// (at most maxPerSeed each), then the summary line "seeds=N violations=V".
func (r Result) Report(maxPerSeed int) string {
	var b strings.Builder
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "FAIL seed %d: %s\n", f.Seed, f.Replay)
		for i, v := range f.Violations {
			if i == maxPerSeed {
				fmt.Fprintf(&b, "  … %d more\n", len(f.Violations)-i)
				break
			}
			fmt.Fprintf(&b, "  %s: %s\n", v.Checker, v.Detail)
		}
	}
	if r.Stats.Overflowed > 0 {
		fmt.Fprintf(&b, "warning: the simulated network's buffer refused %d packets (drops the faults did not ask for)\n", r.Stats.Overflowed)
	}
	fmt.Fprintf(&b, "seeds=%d violations=%d\n", r.Seeds, r.Violations)
	return b.String()
}
