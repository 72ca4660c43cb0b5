package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// ServerCommand builds the command line of a server to listen on 127.0.0.1:port: its argv and any
// environment entries ("K=V") to add to the driver's. The harness adds CPU pinning and owns the
// process.
type ServerCommand func(port int) (argv, env []string, err error)

// RedisCompareOptions configures RunRedisCompare. Zero values take the documented defaults.
type RedisCompareOptions struct {
	// VsdbBinary is the vsdb binary, started as
	// `vsdb server --bind 127.0.0.1 --port P --http-port H` with GOMAXPROCS=1 in its environment.
	VsdbBinary     string
	RedisServer    string // default "redis-server" from PATH
	RedisBenchmark string // default "redis-benchmark" from PATH
	Rounds         int    // default 3; runs are interleaved target, redis, target, redis, …
	Workloads      []Workload
	// ServerCPU and LoadCPU are the cores both servers and redis-benchmark are pinned to with taskset
	// (default 0 and 1 when both are zero). Without taskset, nothing is pinned and the report says so.
	ServerCPU, LoadCPU int
	Log                io.Writer // progress lines; nil discards them

	// Target, when non-nil, replaces VsdbBinary as the server under test (tests use redis-server
	// itself); TargetName names it in results (default "vsdb").
	Target     ServerCommand
	TargetName string
	// StartTimeout bounds the wait for a fresh server's PONG (default 15 s).
	StartTimeout time.Duration
	// RunTimeout bounds one redis-benchmark run (default 60 s + 1 ms per request): redis-benchmark
	// spins forever when its server goes away, so every run needs a bound.
	RunTimeout time.Duration
	// Command is the command line recorded in the report (default: this process's argv).
	Command string
}

// Default names and bounds.
const (
	DefaultTargetName     = "vsdb"
	BaselineName          = "redis"
	DefaultRedisServer    = "redis-server"
	DefaultRedisBenchmark = "redis-benchmark"
	DefaultRounds         = 3
	DefaultStartTimeout   = 15 * time.Second
)

func (o RedisCompareOptions) withDefaults() RedisCompareOptions {
	if o.RedisServer == "" {
		o.RedisServer = DefaultRedisServer
	}
	if o.RedisBenchmark == "" {
		o.RedisBenchmark = DefaultRedisBenchmark
	}
	if o.Rounds == 0 {
		o.Rounds = DefaultRounds
	}
	if o.Workloads == nil {
		o.Workloads = DefaultRedisCompareWorkloads(MinPublishedRequests)
	}
	if o.ServerCPU == 0 && o.LoadCPU == 0 {
		o.LoadCPU = 1
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.TargetName == "" {
		o.TargetName = DefaultTargetName
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Command == "" {
		o.Command = shellJoin(os.Args)
	}
	return o
}

// runTimeout is the bound on one redis-benchmark run of w.
func (o RedisCompareOptions) runTimeout(w Workload) time.Duration {
	if o.RunTimeout > 0 {
		return o.RunTimeout
	}
	return 60*time.Second + time.Duration(w.Requests)*time.Millisecond
}

// Validate reports the first problem with the options (after defaults), wrapped in
// ErrInvalidOptions. It checks that the binaries exist, the cores exist and differ, and every
// workload is valid.
func (o RedisCompareOptions) Validate() error {
	o = o.withDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	if o.Target == nil {
		if o.VsdbBinary == "" {
			return bad("no vsdb binary given")
		}
		if _, err := exec.LookPath(o.VsdbBinary); err != nil {
			return bad("vsdb binary: %v", err)
		}
	}
	if _, err := exec.LookPath(o.RedisServer); err != nil {
		return bad("redis-server: %v", err)
	}
	if _, err := exec.LookPath(o.RedisBenchmark); err != nil {
		return bad("redis-benchmark: %v", err)
	}
	if o.Rounds < 1 {
		return bad("rounds %d < 1", o.Rounds)
	}
	if n := runtime.NumCPU(); o.ServerCPU < 0 || o.LoadCPU < 0 || o.ServerCPU >= n || o.LoadCPU >= n {
		return bad("cores server=%d load=%d outside 0..%d", o.ServerCPU, o.LoadCPU, n-1)
	}
	if o.ServerCPU == o.LoadCPU {
		return bad("server and load generator pinned to the same core %d", o.ServerCPU)
	}
	if len(o.Workloads) == 0 {
		return bad("no workloads")
	}
	names := map[string]bool{}
	for _, w := range o.Workloads {
		if err := w.Validate(); err != nil {
			return err
		}
		if names[w.Name] {
			return bad("workload name %q used twice", w.Name)
		}
		names[w.Name] = true
	}
	if o.TargetName == BaselineName {
		return bad("target name %q collides with the baseline's", o.TargetName)
	}
	if o.StartTimeout < 0 || o.RunTimeout < 0 {
		return bad("negative timeout")
	}
	return nil
}

// shellJoin renders argv as a POSIX shell command line, quoting words that need it.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
