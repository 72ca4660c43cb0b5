package bench

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of RunRedisCompare: every per-round Result plus what is needed to
// reproduce and judge it.
type Report struct {
	Results           []Result
	Machine           string // MachineInfo.String()
	MachineInfo       MachineInfo
	Command           string        // the driver's command line
	ServerCommands    []CommandLine // exact start command of each server (round 1; ports differ per round)
	BenchmarkCommands []CommandLine // exact redis-benchmark command per workload×test (round 1, target)
	Target, Baseline  string        // server names: Target is compared to Baseline (redis)
	Rounds            int
	Workloads         []Workload
	ServerCPU         int
	LoadCPU           int
	Pinned            bool // taskset was available and used
	Notes             []string
	Started           time.Time
	Elapsed           time.Duration
}

// CommandLine is one exact command and what it was for.
type CommandLine struct{ Role, Line string }

// Comparison is the per workload×test summary across rounds: medians for each server, and ratios
// of the target's medians to the baseline's.
type Comparison struct {
	Workload                 Workload
	Test                     string
	TargetRPS, BaselineRPS   float64
	ThroughputRatio          float64 // TargetRPS / BaselineRPS
	TargetCPU, BaselineCPU   float64 // µs/op
	CPURatio                 float64 // TargetCPU / BaselineCPU
	TargetP50, BaselineP50   float64 // ms, median over rounds of the per-round p50
	TargetP99, BaselineP99   float64 // ms, median over rounds of the per-round p99
	Goal                     Target
	MinCPUTicks              uint64 // fewest server CPU ticks any run of this row measured
	TargetRuns, BaselineRuns int
}

// Verdict is "yes", "no (throughput)", "no (cpu)", "no (throughput, cpu)" or "n/a" when a ratio
// is missing.
func (c Comparison) Verdict() string {
	if math.IsNaN(c.ThroughputRatio) || math.IsNaN(c.CPURatio) {
		return "n/a"
	}
	var failed []string
	if c.ThroughputRatio < c.Goal.MinThroughputRatio {
		failed = append(failed, "throughput")
	}
	if c.CPURatio > c.Goal.MaxCPURatio {
		failed = append(failed, "cpu")
	}
	if len(failed) == 0 {
		return "yes"
	}
	return "no (" + strings.Join(failed, ", ") + ")"
}

// Comparisons summarizes the results per workload×test, in workload then test order.
func (r *Report) Comparisons() []Comparison {
	var out []Comparison
	for _, w := range r.Workloads {
		for _, test := range w.TestList() {
			printed := supportedTests[test]
			c := Comparison{Workload: w, Test: printed, Goal: TargetFor(w), MinCPUTicks: math.MaxUint64}
			var t, b [4][]float64 // rps, cpu, p50, p99
			for _, res := range r.Results {
				if res.Workload != w.Name || res.Test != printed {
					continue
				}
				var dst *[4][]float64
				switch res.Server {
				case r.Target:
					dst = &t
					c.TargetRuns++
				case r.Baseline:
					dst = &b
					c.BaselineRuns++
				default:
					continue
				}
				dst[0] = append(dst[0], res.RPS)
				dst[1] = append(dst[1], res.CPUMicrosPerOp)
				dst[2] = append(dst[2], res.P50Ms)
				dst[3] = append(dst[3], res.P99Ms)
				c.MinCPUTicks = min(c.MinCPUTicks, res.CPUTicks)
			}
			if c.MinCPUTicks == math.MaxUint64 {
				c.MinCPUTicks = 0
			}
			c.TargetRPS, c.BaselineRPS = Median(t[0]), Median(b[0])
			c.TargetCPU, c.BaselineCPU = Median(t[1]), Median(b[1])
			c.TargetP50, c.BaselineP50 = Median(t[2]), Median(b[2])
			c.TargetP99, c.BaselineP99 = Median(t[3]), Median(b[3])
			c.ThroughputRatio = ratio(c.TargetRPS, c.BaselineRPS)
			c.CPURatio = ratio(c.TargetCPU, c.BaselineCPU)
			out = append(out, c)
		}
	}
	return out
}

// Median is the median of the non-NaN values (the mean of the middle two for an even count), or
// NaN when there are none.
func Median(xs []float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}

// Caveats lists why the figures should not be published as they are: too few rounds or requests,
// unpinned runs, CPU samples too coarse, missing runs.
func (r *Report) Caveats() []string {
	var out []string
	if r.Rounds < MinPublishedRounds {
		out = append(out, fmt.Sprintf("PRELIMINARY: %d round(s), fewer than %d", r.Rounds, MinPublishedRounds))
	}
	for _, w := range r.Workloads {
		if w.Requests < MinPublishedRequests {
			out = append(out, fmt.Sprintf("PRELIMINARY: workload %s has %d requests per test, fewer than %d",
				w.Name, w.Requests, MinPublishedRequests))
		}
	}
	if !r.Pinned {
		out = append(out, "UNPINNED: servers and load generator shared cores")
	}
	if l := r.MachineInfo.Load1(); l > busyLoadPerCPU*float64(max(r.MachineInfo.NProc, 1)) {
		out = append(out, fmt.Sprintf("BUSY MACHINE: load average %s at the start on %d CPUs; other processes competed for the pinned cores",
			r.MachineInfo.LoadAvg, r.MachineInfo.NProc))
	}
	for _, c := range r.Comparisons() {
		if c.TargetRuns != r.Rounds || c.BaselineRuns != r.Rounds {
			out = append(out, fmt.Sprintf("INCOMPLETE: %s %s has %d %s and %d %s runs of %d rounds",
				c.Workload.Name, c.Test, c.TargetRuns, r.Target, c.BaselineRuns, r.Baseline, r.Rounds))
		}
		if c.MinCPUTicks < minMeaningfulTicks {
			out = append(out, fmt.Sprintf("COARSE CPU: %s %s measured as few as %d CPU ticks (%d ms each); CPU/op is ±%.1f%% or worse",
				c.Workload.Name, c.Test, c.MinCPUTicks, 1000/ClockTicksPerSecond, 100/math.Max(float64(c.MinCPUTicks), 1)))
		}
	}
	return append(out, r.Notes...)
}

// busyLoadPerCPU is the one-minute load average per CPU above which the machine is flagged busy.
const busyLoadPerCPU = 0.5

// minMeaningfulTicks is the CPU tick count under which a CPU/op figure is flagged as coarse (±1%).
const minMeaningfulTicks = 100

func fmtRatio(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", x)
}

func fmtNum(format string, x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf(format, x)
}

// Summary is a plain-text table, one line per workload×test: the median throughput and CPU/op of
// each server with the target/baseline ratios, the median p50/p99 latencies, the goal and whether
// it is met; then the caveats.
func (r *Report) Summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "redis-compare: %s vs %s, %d round(s), medians over rounds\n", r.Target, r.Baseline, r.Rounds)
	fmt.Fprintf(&sb, "machine: %s\n", r.Machine)
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\ttest\t%[1]s rps\t%[2]s rps\trps ratio\t%[1]s µs/op\t%[2]s µs/op\tcpu ratio\t%[1]s p50/p99 ms\t%[2]s p50/p99 ms\tgoal\tmet\n", r.Target, r.Baseline)
	for _, c := range r.Comparisons() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s/%s\t≥%.1f× rps, ≤%.1f× cpu\t%s\n",
			c.Workload.Name, c.Test,
			fmtNum("%.0f", c.TargetRPS), fmtNum("%.0f", c.BaselineRPS), fmtRatio(c.ThroughputRatio),
			fmtNum("%.2f", c.TargetCPU), fmtNum("%.2f", c.BaselineCPU), fmtRatio(c.CPURatio),
			fmtNum("%.3f", c.TargetP50), fmtNum("%.3f", c.TargetP99),
			fmtNum("%.3f", c.BaselineP50), fmtNum("%.3f", c.BaselineP99),
			c.Goal.MinThroughputRatio, c.Goal.MaxCPURatio, c.Verdict())
	}
	_ = tw.Flush()
	for _, n := range r.Caveats() {
		fmt.Fprintf(&sb, "note: %s\n", n)
	}
	return sb.String()
}

// Markdown is a section for docs/benchmarks.md: how it was run (exact commands), on what machine,
// the summary table, the caveats, and every per-round result.
func (r *Report) Markdown() string {
	var sb strings.Builder
	m := r.MachineInfo
	fmt.Fprintf(&sb, "## redis-compare: %s vs redis-server (%s)\n\n", r.Target, r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&sb, "Single node, SET/GET, same `redis-benchmark` against both servers, interleaved per test "+
		"(%s then %s, %d round(s), each server started fresh every round); figures are medians over rounds. "+
		"Throughput and latency are redis-benchmark's; CPU µs/op is the server's utime+stime from "+
		"/proc/<pid>/stat (all threads, %d ms ticks) over the run divided by its requests.\n\n",
		r.Target, r.Baseline, r.Rounds, 1000/ClockTicksPerSecond)
	if r.Pinned {
		fmt.Fprintf(&sb, "Servers pinned to core %d, redis-benchmark to core %d (taskset); %s runs with GOMAXPROCS=1.\n\n",
			r.ServerCPU, r.LoadCPU, r.Target)
	} else {
		sb.WriteString("Not pinned to cores (taskset was not available).\n\n")
	}
	sb.WriteString("Machine:\n\n")
	fmt.Fprintf(&sb, "- nproc: %d\n- CPU: %s\n- kernel: %s\n- Go: %s", m.NProc, orUnknown(m.CPUModel), orUnknown(m.Kernel), orUnknown(m.GoVersion))
	if m.TargetGoVersion != "" && m.TargetGoVersion != m.GoVersion {
		fmt.Fprintf(&sb, " (%s built with %s)", r.Target, m.TargetGoVersion)
	}
	fmt.Fprintf(&sb, "\n- redis: %s\n- redis-benchmark: %s\n- load average at start: %s\n\n",
		orUnknown(m.RedisVersion), orUnknown(m.RedisBenchmarkVersion), orUnknown(m.LoadAvg))
	sb.WriteString("Commands:\n\n```sh\n")
	fmt.Fprintf(&sb, "%s\n", r.Command)
	for _, c := range r.ServerCommands {
		fmt.Fprintf(&sb, "# server %s (round 1; fresh ports every round)\n%s\n", c.Role, c.Line)
	}
	for _, c := range r.BenchmarkCommands {
		fmt.Fprintf(&sb, "# %s (round 1, against %s; the same against %s)\n%s\n", c.Role, r.Target, r.Baseline, c.Line)
	}
	sb.WriteString("```\n\n")
	fmt.Fprintf(&sb, "| workload | clients | pipeline | requests | test | %[1]s rps | %[2]s rps | rps ratio | %[1]s CPU µs/op | %[2]s CPU µs/op | CPU ratio | %[1]s p50/p99 ms | %[2]s p50/p99 ms | goal | met |\n", r.Target, r.Baseline)
	sb.WriteString("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, c := range r.Comparisons() {
		fmt.Fprintf(&sb, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | ≥ %.1f× rps, ≤ %.1f× CPU | %s |\n",
			c.Workload.Name, c.Workload.Clients, c.Workload.Pipeline, c.Workload.Requests, c.Test,
			fmtNum("%.0f", c.TargetRPS), fmtNum("%.0f", c.BaselineRPS), fmtRatio(c.ThroughputRatio),
			fmtNum("%.2f", c.TargetCPU), fmtNum("%.2f", c.BaselineCPU), fmtRatio(c.CPURatio),
			fmtNum("%.3f", c.TargetP50), fmtNum("%.3f", c.TargetP99),
			fmtNum("%.3f", c.BaselineP50), fmtNum("%.3f", c.BaselineP99),
			c.Goal.MinThroughputRatio, c.Goal.MaxCPURatio, c.Verdict())
	}
	cs := r.Comparisons()
	sb.WriteString("\n")
	sb.WriteString(ratioChart(fmt.Sprintf("throughput %s/%s (bars) vs goal (line, at least)", r.Target, r.Baseline), cs,
		func(c Comparison) float64 { return c.ThroughputRatio }, func(c Comparison) float64 { return c.Goal.MinThroughputRatio }))
	sb.WriteString("\n")
	sb.WriteString(ratioChart(fmt.Sprintf("server CPU per op %s/%s (bars) vs goal (line, at most)", r.Target, r.Baseline), cs,
		func(c Comparison) float64 { return c.CPURatio }, func(c Comparison) float64 { return c.Goal.MaxCPURatio }))
	if caveats := r.Caveats(); len(caveats) > 0 {
		sb.WriteString("\n")
		for _, n := range caveats {
			fmt.Fprintf(&sb, "- %s\n", n)
		}
	}
	sb.WriteString("\n<details><summary>Per-round results</summary>\n\n")
	sb.WriteString("| round | workload | test | server | rps | p50 ms | p99 ms | CPU µs/op | CPU ticks |\n")
	sb.WriteString("|---:|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&sb, "| %d | %s | %s | %s | %s | %s | %s | %s | %d |\n", res.Round, res.Workload, res.Test, res.Server,
			fmtNum("%.0f", res.RPS), fmtNum("%.3f", res.P50Ms), fmtNum("%.3f", res.P99Ms),
			fmtNum("%.2f", res.CPUMicrosPerOp), res.CPUTicks)
	}
	sb.WriteString("\n</details>\n")
	return sb.String()
}
