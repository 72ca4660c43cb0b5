package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vsdb/vsdb/protocol/nettest"
)

// groupProc is one `vsdb group` process run from the test binary (TestMain's VSDB_TEST_RUN_MAIN).
type groupProc struct {
	cmd *exec.Cmd
	log string
}

func startGroupProc(t *testing.T, id int, inc int, peers, logPath string) *groupProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "group", "--id", strconv.Itoa(id), "--peers", peers,
		"--oracle", "1,2,3", "--group", "g", "--send-rate", "200", "--incarnation", strconv.Itoa(inc), "--log", logPath)
	cmd.Env = append(os.Environ(), "VSDB_TEST_RUN_MAIN=1")
	errf, err := os.OpenFile(strings.TrimSuffix(logPath, ".log")+".stderr", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close() // the child has its own descriptor
	cmd.Stderr = errf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &groupProc{cmd: cmd, log: logPath}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

// logLines reads a process's log (missing = empty).
func logLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	return lines[:len(lines)-1] // the last line may be partial; the test never needs it
}

// viewLine parses "view <id> <members> t=<µs>".
type viewLine struct {
	id      int
	members []string
	at      time.Time
}

func parseView(l string) (viewLine, bool) {
	f := strings.Fields(l)
	if len(f) != 4 || f[0] != "view" || !strings.HasPrefix(f[3], "t=") {
		return viewLine{}, false
	}
	id, _ := strconv.Atoi(f[1])
	us, _ := strconv.ParseInt(f[3][2:], 10, 64)
	return viewLine{id: id, members: strings.Split(f[2], ","), at: time.UnixMicro(us)}, true
}

// history is a log without view timestamps: what two members must agree on.
func history(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if v, ok := parseView(l); ok {
			l = fmt.Sprintf("view %d %s", v.id, strings.Join(v.members, ","))
		}
		if strings.HasPrefix(l, "view ") || strings.HasPrefix(l, "deliver ") {
			out = append(out, l)
		}
	}
	return out
}

// lastView returns the last view line of a log.
func lastView(lines []string) (viewLine, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := parseView(lines[i]); ok {
			return v, true
		}
	}
	return viewLine{}, false
}

// pollUntil polls cond every 10 ms until it holds or the overall deadline passes. Polling the log
// files of real processes is the only way to observe them; the interval is small and the deadline
// bounds the test, so no outcome depends on timing except a genuine failure to make progress.
func pollUntil(t *testing.T, deadline time.Time, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func isPrefix(a, b []string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return slices.Equal(a, b[:len(a)])
}

// TestGroupKillAndRejoin is must-show 3: three `vsdb group` processes on loopback multicast a stream of
// OrderedSends; one is killed with SIGKILL; the survivors install a view without it within 2 s of the
// kill (default settings: 10 ms tick, suspicion after 1 s) and their logs agree line for line; the
// killed process restarted on the same address as a new incarnation rejoins and receives, by state
// transfer, the group's ordered delivery count at the view it joins.
func TestGroupKillAndRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := t.TempDir()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, l := range logs {
			lines := logLines(l)
			var tail []string
			for _, x := range lines[max(0, len(lines)-200):] {
				if !strings.HasPrefix(x, "deliver ") {
					tail = append(tail, x)
				}
			}
			t.Logf("%s: %d lines; its last non-delivery lines:\n%s", filepath.Base(l), len(lines), strings.Join(tail, "\n"))
		}
		errs, _ := filepath.Glob(filepath.Join(dir, "*.stderr"))
		for _, e := range errs {
			b, _ := os.ReadFile(e)
			t.Logf("%s (last 3000 bytes):\n%s", filepath.Base(e), b[max(0, len(b)-3000):])
		}
	})
	addrs := nettest.LoopbackAddrs(t, 3)
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addrs[0], addrs[1], addrs[2])
	procs := make([]*groupProc, 3)
	for i := range procs {
		procs[i] = startGroupProc(t, i+1, 1, peers, filepath.Join(dir, fmt.Sprintf("n%d.log", i+1)))
	}
	deadline := time.Now().Add(40 * time.Second)
	count := func(path, prefix string) int {
		n := 0
		for _, l := range logLines(path) {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	pollUntil(t, deadline, "a 3-member view and 300 deliveries at every process", func() bool {
		for _, p := range procs {
			v, ok := lastView(logLines(p.log))
			if !ok || len(v.members) != 3 || count(p.log, "deliver ") < 300 {
				return false
			}
		}
		return true
	})

	killed := procs[2]
	killAt := time.Now()
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = killed.cmd.Wait()
	survivors := procs[:2]
	without3 := func(v viewLine) bool {
		for _, m := range v.members {
			if strings.HasPrefix(m, "n3#") {
				return false
			}
		}
		return len(v.members) == 2
	}
	pollUntil(t, deadline, "the survivors' view without n3", func() bool {
		for _, p := range survivors {
			if v, ok := lastView(logLines(p.log)); !ok || !without3(v) {
				return false
			}
		}
		return true
	})
	for _, p := range survivors {
		v, _ := lastView(logLines(p.log))
		took := v.at.Sub(killAt)
		t.Logf("%s installed view %d %v %v after the kill", filepath.Base(p.log), v.id, v.members, took)
		if took > 2*time.Second {
			t.Errorf("%s: new view %v after the kill, want within 2 s", filepath.Base(p.log), took)
		}
	}
	// Let more traffic flow in the new view, then compare the survivors line for line.
	base := count(survivors[0].log, "deliver ")
	pollUntil(t, deadline, "deliveries in the 2-member view", func() bool {
		return count(survivors[0].log, "deliver ") > base+100 && count(survivors[1].log, "deliver ") > base+100
	})
	h1, h2 := align(history(logLines(survivors[0].log)), history(logLines(survivors[1].log)))
	if len(h1) == 0 || !isPrefix(h1, h2) {
		t.Fatalf("survivors disagree:\nn1: %d lines\nn2: %d lines\nfirst difference at line %d", len(h1), len(h2), firstDiff(h1, h2))
	}
	t.Logf("survivors agree on %d history lines (views and deliveries)", min(len(h1), len(h2)))

	// Restart n3 on the same address as incarnation 2.
	rejoinLog := filepath.Join(dir, "n3-restart.log")
	procs[2] = startGroupProc(t, 3, 2, peers, rejoinLog)
	var joined viewLine
	pollUntil(t, deadline, "n3#2 in a 3-member view at every process", func() bool {
		v, ok := lastView(logLines(rejoinLog))
		if !ok || len(v.members) != 3 || !slices.Contains(v.members, "n3#2") {
			return false
		}
		joined = v
		for _, p := range survivors {
			if sv, ok := lastView(logLines(p.log)); !ok || sv.id < v.id {
				return false
			}
		}
		return true
	})
	// The state n3#2 loaded must equal the survivors' ordered delivery count before that view.
	var loaded = -1
	for _, l := range logLines(rejoinLog) {
		if n, ok := strings.CutPrefix(l, "state "); ok {
			loaded, _ = strconv.Atoi(n)
		}
	}
	// A survivor's count: its own loaded state (if it joined after the group began) plus its deliveries.
	want := 0
	for _, l := range logLines(survivors[0].log) {
		if v, ok := parseView(l); ok && v.id == joined.id {
			break
		}
		if n, ok := strings.CutPrefix(l, "state "); ok {
			want, _ = strconv.Atoi(n)
		}
		if strings.HasPrefix(l, "deliver ") {
			want++
		}
	}
	t.Logf("n3#2 joined view %d %v and loaded state %d (survivors' count %d)", joined.id, joined.members, loaded, want)
	if loaded != want || loaded <= 0 {
		t.Fatalf("n3#2 loaded state %d, want %d", loaded, want)
	}
	// After the join, n3#2 delivers what the survivors deliver, in the same order.
	pollUntil(t, deadline, "deliveries at n3#2", func() bool { return count(rejoinLog, "deliver ") >= 100 })
	h3 := history(logLines(rejoinLog))
	hs := history(logLines(survivors[0].log))
	i := slices.Index(hs, h3[0])
	if i < 0 || !isPrefix(h3, hs[i:]) {
		t.Fatalf("n3#2's history (%d lines from %q) is not the survivors' from that view", len(h3), h3[0])
	}
	for _, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("%s: exit after SIGTERM: %v", filepath.Base(p.log), err)
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// align drops the head of the history that started earlier (a process logs from its first view on),
// so both start at the same view line.
func align(a, b []string) ([]string, []string) {
	if len(a) == 0 || len(b) == 0 {
		return nil, nil
	}
	if i := slices.Index(a, b[0]); i >= 0 {
		return a[i:], b
	}
	if i := slices.Index(b, a[0]); i >= 0 {
		return a, b[i:]
	}
	return nil, nil
}
