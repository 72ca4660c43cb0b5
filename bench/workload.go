package bench

import (
	"fmt"
	"strings"
)

// Workload is one redis-benchmark load shape: which tests to run ("set,get"), with how many
// concurrent clients, how deep a pipeline, how many requests per test, over how many distinct keys
// (redis-benchmark -r) and with values of how many bytes (-d).
type Workload struct {
	Name       string
	Tests      string // comma-separated redis-benchmark tests; this harness supports "set" and "get"
	Clients    int
	Pipeline   int
	Requests   int
	KeySpace   int
	ValueBytes int
}

// Defaults of the redis-compare workloads besides the request count.
const (
	// DefaultKeySpace is the number of distinct keys (redis-benchmark -r) the default workloads touch.
	DefaultKeySpace = 100_000
	// DefaultValueBytes is the SET value size (redis-benchmark -d) of the default workloads.
	DefaultValueBytes = 32
	// MinPublishedRequests is the per-test request count below which a report is marked preliminary
	// (issue 2 asks for ≥ 500k requests per workload).
	MinPublishedRequests = 500_000
	// MinPublishedRounds is the round count below which a report is marked preliminary.
	MinPublishedRounds = 3
)

// supportedTests are the redis-benchmark tests this harness can measure one at a time, mapped to the
// name redis-benchmark prints in the "test" column of its CSV.
var supportedTests = map[string]string{"set": "SET", "get": "GET"}

// DefaultRedisCompareWorkloads returns the three workloads of issue 2, each running SET then GET with
// the given number of requests per test: 1 client unpipelined, 50 clients unpipelined, 50 clients
// with a 16-deep pipeline.
func DefaultRedisCompareWorkloads(requests int) []Workload {
	mk := func(name string, clients, pipeline int) Workload {
		return Workload{Name: name, Tests: "set,get", Clients: clients, Pipeline: pipeline,
			Requests: requests, KeySpace: DefaultKeySpace, ValueBytes: DefaultValueBytes}
	}
	return []Workload{mk("c1-p1", 1, 1), mk("c50-p1", 50, 1), mk("c50-p16", 50, 16)}
}

// TestList returns the workload's tests, lower-cased and trimmed, in order.
func (w Workload) TestList() []string {
	var out []string
	for _, t := range strings.Split(w.Tests, ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Validate reports the first problem with the workload, wrapped in ErrInvalidOptions.
func (w Workload) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: workload %q: %s", ErrInvalidOptions, w.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case w.Name == "" || strings.ContainsAny(w.Name, " \t|"):
		return bad("name must be non-empty without spaces or '|'")
	case w.Clients < 1:
		return bad("clients %d < 1", w.Clients)
	case w.Pipeline < 1:
		return bad("pipeline %d < 1", w.Pipeline)
	case w.Requests < 1:
		return bad("requests %d < 1", w.Requests)
	case w.KeySpace < 1:
		return bad("key space %d < 1", w.KeySpace)
	case w.ValueBytes < 1:
		return bad("value bytes %d < 1", w.ValueBytes)
	}
	tests := w.TestList()
	if len(tests) == 0 {
		return bad("no tests")
	}
	seen := map[string]bool{}
	for _, t := range tests {
		if _, ok := supportedTests[t]; !ok {
			return bad("unsupported test %q (supported: set, get)", t)
		}
		if seen[t] {
			return bad("test %q listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// Target is the goal for one workload, as ratios of the server under test to redis-server.
type Target struct {
	MinThroughputRatio float64 // target RPS / redis RPS must be at least this
	MaxCPURatio        float64 // target CPU µs/op / redis CPU µs/op must be at most this
}

// TargetFor returns the DESIGN.md §10 target for a workload: unpipelined ≥ 1.0× throughput and
// ≤ 1.2× CPU/op; pipelined ≥ 0.9× throughput and ≤ 1.3× CPU/op.
func TargetFor(w Workload) Target {
	if w.Pipeline > 1 {
		return Target{MinThroughputRatio: 0.9, MaxCPURatio: 1.3}
	}
	return Target{MinThroughputRatio: 1.0, MaxCPURatio: 1.2}
}
