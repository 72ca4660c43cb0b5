package bench

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixedReport is a 3-round report with figures chosen so every verdict appears: c1-p1 meets its
// goal, c50-p1 misses throughput on SET, c50-p16 misses CPU on GET, and one CPU sample is coarse.
func fixedReport() *Report {
	ws := DefaultRedisCompareWorkloads(500_000)
	m := MachineInfo{NProc: 2, CPUModel: "AMD EPYC", Kernel: "6.18.44", GoVersion: "go1.26.8", TargetGoVersion: "go1.26.7",
		RedisVersion: "Redis server v=7.0.15", RedisBenchmarkVersion: "redis-benchmark 7.0.15", LoadAvg: "0.12 0.20 0.18"}
	r := &Report{
		Machine:           m.String(),
		MachineInfo:       m,
		Command:           "vsdb bench redis-compare --requests 500000",
		ServerCommands:    []CommandLine{{"vsdb", "env GOMAXPROCS=1 /usr/bin/taskset -c 0 /tmp/vsdb server --bind 127.0.0.1 --port 40001 --http-port 40002"}, {"redis", "/usr/bin/taskset -c 0 redis-server --bind 127.0.0.1 --port 40003 --save '' --appendonly no"}},
		BenchmarkCommands: []CommandLine{{"c1-p1 set", "/usr/bin/taskset -c 1 redis-benchmark -h 127.0.0.1 -p 40001 -t set -n 500000 -c 1 -P 1 -r 100000 -d 32 --csv"}},
		Target:            "vsdb", Baseline: "redis", Rounds: 3, Workloads: ws, ServerCPU: 0, LoadCPU: 1, Pinned: true,
		Started: time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC), Elapsed: 5 * time.Minute,
	}
	type fig struct{ rps, cpu float64 }
	figs := map[string][2]fig{ // workload/test → {vsdb, redis} at round 2; rounds 1 and 3 are ±10 %
		"c1-p1/SET":   {{31000, 10.0}, {30000, 8.0}},
		"c1-p1/GET":   {{32000, 8.5}, {31000, 8.0}},
		"c50-p1/SET":  {{90000, 4.0}, {100000, 4.0}},
		"c50-p1/GET":  {{110000, 3.5}, {105000, 3.4}},
		"c50-p16/SET": {{500000, 1.0}, {520000, 0.9}},
		"c50-p16/GET": {{700000, 1.4}, {720000, 1.0}},
	}
	for round := 1; round <= 3; round++ {
		scale := []float64{0.9, 1.0, 1.1}[round-1]
		for _, w := range ws {
			for _, test := range []string{"SET", "GET"} {
				f := figs[w.Name+"/"+test]
				for i, server := range []string{"vsdb", "redis"} {
					cpu := f[i].cpu * scale
					ticks := uint64(math.Round(cpu * float64(w.Requests) / 1e4))
					if w.Name == "c50-p16" && round == 1 && i == 0 && test == "SET" {
						ticks = 40 // a coarse sample
					}
					r.Results = append(r.Results, Result{Server: server, Workload: w.Name, Test: test, Round: round,
						RPS: f[i].rps * scale, P50Ms: 0.1 * float64(i+1) * scale, P99Ms: 0.5 * float64(i+1) * scale,
						CPUMicrosPerOp: cpu, Requests: w.Requests, CPUTicks: ticks})
				}
			}
		}
	}
	return r
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Fatalf("%s differs from golden (rerun with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestSummaryGolden(t *testing.T)  { checkGolden(t, "summary.golden", fixedReport().Summary()) }
func TestMarkdownGolden(t *testing.T) { checkGolden(t, "markdown.golden", fixedReport().Markdown()) }

func TestComparisons(t *testing.T) {
	cs := fixedReport().Comparisons()
	want := map[string]string{
		"c1-p1/SET": "no (cpu)", "c1-p1/GET": "yes", "c50-p1/SET": "no (throughput)",
		"c50-p1/GET": "yes", "c50-p16/SET": "yes", "c50-p16/GET": "no (cpu)",
	}
	if len(cs) != len(want) {
		t.Fatalf("%d comparisons, want %d", len(cs), len(want))
	}
	for _, c := range cs {
		key := c.Workload.Name + "/" + c.Test
		if got := c.Verdict(); got != want[key] {
			t.Errorf("%s: verdict %q, want %q (rps %.3f×, cpu %.3f×)", key, got, want[key], c.ThroughputRatio, c.CPURatio)
		}
		if c.TargetRuns != 3 || c.BaselineRuns != 3 {
			t.Errorf("%s: runs %d/%d, want 3/3", key, c.TargetRuns, c.BaselineRuns)
		}
	}
	if c := cs[0]; c.TargetRPS != 31000 || c.BaselineRPS != 30000 {
		t.Errorf("c1-p1/SET medians %v/%v, want the round-2 figures 31000/30000", c.TargetRPS, c.BaselineRPS)
	}
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, nan}, {[]float64{nan}, nan}, {[]float64{3}, 3}, {[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3}, {[]float64{5, nan, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		got := Median(tt.in)
		if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestVerdictMissing(t *testing.T) {
	c := Comparison{ThroughputRatio: math.NaN(), CPURatio: 1, Goal: Target{1, 1.2}}
	if got := c.Verdict(); got != "n/a" {
		t.Fatalf("verdict %q, want n/a", got)
	}
}

func TestCaveatsPreliminary(t *testing.T) {
	r := fixedReport()
	r.Rounds, r.Pinned, r.MachineInfo.LoadAvg = 1, false, "10.47 10.98 6.61"
	r.Workloads = DefaultRedisCompareWorkloads(2000)
	got := strings.Join(r.Caveats(), "\n")
	for _, want := range []string{"PRELIMINARY: 1 round(s)", "c50-p16 has 2000 requests", "UNPINNED", "BUSY MACHINE: load average 10.47",
		"INCOMPLETE: c1-p1 SET has 3 vsdb and 3 redis runs of 1 rounds"} {
		if !strings.Contains(got, want) {
			t.Errorf("caveats lack %q:\n%s", want, got)
		}
	}
}
