package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vsdb/vsdb/vsync/check"
)

// The fault names of Options.Faults.
const (
	FaultKill      = "kill"      // SIGKILL a node, restart it 1–3 s later (a new incarnation)
	FaultPause     = "pause"     // SIGSTOP a node for 0.2–0.8 s, then SIGCONT
	FaultPartition = "partition" // cut a minority of nodes off (every peer link, both ways) for 1–4 s
	FaultDelay     = "delay"     // hold every peer-link chunk 5–50 ms for 1–3 s
)

// Options configure Run.
type Options struct {
	Binary   string        // the vsdb binary (required)
	Nodes    int           // processes (default 3)
	RF       int           // replication factor (default 3, at most Nodes)
	Duration time.Duration // workload duration (default 30 s)
	Faults   []string      // FaultKill, FaultPause
	BasePort int           // node i: RESP base+i, HTTP base+100+i, peers base+200+i (default 7300)
	Clients  int           // concurrent clients (default 8)
	Keys     int           // single-key registers (default 20)
	Pairs    int           // MSET/MGET key pairs (default 10)
	Counters int           // WATCH/MULTI/EXEC counters (default 4)
	Seed     int64         // fault schedule and workload choices (default 1)
	Log      io.Writer     // progress lines (default discard)
	LogDir   string        // if set, node i's output is appended to LogDir/node-i.log
	// DataDir, if set, gives node i the durable state directory DataDir/node-i (--cluster-data-dir), kept
	// across its restarts; Run empties those directories first. Empty: in-memory nodes.
	DataDir string
}

// Result is what Run found.
type Result struct {
	Ops             int    // completed client operations
	Linearizable    bool   // the single-key history passed porcupine
	Info            string // porcupine's explanation
	LostAcked       int    // acknowledged writes whose key later read absent with no other write possible, plus counters below their acknowledged increments
	IncrementsAcked int    // WATCH increments whose EXEC ran (acknowledged)
	LostIncrements  int    // counters whose final value is below their acknowledged WATCH increments (counted in LostAcked too)
	ExtraIncrements int    // counters above acknowledged plus unknown-outcome increments (an EXEC ran twice or without its WATCH; counted in LostAcked too)
	PartialReads    int    // MGETs that saw part of an MSET
	DigestMismatch  int    // shards whose replicas' digests differ at quiescence
	Faults          int    // faults injected
	Errors          int    // client operations that failed (CLUSTERDOWN, timeouts, refused connections)
}

// Line is the one-line summary `vsdb chaos` ends with.
func (r Result) Line() string {
	yes := "no"
	if r.Linearizable {
		yes = "yes"
	}
	return fmt.Sprintf("ops=%d linearizable=%s lost_acked=%d partial_reads=%d digest_mismatch=%d", r.Ops, yes,
		r.LostAcked, r.PartialReads, r.DigestMismatch)
}

// NodePorts returns node i's (1-based) RESP, HTTP and peer ports for base port p.
func NodePorts(p, i int) (resp, http, peer int) { return p + i, p + 100 + i, p + 200 + i }

// NodeArgs returns the `vsdb server` arguments of node i of an n-node loopback cluster.
func NodeArgs(n, i, rf, base int) []string {
	var peers []string
	for j := 1; j <= n; j++ {
		_, _, pp := NodePorts(base, j)
		peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%d", j, pp))
	}
	return nodeArgs(n, i, rf, base, strings.Join(peers, ","))
}

func nodeArgs(n, i, rf, base int, peers string) []string {
	resp, http, _ := NodePorts(base, i)
	return []string{"server", "--port", strconv.Itoa(resp), "--http-port", strconv.Itoa(http),
		"--cluster-node", strconv.Itoa(i), "--cluster-peers", peers,
		"--cluster-rf", strconv.Itoa(rf), "--cluster-expected-size", strconv.Itoa(n)}
}

func (o Options) withDefaults() Options {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.RF == 0 {
		o.RF = 3
	}
	o.RF = min(o.RF, o.Nodes)
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
	}
	if o.BasePort == 0 {
		o.BasePort = 7300
	}
	if o.Clients == 0 {
		o.Clients = 8
	}
	if o.Keys == 0 {
		o.Keys = 20
	}
	if o.Counters == 0 {
		o.Counters = 4
	}
	if o.Pairs == 0 {
		o.Pairs = 10
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// cluster is the set of node processes.
type cluster struct {
	o     Options
	net   *network // nil without network faults
	mu    sync.Mutex
	procs map[int]*exec.Cmd
}

func (c *cluster) start(i int) error {
	args := NodeArgs(c.o.Nodes, i, c.o.RF, c.o.BasePort)
	if c.net != nil {
		args = nodeArgs(c.o.Nodes, i, c.o.RF, c.o.BasePort, c.net.peersOf(c.o, i))
	}
	if c.o.DataDir != "" {
		args = append(args, "--cluster-data-dir", nodeDataDir(c.o.DataDir, i))
	}
	cmd := exec.Command(c.o.Binary, args...)
	if c.o.LogDir != "" {
		f, err := os.OpenFile(filepath.Join(c.o.LogDir, fmt.Sprintf("node-%d.log", i)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("chaos: node %d log: %w", i, err)
		}
		defer f.Close() // the child keeps its own descriptor
		fmt.Fprintf(f, "=== chaos: start node %d at %s\n", i, time.Now().Format(time.RFC3339Nano))
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("chaos: start node %d: %w", i, err)
	}
	c.mu.Lock()
	c.procs[i] = cmd
	c.mu.Unlock()
	go func() { _ = cmd.Wait() }()
	return nil
}

// nodeDataDir is node i's durable state directory under dir.
func nodeDataDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("node-%d", i)) }

func (c *cluster) signal(i int, sig syscall.Signal) {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	if p != nil && p.Process != nil {
		_ = p.Process.Signal(sig)
	}
}

func (c *cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGCONT)
		_ = p.Process.Kill()
	}
}

// digest is a node's /v1/cluster/digest answer.
type digest struct {
	Member  string `json:"member"`
	Shard   int    `json:"shard"`
	Digest  string `json:"digest"`
	View    uint64 `json:"view"`
	Stopped bool   `json:"stopped"`
}

func (c *cluster) digest(i int, nowMs int64) (digest, error) {
	_, hp, _ := NodePorts(c.o.BasePort, i)
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/cluster/digest?now=%d", hp, nowMs))
	if err != nil {
		return digest{}, err
	}
	defer resp.Body.Close()
	var d digest
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return digest{}, err
	}
	return d, nil
}

// waitSettled waits until every node is in the same view with every shard served, up to limit.
func (c *cluster) waitSettled(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var states []string
	for time.Now().Before(deadline) {
		ok := true
		var view uint64
		states = states[:0]
		for i := 1; i <= c.o.Nodes; i++ {
			d, err := c.digest(i, 0)
			states = append(states, fmt.Sprintf("node %d: %+v %v", i, d, err))
			if err != nil || d.Stopped || d.Shard < 0 || (view != 0 && d.View != view) {
				ok = false
			}
			if view == 0 {
				view = d.View
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("chaos: the cluster did not settle: %s", strings.Join(states, "; "))
}

// Run starts the cluster, runs the workload and the faults, and checks the history.
func Run(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	if o.Binary == "" {
		return Result{}, errors.New("chaos: Options.Binary is required")
	}
	network := false
	for _, f := range o.Faults {
		switch f {
		case FaultKill, FaultPause:
		case FaultPartition, FaultDelay:
			network = true
		default:
			return Result{}, fmt.Errorf("chaos: unknown fault %q (kill, pause, partition, delay)", f)
		}
	}
	if o.Nodes > 9 {
		return Result{}, errors.New("chaos: at most 9 nodes")
	}
	if o.DataDir != "" {
		for i := 1; i <= o.Nodes; i++ {
			if err := os.RemoveAll(nodeDataDir(o.DataDir, i)); err != nil {
				return Result{}, fmt.Errorf("chaos: data dir: %w", err)
			}
		}
	}
	redis.SetLogger(quietLogger{}) // refused connections to a killed node are expected, and counted
	c := &cluster{o: o, procs: map[int]*exec.Cmd{}}
	if network {
		nw, err := newNetwork(o)
		if err != nil {
			return Result{}, err
		}
		defer nw.close()
		c.net = nw
	}
	defer c.stopAll()
	for i := 1; i <= o.Nodes; i++ {
		if err := c.start(i); err != nil {
			return Result{}, err
		}
	}
	if err := c.waitSettled(ctx, 30*time.Second); err != nil {
		return Result{}, err
	}
	fmt.Fprintf(o.Log, "chaos: %d nodes settled; workload for %v with faults %v\n", o.Nodes, o.Duration, o.Faults)
	h := &history{start: time.Now(), incrAcked: map[int]int{}, incrUnknown: map[int]int{}}
	wctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for cl := 0; cl < o.Clients; cl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runClient(wctx, o, cl, h)
		}()
	}
	faults := 0
	if len(o.Faults) > 0 {
		faults = runFaults(wctx, o, c)
	}
	wg.Wait()
	// Quiescence: let the cluster settle, then compare replicas and read every key once more.
	settleErr := c.waitSettled(ctx, 30*time.Second)
	res := Result{Faults: faults}
	if settleErr != nil {
		fmt.Fprintf(o.Log, "chaos: %v\n", settleErr)
	}
	finalReads(ctx, o, h)
	res.DigestMismatch = compareDigests(o, c)
	h.mu.Lock()
	defer h.mu.Unlock()
	res.Ops, res.Errors, res.PartialReads = h.completed, h.errors, h.partial
	res.Linearizable, res.Info = check.CheckLinearizable(pruneUnobserved(h.ops), 2*time.Minute)
	res.LostAcked = lostAcked(h.ops)
	res.LostIncrements, res.ExtraIncrements = checkCounters(ctx, o, h)
	for _, n := range h.incrAcked {
		res.IncrementsAcked += n
	}
	res.LostAcked += res.LostIncrements + res.ExtraIncrements
	return res, nil
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// history records the client operations.
type history struct {
	start     time.Time
	mu        sync.Mutex
	ops       []check.KVOp
	completed int
	errors    int
	partial   int
	// WATCH increments per counter: acknowledged (EXEC ran), and of unknown outcome (an error after
	// EXEC was sent); an aborted EXEC (null reply) is neither.
	incrAcked, incrUnknown map[int]int
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op check.KVOp, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ok {
		h.completed++
	} else {
		h.errors++
	}
	h.ops = append(h.ops, op)
}

// pendingReturn is the return time of a write whose outcome is unknown (an error or timeout): it may
// take effect at any time after its call.
const pendingReturn = int64(1) << 62

/*
pruneUnobserved drops the writes of unknown outcome whose value no read returned. Every write value is
unique and the workload never deletes a register, so this neither hides a violation nor invents one:
  - a history with such a write dropped is linearizable if the full one is: in a linearization of the
    full history, every read placed after the write returns some other value, so another write sits
    between them, and removing the dropped write changes no read's answer;
  - the full history is linearizable if the pruned one is: the dropped write never returned, so it can
    be placed after every other operation.

Without this, each unknown write (one per client at a killed node) stays concurrent with everything
after it, and porcupine's search grows with every such write on a key; a two-minute budget was not
always enough for 100,000 operations.
*/
func pruneUnobserved(ops []check.KVOp) []check.KVOp {
	read := map[string]bool{}
	for _, op := range ops {
		if op.Kind == "get" && op.Found {
			read[op.Key+"\x00"+op.Value] = true
		}
	}
	out := make([]check.KVOp, 0, len(ops))
	for _, op := range ops {
		if op.Kind == "put" && op.Return == pendingReturn && !read[op.Key+"\x00"+op.Value] {
			continue
		}
		out = append(out, op)
	}
	return out
}

func runClient(ctx context.Context, o Options, id int, h *history) {
	rng := rand.New(rand.NewSource(o.Seed*1000 + int64(id)))
	node := 1 + id%o.Nodes
	newClient := func() *redis.Client {
		rp, _, _ := NodePorts(o.BasePort, node)
		return redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rp), Protocol: 2, MaxRetries: -1,
			DialTimeout: time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: time.Second, PoolSize: 1})
	}
	cl := newClient()
	defer func() { cl.Close() }()
	seq := 0
	for ctx.Err() == nil {
		seq++
		switch r := rng.Intn(20); {
		case r < 8: // put
			key := fmt.Sprintf("reg:%d", rng.Intn(o.Keys))
			val := fmt.Sprintf("c%d-%d", id, seq)
			call := h.now()
			err := cl.Set(context.Background(), key, val, 0).Err()
			ret := h.now()
			if err != nil {
				ret = pendingReturn
			}
			h.add(check.KVOp{ClientID: id, Key: key, Kind: "put", Value: val, Call: call, Return: ret}, err == nil)
		case r < 16: // get
			key := fmt.Sprintf("reg:%d", rng.Intn(o.Keys))
			call := h.now()
			v, err := cl.Get(context.Background(), key).Result()
			ret := h.now()
			if err != nil && !errors.Is(err, redis.Nil) {
				h.mu.Lock()
				h.errors++
				h.mu.Unlock()
				break
			}
			h.add(check.KVOp{ClientID: id, Key: key, Kind: "get", Value: v, Found: err == nil, Call: call, Return: ret}, true)
		case r < 18: // MSET pair across shards
			j := rng.Intn(o.Pairs)
			val := fmt.Sprintf("c%d-%d", id, seq)
			err := cl.MSet(context.Background(), fmt.Sprintf("pa:%d", j), val, fmt.Sprintf("pb:%d", j), val).Err()
			h.mu.Lock()
			if err != nil {
				h.errors++
			} else {
				h.completed++
			}
			h.mu.Unlock()
		case r < 19: // WATCH increment
			watchIncrement(cl, rng.Intn(o.Counters), h)
		default: // MGET pair: both halves or neither
			j := rng.Intn(o.Pairs)
			vals, err := cl.MGet(context.Background(), fmt.Sprintf("pa:%d", j), fmt.Sprintf("pb:%d", j)).Result()
			h.mu.Lock()
			if err != nil {
				h.errors++
			} else {
				h.completed++
				if len(vals) != 2 || vals[0] != vals[1] {
					h.partial++
				}
			}
			h.mu.Unlock()
		}
		if rng.Intn(50) == 0 { // reconnect now and then, to another node
			cl.Close()
			node = 1 + rng.Intn(o.Nodes)
			cl = newClient()
		}
	}
}

// runFaults injects one fault at a time until ctx ends and returns how many.
func runFaults(ctx context.Context, o Options, c *cluster) int {
	rng := rand.New(rand.NewSource(o.Seed))
	n := 0
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for sleep(time.Duration(2000+rng.Intn(3000)) * time.Millisecond) {
		i := 1 + rng.Intn(o.Nodes)
		switch f := o.Faults[rng.Intn(len(o.Faults))]; f {
		case FaultKill:
			fmt.Fprintf(o.Log, "chaos: kill -9 node %d\n", i)
			c.signal(i, syscall.SIGKILL)
			time.Sleep(time.Duration(1000+rng.Intn(2000)) * time.Millisecond)
			if err := c.start(i); err != nil {
				fmt.Fprintf(o.Log, "chaos: %v\n", err)
			}
		case FaultPause:
			d := time.Duration(200+rng.Intn(600)) * time.Millisecond
			fmt.Fprintf(o.Log, "chaos: pause node %d for %v\n", i, d)
			c.signal(i, syscall.SIGSTOP)
			time.Sleep(d)
			c.signal(i, syscall.SIGCONT)
		case FaultPartition:
			side := map[int]bool{i: true}
			if o.Nodes >= 5 && rng.Intn(2) == 0 {
				side[1+(i%o.Nodes)] = true // two nodes: still a minority of five
			}
			d := time.Duration(1000+rng.Intn(3000)) * time.Millisecond
			fmt.Fprintf(o.Log, "chaos: partition %v from the rest for %v\n", keys(side), d)
			c.net.partition(side)
			time.Sleep(d)
			c.net.heal()
		case FaultDelay:
			d := time.Duration(5+rng.Intn(45)) * time.Millisecond
			span := time.Duration(1000+rng.Intn(2000)) * time.Millisecond
			fmt.Fprintf(o.Log, "chaos: delay every peer link by %v for %v\n", d, span)
			c.net.setDelay(d)
			time.Sleep(span)
			c.net.setDelay(0)
		}
		n++
		// Let the group recover before the next fault (RF=3 tolerates one at a time); a node whose
		// member was dropped rejoins by itself as a new incarnation.
		_ = c.waitSettled(ctx, 30*time.Second)
	}
	return n
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// finalClient is the client of the checks after quiescence (node 1, with retries).
func finalClient(o Options) *redis.Client {
	rp, _, _ := NodePorts(o.BasePort, 1)
	return redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rp), Protocol: 2, MaxRetries: 3})
}

// counterKey is WATCH-increment counter j.
func counterKey(j int) string { return fmt.Sprintf("ctr:%d", j) }

// watchIncrement adds one to counter j optimistically: WATCH, GET, MULTI SET n+1 EXEC (once; an
// aborted EXEC is not retried).
func watchIncrement(cl *redis.Client, j int, h *history) {
	ctx := context.Background()
	key := counterKey(j)
	sent := false
	err := cl.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, key).Int()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		sent = true
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, n+1, 0)
			return nil
		})
		return err
	}, key)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.completed++
		h.incrAcked[j]++
	case errors.Is(err, redis.TxFailedErr):
		h.completed++ // aborted: a watched key changed
	default:
		h.errors++
		if sent {
			h.incrUnknown[j]++
		}
	}
}

// checkCounters reads every counter after quiescence: a value below its acknowledged increments lost
// one (WATCH let an EXEC run on a stale read, or a write was lost); above acknowledged plus unknown, an
// increment ran that no client sent. It returns how many counters are below and above.
func checkCounters(ctx context.Context, o Options, h *history) (lost, extra int) {
	cl := finalClient(o)
	defer cl.Close()
	for j := 0; j < o.Counters; j++ {
		n, err := cl.Get(ctx, counterKey(j)).Int()
		if err != nil && !errors.Is(err, redis.Nil) {
			fmt.Fprintf(o.Log, "chaos: final read of %s: %v\n", counterKey(j), err)
			continue
		}
		switch {
		case n < h.incrAcked[j]:
			lost++
			fmt.Fprintf(o.Log, "chaos: %s = %d, below its %d acknowledged increments\n", counterKey(j), n, h.incrAcked[j])
		case n > h.incrAcked[j]+h.incrUnknown[j]:
			extra++
			fmt.Fprintf(o.Log, "chaos: %s = %d, above its %d acknowledged and %d unknown increments\n", counterKey(j), n, h.incrAcked[j], h.incrUnknown[j])
		}
	}
	return lost, extra
}

// finalReads reads every register once after quiescence (so that a lost write shows as a stale read).
func finalReads(ctx context.Context, o Options, h *history) {
	cl := finalClient(o)
	defer cl.Close()
	for k := 0; k < o.Keys; k++ {
		key := fmt.Sprintf("reg:%d", k)
		call := h.now()
		v, err := cl.Get(ctx, key).Result()
		ret := h.now()
		if err != nil && !errors.Is(err, redis.Nil) {
			continue
		}
		h.add(check.KVOp{ClientID: -1, Key: key, Kind: "get", Value: v, Found: err == nil, Call: call, Return: ret}, true)
	}
}

// lostAcked counts keys whose final read is absent although an acknowledged write of them completed.
func lostAcked(ops []check.KVOp) int {
	acked := map[string]bool{}
	final := map[string]check.KVOp{}
	for _, op := range ops {
		if op.Kind == "put" && op.Return != pendingReturn {
			acked[op.Key] = true
		}
		if op.ClientID == -1 {
			final[op.Key] = op
		}
	}
	lost := 0
	for k, f := range final {
		if acked[k] && !f.Found {
			lost++
		}
	}
	return lost
}

// compareDigests compares the digests of each shard's replicas at one time and counts mismatching shards.
func compareDigests(o Options, c *cluster) int {
	now := time.Now().UnixMilli()
	byShard := map[int][]string{}
	for i := 1; i <= o.Nodes; i++ {
		d, err := c.digest(i, now)
		if err != nil || d.Shard < 0 {
			fmt.Fprintf(o.Log, "chaos: node %d: no digest (%v)\n", i, err)
			continue
		}
		byShard[d.Shard] = append(byShard[d.Shard], d.Digest)
	}
	bad := 0
	for s, ds := range byShard {
		slices.Sort(ds)
		if ds[0] != ds[len(ds)-1] {
			fmt.Fprintf(o.Log, "chaos: shard %d replicas disagree: %v\n", s, ds)
			bad++
		}
	}
	return bad
}
