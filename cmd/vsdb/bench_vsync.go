package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vsdb/vsdb/server/group"
	"github.com/vsdb/vsdb/vsync"
)

/*
`vsdb bench vsync` measures the vsync group layer over TCP with 3 processes on loopback. The parent
starts 3 child processes (`vsdb bench vsync node`, hidden) that form a group, then drives runs over
their stdin/stdout, one JSON line per command and per answer:

	parent → child  {"run":R,"mode":"throughput"|"latency","flavour":"ordered","senders":[1,2,3],"count":N,"payload":16,"batch":256}
	child → parent  {"ready":"n1#…"} once, when the 3-member view is installed;
	                {"run":R,"delivered":…,"first_ns":…,"last_ns":…,"p50_us":…,"p99_us":…} when run R is over

A run is over at a child when it delivered count × len(senders) messages of run R. Throughput is
deliveries of the run at one member divided by the time from its first to its last delivery; latency
is measured by a single sender, closed loop: the time from Multicast to its own delivery of that message.
The latency sender is the member of rank 1 (each child reports its rank with "ready"), so it is never
the sequencer and every measured OrderedSend takes vsync's three one-way hops. Each child runs with
GOMAXPROCS --gomaxprocs (default NumCPU/3: the three processes share the machine; with one P a hop's
goroutine hand-offs stay on one thread instead of waking others). VSDB_BENCH_TIMELINE=1 makes every
child print its deliveries per 10 ms of each run on stderr (to see stalls).
Payloads carry the run id (4 bytes) and the sender's message index (8 bytes).
*/

// benchCmd is one parent → child command.
type benchCmd struct {
	Run     uint32 `json:"run"`
	Mode    string `json:"mode"`
	Flavour string `json:"flavour"`
	Senders []int  `json:"senders"`
	Count   int    `json:"count"`
	Payload int    `json:"payload"`
	Batch   int    `json:"batch"`
	Quit    bool   `json:"quit,omitempty"`
}

// benchAnswer is one child → parent line.
type benchAnswer struct {
	Ready     string  `json:"ready,omitempty"`
	Rank      int     `json:"rank,omitempty"` // with Ready: the member's rank in the 3-member view (0 = sequencer)
	Run       uint32  `json:"run,omitempty"`
	Delivered int     `json:"delivered,omitempty"`
	FirstNs   int64   `json:"first_ns,omitempty"`
	LastNs    int64   `json:"last_ns,omitempty"`
	P50Us     float64 `json:"p50_us,omitempty"`
	P99Us     float64 `json:"p99_us,omitempty"`
	Err       string  `json:"err,omitempty"`
	Stats     string  `json:"stats,omitempty"`
}

func newBenchVsyncCmd() *cobra.Command {
	var (
		count, latCount, payload, batch, warmup int
		maxUnstable, heartbeat                  int
		procs                                   int
		tick                                    time.Duration
		profileDir                              string
		only                                    string
	)
	cmd := &cobra.Command{
		Use:   "vsync",
		Short: "Benchmark vsync over TCP with 3 processes on loopback: OrderedSend throughput, latency, and Send vs OrderedSend vs SafeSend (Φ=1,2,3)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			o := benchOptions{self: self, count: count, latCount: latCount, payload: payload, batch: batch, warmup: warmup,
				tick: tick, profileDir: profileDir, maxUnstable: maxUnstable, heartbeat: heartbeat, procs: procs,
				out: cmd.OutOrStdout(), log: cmd.ErrOrStderr()}
			if o.procs <= 0 {
				o.procs = max(1, runtime.NumCPU()/3)
			}
			if only != "" {
				o.only = strings.Split(only, ",")
			}
			return runVsyncBench(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&count, "count", 100000, "messages per sender in a throughput run")
	cmd.Flags().IntVar(&latCount, "latency-count", 2000, "messages in a latency run (one sender, closed loop)")
	cmd.Flags().IntVar(&payload, "payload-bytes", 16, "payload size (at least 12: run id and index)")
	cmd.Flags().IntVar(&batch, "batch", 256, "payloads per Multicast call in throughput runs (pipelining)")
	cmd.Flags().IntVar(&warmup, "warmup", 50000, "messages per sender of an unmeasured throughput run on each fresh cluster (peer connections dialled, heaps, buffers and TCP windows grown: docs/benchmarks.md §3); 0: none (cold figures)")
	cmd.Flags().DurationVar(&tick, "tick", group.DefaultTick, "the vsync tick of the processes")
	cmd.Flags().IntVar(&maxUnstable, "max-unstable", 0, "vsync MaxUnstable of the processes (0 = default 4096)")
	cmd.Flags().IntVar(&heartbeat, "heartbeat-ticks", 0, "vsync HeartbeatTicks of the processes (0 = default 5)")
	cmd.Flags().IntVar(&procs, "gomaxprocs", 0, "GOMAXPROCS of each process (0 = NumCPU/3, at least 1: the 3 processes share the machine)")
	cmd.Flags().StringVar(&profileDir, "cpuprofile-dir", "", "write each child's CPU profile (whole life) to this directory")
	cmd.Flags().StringVar(&only, "only", "", "comma-separated subset of scenarios: throughput,latency,flavours")
	cmd.AddCommand(newBenchVsyncNodeCmd())
	return cmd
}

type benchOptions struct {
	self                            string
	count, latCount, payload, batch int
	warmup                          int // messages per sender of the unmeasured run on a fresh cluster
	maxUnstable, heartbeat          int
	procs                           int
	tick                            time.Duration
	profileDir                      string
	only                            []string
	out, log                        io.Writer
}

func (o benchOptions) want(s string) bool { return len(o.only) == 0 || slices.Contains(o.only, s) }

// benchCluster is 3 child processes forming one group.
type benchCluster struct {
	cmds    []*exec.Cmd
	stdin   []io.WriteCloser
	answers []chan benchAnswer
	run     uint32
	second  int // the node (1-based) with rank 1 in the view: not the sequencer, the latency sender
}

func startBenchCluster(ctx context.Context, o benchOptions, phi int) (*benchCluster, error) {
	var addrs []string
	for i := 0; i < 3; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, l.Addr().String())
		_ = l.Close() // the child binds it (a small race with other programs, acceptable in a benchmark)
	}
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addrs[0], addrs[1], addrs[2])
	c := &benchCluster{}
	for i := 1; i <= 3; i++ {
		args := []string{"bench", "vsync", "node", "--id", fmt.Sprint(i), "--peers", peers, "--oracle", "1,2,3",
			"--phi", fmt.Sprint(phi), "--tick", o.tick.String(), "--incarnation", "1",
			"--max-unstable", fmt.Sprint(o.maxUnstable), "--heartbeat-ticks", fmt.Sprint(o.heartbeat),
			"--gomaxprocs", fmt.Sprint(o.procs)}
		if o.profileDir != "" {
			args = append(args, "--cpuprofile", filepath.Join(o.profileDir, fmt.Sprintf("phi%d-n%d.pprof", phi, i)))
		}
		cmd := exec.CommandContext(ctx, o.self, args...)
		cmd.Env = os.Environ()
		if os.Getenv("VSDB_TEST_RUN_MAIN") == "1" { // the test binary acting as vsdb
			cmd.Args = append([]string{o.self, "-test.run=^$", "--"}, args...)
		}
		cmd.Stderr = o.log
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			c.close()
			return nil, err
		}
		ch := make(chan benchAnswer, 16)
		go func() {
			defer close(ch)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var a benchAnswer
				if json.Unmarshal(sc.Bytes(), &a) == nil {
					ch <- a
				}
			}
		}()
		c.cmds, c.stdin, c.answers = append(c.cmds, cmd), append(c.stdin, in), append(c.answers, ch)
	}
	for i := range c.answers {
		a, err := c.next(i, 30*time.Second)
		if err != nil {
			c.kill() // a child that never saw the 3-member view does not read its stdin
			return nil, fmt.Errorf("node %d did not join: %w", i+1, err)
		}
		if a.Rank == 1 {
			c.second = i + 1
		}
	}
	if c.second == 0 {
		c.kill()
		return nil, errors.New("no node reported rank 1 in the 3-member view")
	}
	return c, nil
}

func (c *benchCluster) next(i int, timeout time.Duration) (benchAnswer, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a, ok := <-c.answers[i]:
		if !ok {
			return a, errors.New("process exited")
		}
		if a.Err != "" {
			return a, errors.New(a.Err)
		}
		return a, nil
	case <-t.C:
		return benchAnswer{}, fmt.Errorf("no answer within %v", timeout)
	}
}

// do runs one command at every child and returns their answers.
func (c *benchCluster) do(cmd benchCmd) ([]benchAnswer, error) {
	c.run++
	cmd.Run = c.run
	b, _ := json.Marshal(cmd)
	for _, in := range c.stdin {
		if _, err := in.Write(append(b, '\n')); err != nil {
			return nil, err
		}
	}
	out := make([]benchAnswer, len(c.stdin))
	for i := range out {
		a, err := c.next(i, 2*time.Minute)
		if err != nil {
			return nil, fmt.Errorf("node %d, run %d: %w", i+1, cmd.Run, err)
		}
		out[i] = a
	}
	return out, nil
}

// kill ends every child at once (startup failed) and waits for them.
func (c *benchCluster) kill() {
	for _, cmd := range c.cmds {
		_ = cmd.Process.Kill()
	}
	c.close()
}

func (c *benchCluster) close() {
	for _, in := range c.stdin {
		_ = in.Close() // the child quits when its stdin ends
	}
	for _, cmd := range c.cmds {
		_ = cmd.Wait()
	}
}

type benchRow struct {
	name            string
	delivPerSec     float64 // slowest member
	p50, p99        float64
	throughput, lat bool
	err             error // the run failed
}

func runVsyncBench(ctx context.Context, o benchOptions) error {
	if o.payload < 12 {
		return fmt.Errorf("--payload-bytes %d: at least 12", o.payload)
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.out, "vsdb bench vsync: 3 processes on loopback, tick %v, max-unstable %d, heartbeat-ticks %d (0 = vsync default), GOMAXPROCS %d each, payload %d B, batch %d, %d msgs/sender (throughput; SafeSend %d), %d (latency; SafeSend %d)\n\n",
		o.tick, o.maxUnstable, o.heartbeat, o.procs, o.payload, o.batch, o.count, max(1, o.count/10), o.latCount, max(1, o.latCount/5))
	var rows []benchRow
	defer func() { printBenchRows(o.out, rows) }() // also the rows measured before an error
	measure := func(c *benchCluster, name string, fl string, tput, lat bool) error {
		row := benchRow{name: name, throughput: tput, lat: lat}
		if tput {
			n := o.count
			if fl == "safe" { // see the latency case below; and vsync's SafeSend path is CPU-heavy
				n = max(1, n/10)
			}
			ans, err := c.do(benchCmd{Mode: "throughput", Flavour: fl, Senders: []int{1, 2, 3}, Count: n, Payload: o.payload, Batch: o.batch})
			if err != nil {
				return err
			}
			row.delivPerSec = -1
			for _, a := range ans {
				r := float64(a.Delivered) / (float64(a.LastNs-a.FirstNs) / 1e9)
				if row.delivPerSec < 0 || r < row.delivPerSec {
					row.delivPerSec = r
				}
				fmt.Fprintf(o.log, "  %s: %d deliveries in %v (%.0f/s) %s\n", name, a.Delivered, time.Duration(a.LastNs-a.FirstNs), r, a.Stats)
			}
		}
		if lat {
			n := o.latCount
			if fl == "safe" { // SafeSend waits for acceptors' frontiers (heartbeats): far slower per message
				n = max(1, n/5)
			}
			ans, err := c.do(benchCmd{Mode: "latency", Flavour: fl, Senders: []int{c.second}, Count: n, Payload: o.payload, Batch: 1})
			if err != nil {
				return err
			}
			row.p50, row.p99 = ans[c.second-1].P50Us, ans[c.second-1].P99Us
		}
		rows = append(rows, row)
		return nil
	}
	// Scenarios run in order; consecutive ones with the same Φ share a cluster. A failed scenario is
	// reported as a row and the next one gets a fresh cluster.
	type scenario struct {
		phi       int
		name, fl  string
		tput, lat bool
	}
	var plan []scenario
	if o.want("throughput") {
		plan = append(plan, scenario{0, "OrderedSend (3 senders, batched)", "ordered", true, false})
	}
	if o.want("latency") {
		plan = append(plan, scenario{0, "OrderedSend (1 sender, light load)", "ordered", false, true})
	}
	if o.want("flavours") {
		plan = append(plan, scenario{0, "Send", "send", true, true}, scenario{0, "OrderedSend", "ordered", true, true},
			scenario{3, "SafeSend Φ=3", "safe", true, true}, scenario{1, "SafeSend Φ=1", "safe", true, true},
			scenario{2, "SafeSend Φ=2", "safe", true, true})
	}
	var errs []error
	var c *benchCluster
	curPhi := -1
	for _, sc := range plan {
		if c != nil && sc.phi != curPhi {
			c.close()
			c = nil
		}
		if c == nil {
			var err error
			if c, err = startBenchCluster(ctx, o, sc.phi); err != nil {
				return errors.Join(append(errs, err)...)
			}
			curPhi = sc.phi
			if o.warmup > 0 {
				// Unmeasured: a fresh cluster's first messages also dial the peer connections the view
				// change did not need and grow every buffer from nothing.
				if _, err := c.do(benchCmd{Mode: "throughput", Flavour: sc.fl, Senders: []int{1, 2, 3}, Count: o.warmup,
					Payload: o.payload, Batch: o.batch}); err != nil {
					return errors.Join(append(errs, fmt.Errorf("warm-up: %w", err))...)
				}
			}
		}
		if err := measure(c, sc.name, sc.fl, sc.tput, sc.lat); err != nil {
			rows = append(rows, benchRow{name: sc.name, err: err})
			errs = append(errs, fmt.Errorf("%s: %w", sc.name, err))
			c.close()
			c = nil
		}
	}
	if c != nil {
		c.close()
	}
	return errors.Join(errs...)
}

func printBenchRows(w io.Writer, rows []benchRow) {
	fmt.Fprintln(w, "| run | deliveries/s (slowest member) | latency p50 | latency p99 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range rows {
		tp, p50, p99 := "—", "—", "—"
		if r.throughput {
			tp = fmt.Sprintf("%.0f", r.delivPerSec)
		}
		if r.lat {
			p50, p99 = fmt.Sprintf("%.0f µs", r.p50), fmt.Sprintf("%.0f µs", r.p99)
		}
		if r.err != nil {
			tp, p50, p99 = "failed: "+r.err.Error(), "—", "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.name, tp, p50, p99)
	}
}

// newBenchVsyncNodeCmd is the child process of `vsdb bench vsync`.
func newBenchVsyncNodeCmd() *cobra.Command {
	var (
		nf      groupNodeFlags
		members int
		cpuProf string
		procs   int
	)
	cmd := &cobra.Command{
		Use:    "node",
		Short:  "One process of `vsdb bench vsync` (driven over stdin/stdout)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if procs > 0 {
				runtime.GOMAXPROCS(procs)
			}
			if cpuProf != "" {
				f, err := os.Create(cpuProf)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			cfg, err := nf.config()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runBenchNode(ctx, cfg, nf.group, members, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	nf.register(cmd.Flags())
	cmd.Flags().IntVar(&members, "members", 3, "wait for a view of this many members before answering ready")
	cmd.Flags().StringVar(&cpuProf, "cpuprofile", "", "write a CPU profile of the whole process life here")
	cmd.Flags().IntVar(&procs, "gomaxprocs", 0, "GOMAXPROCS of this process (0 = Go's default)")
	return cmd
}

// benchApp counts every run's deliveries (a run's messages may arrive before this child read the run's
// command: the counters are per run, created by whichever comes first); in latency mode it hands the
// sender its own deliveries.
type benchApp struct {
	self    string
	members int
	rank    int // in the first view of members members (set before ready is closed)
	ready   chan struct{}
	readyOn sync.Once
	own     chan uint64 // latency mode: indices of own deliveries
	latency atomic.Bool

	mu      sync.Mutex
	runs    map[uint32]*runCount
	stopped chan struct{} // closed when the member stopped (the run cannot finish)
	stopErr error
}

// runCount is one run's deliveries at this member.
type runCount struct {
	delivered       int64
	want            int64 // 0 until the command arrived
	firstNs, lastNs int64
	done            chan struct{} // closed when delivered reaches want
	buckets         []int         // VSDB_BENCH_TIMELINE: deliveries per 10 ms since the first
}

// benchTimeline makes children report deliveries per 10 ms on stderr (diagnosis of stalls).
var benchTimeline = os.Getenv("VSDB_BENCH_TIMELINE") != ""

// runLocked returns run r's counters, creating them (the caller holds a.mu).
func (a *benchApp) runLocked(r uint32) *runCount {
	rc := a.runs[r]
	if rc == nil {
		rc = &runCount{done: make(chan struct{})}
		a.runs[r] = rc
		delete(a.runs, r-2) // runs are sequential: at most the previous one is still arriving
	}
	return rc
}

func (a *benchApp) Event(_ *group.Responder, ev vsync.Event) {
	switch ev.Kind {
	case vsync.EventView:
		if len(ev.View.Members) >= a.members {
			a.readyOn.Do(func() {
				a.rank = ev.View.RankOf(a.self)
				close(a.ready)
			})
		}
	case vsync.EventStopped:
		a.mu.Lock()
		a.stopErr = ev.Err
		a.mu.Unlock()
		close(a.stopped)
	case vsync.EventDeliver:
		p := ev.Delivery.Payload
		if len(p) < 12 {
			return
		}
		a.mu.Lock()
		rc := a.runLocked(binary.BigEndian.Uint32(p))
		rc.delivered++
		// The clock is read only where the figures need it (the first and the last delivery; every
		// delivery for the timeline): a clock read per delivery was a tenth of a child's CPU here.
		var now int64
		if rc.firstNs == 0 || rc.delivered == rc.want || benchTimeline {
			now = time.Now().UnixNano()
			if rc.firstNs == 0 {
				rc.firstNs = now
			}
			rc.lastNs = now
		}
		if benchTimeline {
			b := (now - rc.firstNs) / 10e6
			for int64(len(rc.buckets)) <= b {
				rc.buckets = append(rc.buckets, 0)
			}
			rc.buckets[b]++
		}
		if rc.delivered == rc.want {
			close(rc.done)
		}
		a.mu.Unlock()
		if a.latency.Load() && ev.Delivery.Tag.Sender == a.self {
			select {
			case a.own <- binary.BigEndian.Uint64(p[4:]):
			default:
			}
		}
	}
}

func (a *benchApp) Checkpoint(vsync.View) (vsync.CheckpointSource, error) {
	return vsync.BytesCheckpoint([]byte{0}), nil
}

func runBenchNode(ctx context.Context, cfg group.Config, g string, members int, in io.Reader, out io.Writer) error {
	node, err := group.New(cfg)
	if err != nil {
		return err
	}
	defer node.Close()
	app := &benchApp{self: node.MemberID(), members: members, ready: make(chan struct{}), own: make(chan uint64, 1024),
		runs: map[uint32]*runCount{}, stopped: make(chan struct{})}
	if err := node.Join(g, app); err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	select {
	case <-app.ready:
	case <-ctx.Done():
		return nil
	}
	if err := enc.Encode(benchAnswer{Ready: node.MemberID(), Rank: app.rank}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var c benchCmd
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return err
		}
		ans := runBenchCmd(ctx, node, g, app, int(cfg.Self), c)
		if err := enc.Encode(ans); err != nil {
			return err
		}
	}
	return nil
}

func runBenchCmd(ctx context.Context, node *group.Node, g string, app *benchApp, self int, c benchCmd) benchAnswer {
	fl, err := parseFlavour(c.Flavour)
	if err != nil {
		return benchAnswer{Run: c.Run, Err: err.Error()}
	}
	app.latency.Store(c.Mode == "latency")
	app.mu.Lock()
	rc := app.runLocked(c.Run)
	rc.want = int64(c.Count * len(c.Senders))
	if rc.delivered == rc.want {
		rc.lastNs = time.Now().UnixNano()
		close(rc.done)
	}
	app.mu.Unlock()
	payload := func(k int) []byte {
		p := make([]byte, c.Payload)
		binary.BigEndian.PutUint32(p, c.Run)
		binary.BigEndian.PutUint64(p[4:], uint64(k))
		return p
	}
	ans := benchAnswer{Run: c.Run}
	if slices.Contains(c.Senders, self) {
		if c.Mode == "latency" {
			lats := make([]time.Duration, 0, c.Count)
			for k := 0; k < c.Count; k++ {
				t0 := time.Now()
				if _, err := node.Multicast(ctx, g, fl, payload(k)); err != nil {
					return benchAnswer{Run: c.Run, Err: err.Error()}
				}
				for got := uint64(1<<64 - 1); got != uint64(k); {
					select {
					case got = <-app.own:
					case <-ctx.Done():
						return benchAnswer{Run: c.Run, Err: "interrupted"}
					}
				}
				lats = append(lats, time.Since(t0))
			}
			slices.Sort(lats)
			ans.P50Us = float64(lats[len(lats)/2]) / 1e3
			ans.P99Us = float64(lats[len(lats)*99/100]) / 1e3
		} else {
			batch := max(1, c.Batch)
			for k := 0; k < c.Count; k += batch {
				ps := make([][]byte, 0, batch)
				for j := k; j < min(k+batch, c.Count); j++ {
					ps = append(ps, payload(j))
				}
				if _, err := node.Multicast(ctx, g, fl, ps...); err != nil {
					return benchAnswer{Run: c.Run, Err: err.Error()}
				}
			}
		}
	}
	select {
	case <-rc.done:
	case <-app.stopped:
		app.mu.Lock()
		defer app.mu.Unlock()
		return benchAnswer{Run: c.Run, Err: fmt.Sprintf("member stopped: %v", app.stopErr)}
	case <-ctx.Done():
		return benchAnswer{Run: c.Run, Err: "interrupted"}
	}
	app.mu.Lock()
	ans.Delivered, ans.FirstNs, ans.LastNs = int(rc.delivered), rc.firstNs, rc.lastNs
	if benchTimeline {
		fmt.Fprintf(os.Stderr, "node %d run %d deliveries per 10 ms: %v\n", self, c.Run, rc.buckets)
	}
	app.mu.Unlock()
	st := node.Stats()
	ans.Stats = fmt.Sprintf("inboxDropped=%d sendDropped=%d decodeErrors=%d unroutable=%d frames=%d writes=%d",
		st.InboxDropped, st.SendDropped, st.DecodeErrors, st.Unroutable, st.Transport.FramesSent, st.Transport.Writes)
	return ans
}
