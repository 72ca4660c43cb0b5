package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// RunRedisCompare runs the side-by-side comparison. Each round starts both servers fresh on free
// loopback ports, pinned to o.ServerCPU, then for every workload and test runs redis-benchmark
// (pinned to o.LoadCPU) against the target and then against redis-server — interleaved
// A B A B — and stops both servers. Every process it starts is stopped before it returns, and
// killed when ctx ends. On error the partial report so far is returned with the error.
func RunRedisCompare(ctx context.Context, o RedisCompareOptions) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	rep := &Report{
		Command:   o.Command,
		Target:    o.TargetName,
		Baseline:  BaselineName,
		Rounds:    o.Rounds,
		Workloads: append([]Workload(nil), o.Workloads...),
		Started:   time.Now().UTC(),
		ServerCPU: o.ServerCPU,
		LoadCPU:   o.LoadCPU,
	}
	info := DescribeMachine(o.RedisServer, o.RedisBenchmark, o.VsdbBinary)
	rep.MachineInfo = info
	rep.Machine = info.String()

	serverPin, loadPin := []string(nil), []string(nil)
	if taskset, err := exec.LookPath("taskset"); err == nil {
		serverPin = []string{taskset, "-c", strconv.Itoa(o.ServerCPU)}
		loadPin = []string{taskset, "-c", strconv.Itoa(o.LoadCPU)}
		rep.Pinned = true
	} else {
		rep.Notes = append(rep.Notes, "taskset not found: servers and redis-benchmark were NOT pinned to cores")
	}
	target := o.Target
	if target == nil {
		target = vsdbCommand(o.VsdbBinary)
	}
	servers := []serverSpec{
		{name: o.TargetName, command: target},
		{name: BaselineName, command: RedisServerCommand(o.RedisServer)},
	}
	fmt.Fprintf(o.Log, "bench: %s vs %s, %d rounds, %d workloads, servers on core %d, load on core %d (pinned=%v)\n",
		o.TargetName, BaselineName, o.Rounds, len(o.Workloads), o.ServerCPU, o.LoadCPU, rep.Pinned)
	for round := 1; round <= o.Rounds; round++ {
		if err := runRound(ctx, o, rep, round, servers, serverPin, loadPin); err != nil {
			rep.Elapsed = time.Since(rep.Started)
			return rep, err
		}
	}
	rep.Elapsed = time.Since(rep.Started)
	return rep, nil
}

// serverSpec is one side of the comparison.
type serverSpec struct {
	name    string
	command ServerCommand
}

// runningServer is a started, PING-answering server.
type runningServer struct {
	name string
	port int
	proc *ownedProcess
}

// runRound starts both servers, runs every workload×test against each in turn, and stops them.
func runRound(ctx context.Context, o RedisCompareOptions, rep *Report, round int, specs []serverSpec, serverPin, loadPin []string) error {
	running := make([]*runningServer, 0, len(specs))
	defer func() {
		for _, s := range running {
			s.proc.stop()
		}
	}()
	for _, spec := range specs {
		s, err := startServer(ctx, o, spec, serverPin)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		running = append(running, s)
		if round == 1 {
			rep.ServerCommands = append(rep.ServerCommands, CommandLine{Role: spec.name, Line: shellJoin(s.proc.argv)})
		}
		allowed, err := CPUsAllowed(s.proc.pid())
		if err != nil {
			return fmt.Errorf("round %d: %w: %s: %w", round, ErrServerStart, s.name, err)
		}
		if rep.Pinned && allowed != strconv.Itoa(o.ServerCPU) {
			return fmt.Errorf("round %d: %w: %s runs on cpus %q, not pinned to %d", round, ErrServerStart, s.name, allowed, o.ServerCPU)
		}
		fmt.Fprintf(o.Log, "bench: round %d: %s pid %d listening on %s, cpus %s\n", round, s.name, s.proc.pid(), addrOf(s.port), allowed)
	}
	for _, w := range o.Workloads {
		for _, test := range w.TestList() {
			for _, s := range running {
				run := BenchmarkRun{RedisBenchmark: o.RedisBenchmark, Port: s.port, ServerPID: s.proc.pid(),
					Workload: w, Test: test, Pin: loadPin, Timeout: o.runTimeout(w)}
				if round == 1 && s == running[0] {
					rep.BenchmarkCommands = append(rep.BenchmarkCommands,
						CommandLine{Role: w.Name + " " + test, Line: shellJoin(run.Argv())})
				}
				res, err := runWatched(ctx, s, run)
				if err != nil {
					return fmt.Errorf("round %d: %s %s against %s: %w", round, w.Name, test, s.name, err)
				}
				res.Server, res.Round = s.name, round
				rep.Results = append(rep.Results, res)
				fmt.Fprintf(o.Log, "bench: round %d %-8s %-4s %-6s %10.0f rps  p50 %.3f ms  p99 %.3f ms  cpu %.2f µs/op (%d ticks)\n",
					round, w.Name, res.Test, s.name, res.RPS, res.P50Ms, res.P99Ms, res.CPUMicrosPerOp, res.CPUTicks)
			}
		}
	}
	return nil
}

// runWatched runs one benchmark, cancelling it at once if the server exits (redis-benchmark would
// otherwise spin until its timeout).
func runWatched(ctx context.Context, s *runningServer, run BenchmarkRun) (Result, error) {
	// A cancelled ctx also kills the servers; report the cancellation, not the exit it caused.
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if s.proc.exited() {
		return Result{}, fmt.Errorf("%w: %s", ErrServerExited, s.proc.describeExit())
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-s.proc.done:
			cancel(fmt.Errorf("%w: %s", ErrServerExited, s.proc.describeExit()))
		case <-wctx.Done():
		}
	}()
	res, err := RunOne(wctx, run)
	if err == nil && s.proc.exited() {
		err = fmt.Errorf("%w: %s", ErrServerExited, s.proc.describeExit())
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return res, err
}

// startServer starts spec on a free port, pinned, and waits for its PONG.
func startServer(ctx context.Context, o RedisCompareOptions, spec serverSpec, pin []string) (*runningServer, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	argv, env, err := spec.command(port)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrServerStart, spec.name, err)
	}
	full := append(append([]string(nil), pin...), argv...)
	p, err := startOwned(ctx, spec.name, full, env)
	if err != nil {
		return nil, err
	}
	if len(env) > 0 {
		p.argv = append(append([]string{"env"}, env...), full...) // recorded as run, with its environment
	}
	if err := waitForPing(ctx, p, addrOf(port), o.StartTimeout); err != nil {
		p.stop()
		return nil, err
	}
	return &runningServer{name: spec.name, port: port, proc: p}, nil
}

// vsdbCommand starts the vsdb binary as a single node on GOMAXPROCS=1.
func vsdbCommand(binary string) ServerCommand {
	return func(port int) ([]string, []string, error) {
		httpPort, err := freeLoopbackPort()
		if err != nil {
			return nil, nil, err
		}
		return []string{binary, "server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--http-port", strconv.Itoa(httpPort)}, []string{"GOMAXPROCS=1"}, nil
	}
}

// RedisServerCommand is the ServerCommand of redis-server on a loopback port without persistence;
// tests use it as the target to compare redis-server against itself.
func RedisServerCommand(binary string) ServerCommand {
	return func(port int) ([]string, []string, error) {
		return []string{binary, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no"}, nil, nil
	}
}
