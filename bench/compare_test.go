package bench

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// needRedis skips, visibly, when redis-server or redis-benchmark is not installed.
func needRedis(t *testing.T) {
	t.Helper()
	for _, b := range []string{DefaultRedisServer, DefaultRedisBenchmark} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("SKIPPED: %s not installed (apt-get install redis-server redis-tools): %v", b, err)
		}
	}
}

// tinyOptions compares redis-server with itself on tiny workloads.
func tinyOptions(log *bytes.Buffer) RedisCompareOptions {
	ws := DefaultRedisCompareWorkloads(2000)
	for i := range ws {
		ws[i].KeySpace = 1000
	}
	return RedisCompareOptions{Target: RedisServerCommand(DefaultRedisServer), TargetName: "redis-self",
		Rounds: 1, Workloads: ws, Log: log, Command: "go test ./bench -run TestRunRedisCompareSelf"}
}

func TestRunRedisCompareSelf(t *testing.T) {
	needRedis(t)
	defer goleak.VerifyNone(t) // every process Wait goroutine has returned: nothing left running
	var log bytes.Buffer
	rep, err := RunRedisCompare(context.Background(), tinyOptions(&log))
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if len(rep.Results) != 12 { // 3 workloads × 2 tests × 2 servers × 1 round
		t.Fatalf("%d results, want 12:\n%s", len(rep.Results), log.String())
	}
	for i, r := range rep.Results {
		wantServer := []string{"redis-self", BaselineName}[i%2] // interleaved A B A B
		if r.Server != wantServer || r.Round != 1 || r.Requests != 2000 {
			t.Errorf("result %d: %+v, want server %s", i, r, wantServer)
		}
		if !(r.RPS > 0) || !(r.P50Ms >= 0) || !(r.P99Ms >= r.P50Ms) || math.IsNaN(r.CPUMicrosPerOp) || r.CPUMicrosPerOp < 0 {
			t.Errorf("result %d has implausible figures: %+v", i, r)
		}
	}
	if len(rep.ServerCommands) != 2 || len(rep.BenchmarkCommands) != 6 {
		t.Fatalf("commands %+v %+v", rep.ServerCommands, rep.BenchmarkCommands)
	}
	if !strings.Contains(rep.ServerCommands[1].Line, "--save '' --appendonly no") {
		t.Errorf("redis command %q", rep.ServerCommands[1].Line)
	}
	if rep.Pinned && !strings.Contains(rep.BenchmarkCommands[0].Line, "taskset -c 1 ") {
		t.Errorf("benchmark not pinned: %q", rep.BenchmarkCommands[0].Line)
	}
	for _, c := range rep.Comparisons() {
		if c.TargetRuns != 1 || c.BaselineRuns != 1 || math.IsNaN(c.ThroughputRatio) {
			t.Errorf("comparison %+v", c)
		}
	}
	sum, md := rep.Summary(), rep.Markdown()
	if !strings.Contains(sum, "PRELIMINARY") || !strings.Contains(md, "redis-benchmark -h 127.0.0.1") {
		t.Errorf("summary/markdown lack expected text:\n%s\n%s", sum, md)
	}
	t.Logf("\n%s", sum)
}

// cancelOnWrite cancels a context once a log line containing trigger is written.
type cancelOnWrite struct {
	mu      sync.Mutex
	trigger string
	cancel  context.CancelFunc
	buf     bytes.Buffer
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.trigger) {
		c.cancel()
	}
	return len(p), nil
}

func TestRunRedisCompareCancel(t *testing.T) {
	needRedis(t)
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOnWrite{trigger: "µs/op", cancel: cancel} // after the first measured run
	o := tinyOptions(nil)
	o.Log = w
	rep, err := RunRedisCompare(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep == nil || len(rep.Results) != 1 {
		t.Fatalf("partial report %+v, want exactly the one result before the cancel", rep)
	}
}

func TestRunWatchedServerGone(t *testing.T) {
	needRedis(t)
	defer goleak.VerifyNone(t)
	o := tinyOptions(nil).withDefaults()
	s, err := startServer(context.Background(), o, serverSpec{name: "victim", command: RedisServerCommand(DefaultRedisServer)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.proc.stop()
	if err := syscall.Kill(s.proc.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.proc.done
	_, err = runWatched(context.Background(), s, BenchmarkRun{RedisBenchmark: DefaultRedisBenchmark, Port: s.port,
		ServerPID: s.proc.pid(), Workload: o.Workloads[0], Test: "set"})
	if !errors.Is(err, ErrServerExited) {
		t.Fatalf("err = %v, want ErrServerExited", err)
	}
}

func TestStartServerThatExits(t *testing.T) {
	defer goleak.VerifyNone(t)
	o := tinyOptions(nil).withDefaults()
	spec := serverSpec{name: "false", command: func(int) ([]string, []string, error) { return []string{"false"}, nil, nil }}
	if _, err := startServer(context.Background(), o, spec, nil); !errors.Is(err, ErrServerStart) {
		t.Fatalf("err = %v, want ErrServerStart", err)
	}
}

func TestRunRedisCompareCancelledBeforeStart(t *testing.T) {
	needRedis(t)
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := RunRedisCompare(ctx, tinyOptions(&bytes.Buffer{}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep == nil || len(rep.Results) != 0 {
		t.Fatalf("report %+v, want an empty partial report", rep)
	}
}
