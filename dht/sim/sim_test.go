package sim

import (
	"strings"
	"testing"
)

var allFaults = []string{"crash", "partition", "drop", "delay", "dup"}

// TestSeedSweep runs a short sweep under every fault and wants no violation (the full sweep is
// `vsdb dhtsim --seeds 1000 --faults crash,partition,drop,delay,dup`).
func TestSeedSweep(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	for _, tc := range []struct {
		name   string
		faults []string
	}{
		{"no faults", nil},
		{"all faults", allFaults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Run(Options{Seeds: seeds, Faults: tc.faults})
			if res.Violations != 0 {
				t.Fatalf("%s", res.Report(5))
			}
			if tc.faults == nil && res.Stats.Unknown*10 > res.Stats.Ops {
				t.Errorf("without faults %d of %d operations had no answer", res.Stats.Unknown, res.Stats.Ops)
			}
			if res.Stats.OK == 0 || res.Stats.LocalReads == 0 {
				t.Errorf("the workload did nothing: %+v", res.Stats)
			}
			t.Logf("%s", strings.TrimSpace(res.Report(0)))
		})
	}
}

// TestDeterministic: a seed replays the same history.
func TestDeterministic(t *testing.T) {
	for _, seed := range []int64{3, 8} {
		o := Options{Faults: allFaults, KeepHistory: true}
		a, b := RunSeed(seed, o), RunSeed(seed, o)
		if a.History == "" || a.History != b.History {
			t.Fatalf("seed %d: two runs differ (or are empty):\n%s\n---\n%s", seed, a.History, b.History)
		}
		if c := RunSeed(seed+100, o); c.History == a.History {
			t.Fatalf("seeds %d and %d ran the same history", seed, seed+100)
		}
	}
}

// TestStaleReadsCaught proves that the checker fails: with the stale-read bug (the membership service
// removes a suspected member without waiting out its lease, and replicas serve local reads while
// wedged), a replica cut off by a partition keeps answering from old data, which the linearizability
// check catches on some seed of a short partition sweep.
func TestStaleReadsCaught(t *testing.T) {
	bugCaught(t, Options{Seeds: 60, Faults: []string{"partition"}, StaleReads: true, OpPerMille: 400},
		"--bug stale-reads", func(o *Options) { o.StaleReads = false })
}

// TestNoReadIndexCaught proves that the read index is needed, and that the checker sees it: with
// writes acknowledged at their originator's own delivery (the default) and replicas serving local
// reads without waiting for the read index, a replica that the network delays reads without a write
// already acknowledged, which the linearizability check catches; the same seed with the read index is
// clean.
func TestNoReadIndexCaught(t *testing.T) {
	bugCaught(t, Options{Seeds: 40, Faults: []string{"delay"}, NoReadIndex: true, OpPerMille: 400},
		"--bug no-read-index", func(o *Options) { o.NoReadIndex = false })
}

// bugCaught runs o (with a deliberate bug) and wants some seed not linearizable, its replay command
// to name the bug (flag), and that seed clean once fix removes the bug.
func bugCaught(t *testing.T, o Options, flag string, fix func(*Options)) {
	t.Helper()
	res := Run(o)
	if res.NotLinearized == 0 {
		t.Fatalf("the bug %s went unnoticed over %d seeds:\n%s", flag, o.Seeds, res.Report(3))
	}
	f := res.Failures[0]
	if !strings.Contains(f.Replay, flag) {
		t.Errorf("replay command %q does not inject the bug", f.Replay)
	}
	t.Logf("caught at seed %d (%d of %d seeds not linearizable); replay: %s\n%s", f.Seed, res.NotLinearized, o.Seeds, f.Replay, f.LinInfo)
	// The same seed without the bug is clean: the failure is the bug's.
	fix(&o)
	o.Seed, o.Seeds = f.Seed, 1
	if clean := Run(o); clean.Violations != 0 {
		t.Fatalf("seed %d fails without the bug too:\n%s", f.Seed, clean.Report(3))
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, ""},
		{Options{Faults: []string{"nope"}}, "unknown fault"},
		{Options{Steps: 300}, "Steps"},
		{Options{Params: DefaultParams, OpPerMille: 2000}, "OpPerMille"},
	} {
		err := tc.o.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestReplayCommand(t *testing.T) {
	got := ReplayCommand(7, Options{Faults: []string{"partition", "crash"}, StaleReads: true})
	want := "vsdb dhtsim --seed 7 --faults crash,partition --bug stale-reads"
	if got != want {
		t.Fatalf("ReplayCommand = %q, want %q", got, want)
	}
}
