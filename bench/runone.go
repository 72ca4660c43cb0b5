package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Result is one measurement: one test of one workload against one server in one round. RPS and the
// latencies are redis-benchmark's (client-observed); CPUMicrosPerOp is the server's utime+stime over
// the run divided by Requests (NaN when no server pid was given).
type Result struct {
	Server, Workload, Test string
	Round                  int
	RPS, P50Ms, P99Ms      float64
	CPUMicrosPerOp         float64
	Requests               int    // requests of this run (redis-benchmark -n)
	CPUTicks               uint64 // server utime+stime over the run, in 1/ClockTicksPerSecond s
}

// BenchmarkRun is one redis-benchmark invocation: one test of one workload against one server.
type BenchmarkRun struct {
	RedisBenchmark string // path or name of redis-benchmark
	Port           int    // server port on 127.0.0.1
	ServerPID      int    // the server whose CPU is sampled; 0 skips sampling
	Workload       Workload
	Test           string        // "set" or "get"
	Pin            []string      // argv prefix pinning redis-benchmark (e.g. taskset -c 1); nil for none
	Timeout        time.Duration // bound on the run; 0 means none beyond ctx
}

// Argv is the exact command line of the run.
func (r BenchmarkRun) Argv() []string {
	w := r.Workload
	argv := append([]string(nil), r.Pin...)
	return append(argv, r.RedisBenchmark, "-h", "127.0.0.1", "-p", strconv.Itoa(r.Port),
		"-t", r.Test, "-n", strconv.Itoa(w.Requests), "-c", strconv.Itoa(w.Clients),
		"-P", strconv.Itoa(w.Pipeline), "-r", strconv.Itoa(w.KeySpace), "-d", strconv.Itoa(w.ValueBytes),
		"--csv")
}

// benchmarkOutputBytes bounds the captured stdout and stderr of one redis-benchmark run.
const benchmarkOutputBytes = 64 << 10

// RunOne runs one redis-benchmark test, sampling the server's CPU from /proc just before and just
// after it. The returned Result has Workload, Test, RPS, latencies, Requests and CPU filled in;
// Server and Round are the caller's. The redis-benchmark process (and its process group) is killed
// when ctx ends or the timeout passes.
func RunOne(ctx context.Context, r BenchmarkRun) (Result, error) {
	printed, ok := supportedTests[r.Test]
	if !ok {
		return Result{}, fmt.Errorf("%w: unsupported test %q", ErrInvalidOptions, r.Test)
	}
	if err := r.Workload.Validate(); err != nil {
		return Result{}, err
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	argv := r.Argv()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdout := &tailBuffer{limit: benchmarkOutputBytes}
	stderr := &tailBuffer{limit: benchmarkOutputBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second

	var before ProcStat
	if r.ServerPID > 0 {
		var err error
		if before, err = ReadProcStat(r.ServerPID); err != nil {
			return Result{}, err
		}
	}
	runErr := cmd.Run()
	var after ProcStat
	if r.ServerPID > 0 {
		var err error
		if after, err = ReadProcStat(r.ServerPID); err != nil {
			return Result{}, err
		}
	}
	if runErr != nil {
		cause := runErr
		if ctxErr := context.Cause(ctx); ctxErr != nil {
			cause = errors.Join(ctxErr, runErr)
		}
		return Result{}, fmt.Errorf("%w: %s: %w; stderr: %s", ErrBenchmarkRun, shellJoin(argv), cause, stderr.String())
	}
	rows, err := ParseBenchmarkCSV([]byte(stdout.String()))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w; stderr: %s", ErrBenchmarkRun, shellJoin(argv), err, stderr.String())
	}
	row, ok := FindRow(rows, printed)
	if !ok {
		return Result{}, fmt.Errorf("%w: %s: no %s row in %q", ErrBenchmarkRun, shellJoin(argv), printed, stdout.String())
	}
	res := Result{Workload: r.Workload.Name, Test: printed, RPS: row.RPS, P50Ms: row.P50Ms, P99Ms: row.P99Ms,
		Requests: r.Workload.Requests, CPUMicrosPerOp: math.NaN()}
	if r.ServerPID > 0 {
		// The server is our child but is reaped as soon as it exits, so its pid could be reused.
		if after.Comm != before.Comm || after.CPUTicks() < before.CPUTicks() {
			return Result{}, fmt.Errorf("%w: pid %d changed during the run (%q %d ticks -> %q %d ticks)",
				ErrServerExited, r.ServerPID, before.Comm, before.CPUTicks(), after.Comm, after.CPUTicks())
		}
		res.CPUTicks = after.CPUTicks() - before.CPUTicks()
		res.CPUMicrosPerOp = TicksToMicros(res.CPUTicks) / float64(r.Workload.Requests)
	}
	return res, nil
}
