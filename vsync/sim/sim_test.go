package sim

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/vsync"
)

// ciSeeds is how many seeds each fault set runs in CI; `vsdb sim --seeds N` runs more.
const ciSeeds = 60

func runSeeds(t *testing.T, o Options) Result {
	t.Helper()
	res := Run(o)
	for i, f := range res.Failures {
		if i == 3 {
			break
		}
		for j, v := range f.Violations {
			if j == 3 {
				break
			}
			t.Errorf("%s: %s: %s", f.Replay, v.Checker, v.Detail)
		}
	}
	return res
}

func TestNoFaults(t *testing.T) {
	res := runSeeds(t, Options{Seed: 1, Seeds: ciSeeds})
	if res.Stats.Deliveries == 0 || res.Stats.Views == 0 {
		t.Fatalf("nothing happened: %+v", res.Stats)
	}
}

func TestEachFault(t *testing.T) {
	for _, f := range AllFaults {
		t.Run(f, func(t *testing.T) {
			res := runSeeds(t, Options{Seed: 1000, Seeds: ciSeeds, Faults: []string{f}})
			if res.Stats.Deliveries == 0 {
				t.Fatal("no deliveries")
			}
		})
	}
}

// TestDeterministic replays one seed with every fault and compares the histories.
func TestDeterministic(t *testing.T) {
	o := Options{Faults: AllFaults, Steps: 600}
	a, b := RunSeed(7, o), RunSeed(7, o)
	if len(a.History) == 0 || !reflect.DeepEqual(a.History, b.History) {
		t.Fatalf("seed 7 did not replay: %d vs %d events", len(a.History), len(b.History))
	}
}

// TestCodec carries every member message through Marshal/Unmarshal.
func TestCodec(t *testing.T) {
	runSeeds(t, Options{Seed: 50, Seeds: 10, Faults: []string{FaultDrop, FaultCrash}, Codec: true})
}

// TestCheckersCatchFlushBug proves the checkers can fail: a member built with a deliberate flush bug
// (the decision delivers each sender's Sends only up to the smallest survivor frontier) is caught, and
// the failure names the seed and the command that replays it.
func TestCheckersCatchFlushBug(t *testing.T) {
	res := Run(Options{Seed: 1, Seeds: 40, Faults: []string{FaultCrash}, Bug: "flush-min-upto"})
	if res.Violations == 0 {
		t.Fatal("the flush bug went unnoticed")
	}
	f := res.Failures[0]
	if !strings.Contains(f.Replay, "vsdb sim --seed ") || !strings.Contains(f.Replay, "--bug flush-min-upto") {
		t.Fatalf("replay command %q", f.Replay)
	}
	found := false
	for _, v := range f.Violations {
		found = found || v.Checker == "SameDeliveredSetBetweenViews"
	}
	if !found {
		t.Fatalf("seed %d: want a SameDeliveredSetBetweenViews violation, got %v", f.Seed, f.Violations)
	}
	t.Logf("caught at seed %d: %s", f.Seed, f.Replay)
}

func TestOptionsValidate(t *testing.T) {
	err := Options{Faults: []string{"flood"}, Oracle: 9, Members: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "flood") || !strings.Contains(err.Error(), "Oracle = 9") ||
		!strings.Contains(err.Error(), "Members = -1") {
		t.Fatalf("Validate = %v", err)
	}
	if err := (Options{Faults: AllFaults}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestScaleSmall runs the scale measurement for small groups: the view change takes at least the
// suspicion timeout less one heartbeat interval, plus the flush, and with no faults no payload is sent twice (data messages per member per
// multicast stay at most (n-1)/n: a resend on a stale frontier made them 2 at 100 members).
func TestScaleSmall(t *testing.T) {
	for _, n := range []int{3, 10, 100} {
		r, err := Scale(n, 20)
		if err != nil {
			t.Fatal(err)
		}
		// The victim was last heard at most a heartbeat interval (and a tick in flight) before it crashed.
		if r.MsgsPerMember <= 0 || r.FlushTk <= 0 || r.ViewChangeTk < int64(r.SuspectTicks-r.HeartbeatTicks-1)+r.FlushTk {
			t.Fatalf("%d members: %+v", n, r)
		}
		if d, want := r.ByKind[vsync.MsgData.String()], float64(n-1)/float64(n); d > want {
			t.Fatalf("%d members: %.2f data messages per member per multicast, want at most %.2f (retransmissions)", n, d, want)
		}
	}
}

// TestAllFaults runs every fault at once.
func TestAllFaults(t *testing.T) {
	res := runSeeds(t, Options{Seed: 1, Seeds: ciSeeds, Faults: AllFaults})
	if !strings.HasSuffix(res.Report(2), "violations="+itoa(res.Violations)+"\n") {
		t.Fatalf("report: %q", res.Report(2))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestScaleTable prints the scale table of docs/vsync.md (must-show 5). It takes minutes at 500
// members, so it runs only with VSYNC_SCALE=1:
//
//	VSYNC_SCALE=1 go test ./vsync/sim -run TestScaleTable -v -timeout 30m
func TestScaleTable(t *testing.T) {
	if os.Getenv("VSYNC_SCALE") == "" {
		t.Skip("set VSYNC_SCALE=1")
	}
	var rows []ScaleRow
	for _, n := range []int{3, 10, 100, 200, 500} {
		r, err := Scale(n, 20)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	t.Log("\n" + FormatScale(rows))
}

func TestFormatHistory(t *testing.T) {
	r := RunSeed(3, Options{Steps: 200})
	out := FormatHistory(r.History)
	if !strings.Contains(out, ": view 1 [") || !strings.Contains(out, ": deliver ") {
		t.Fatalf("history:\n%s", out)
	}
}
