package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vsdb/vsdb/server/group"
	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/vsync"
)

// groupNodeFlags are the settings shared by `vsdb group` and the `vsdb bench vsync` child processes.
type groupNodeFlags struct {
	id          uint64
	listen      string
	peers       string
	oracle      string
	group       string
	incarnation uint64
	tick        time.Duration
	phi         int
	maxUnstable int
	heartbeat   int
}

func (f *groupNodeFlags) register(fs *pflag.FlagSet) {
	fs.Uint64Var(&f.id, "id", 0, "this node's id (1, 2, …)")
	fs.StringVar(&f.listen, "listen", "", "peer transport address, e.g. 127.0.0.1:7001")
	fs.StringVar(&f.peers, "peers", "", "every node's address: 1=host:port,2=host:port,…")
	fs.StringVar(&f.oracle, "oracle", "", "the nodes that run a membership replica, e.g. 1,2,3")
	fs.StringVar(&f.group, "group", "g", "the group to join")
	fs.Uint64Var(&f.incarnation, "incarnation", 0, "this process's incarnation; 0 = the start time in microseconds (a restart gets a larger one)")
	fs.DurationVar(&f.tick, "tick", group.DefaultTick, "the vsync tick (suspect a silent peer after 100 ticks)")
	fs.IntVar(&f.phi, "phi", 0, "SafeSend acceptors Φ (0 = every member)")
	fs.IntVar(&f.maxUnstable, "max-unstable", 0, "vsync MaxUnstable: own multicasts not yet stable (0 = vsync's default, 4096)")
	fs.IntVar(&f.heartbeat, "heartbeat-ticks", 0, "vsync HeartbeatTicks: stability frontiers travel this often (0 = vsync's default, 5)")
}

func (f *groupNodeFlags) config() (group.Config, error) {
	peers, err := group.ParsePeers(f.peers)
	if err != nil {
		return group.Config{}, err
	}
	oracle, err := group.ParseNodeList(f.oracle)
	if err != nil {
		return group.Config{}, err
	}
	inc := f.incarnation
	if inc == 0 {
		inc = uint64(time.Now().UnixMicro())
	}
	listen := f.listen
	if listen == "" {
		listen = peers[peer.NodeID(f.id)]
	}
	phi, maxUnstable, hb := f.phi, f.maxUnstable, f.heartbeat
	member := func(c *vsync.Config) {
		c.SafeAcceptors, c.MaxUnstable, c.HeartbeatTicks = phi, maxUnstable, hb
	}
	self := f.id
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "vsdb group n%d: %s\n", self, fmt.Sprintf(format, args...))
	}
	return group.Config{Self: peer.NodeID(f.id), ListenAddr: listen, Peers: peers, Oracle: oracle,
		Incarnation: inc, Tick: f.tick, Member: member, Logf: logf}, nil
}

func newGroupCmd() *cobra.Command {
	var (
		nf       groupNodeFlags
		rate     int
		logPath  string
		flavour  string
		payloadN int
	)
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Join a vsync process group over TCP and log every view and delivery (a demo and test process)",
		Long: "Runs one process of a vsync cluster: a membership replica if --oracle lists --id, and a member of " +
			"--group. It optionally multicasts at --send-rate per second and appends one line per view install " +
			"and per delivery to --log, until SIGTERM or SIGINT. Log lines:\n" +
			"  view <id> <member,member,…> t=<install time, Unix µs>\n  deliver <view> <sender> <seq> <flavour> <payload>\n" +
			"  state <count>     (a checkpoint was loaded: the group's ordered delivery count before this member joined)\n" +
			"  stopped <error>\n" +
			"Restart a killed process with the same --id and --listen: it rejoins as a new incarnation.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := nf.config()
			if err != nil {
				return err
			}
			fl, err := parseFlavour(flavour)
			if err != nil {
				return err
			}
			var logw io.Writer = io.Discard
			if logPath != "" {
				f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return err
				}
				defer f.Close()
				logw = f
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			app := newLogApp(logw, stop)
			node, err := group.New(cfg)
			if err != nil {
				return err
			}
			if err := node.Join(nf.group, app); err != nil {
				_ = node.Close()
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vsdb group: %s joining %q, peers on %s\n", node.MemberID(), nf.group, node.Addr())
			var wg sync.WaitGroup
			if rate > 0 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sendAtRate(ctx, node, nf.group, fl, rate, payloadN, app.firstView)
				}()
			}
			<-ctx.Done()
			wg.Wait()
			err = node.Close()
			if app.stopErr() != nil {
				return fmt.Errorf("member stopped: %w", app.stopErr())
			}
			return err
		},
	}
	nf.register(cmd.Flags())
	cmd.Flags().IntVar(&rate, "send-rate", 0, "multicasts per second once the first view is installed (0 = none)")
	cmd.Flags().StringVar(&flavour, "flavour", "ordered", "multicast flavour: send, ordered or safe")
	cmd.Flags().IntVar(&payloadN, "payload-bytes", 0, "pad payloads to at least this many bytes")
	cmd.Flags().StringVar(&logPath, "log", "", "append views and deliveries to this file")
	return cmd
}

func parseFlavour(s string) (vsync.Flavour, error) {
	switch s {
	case "send":
		return vsync.FlavourSend, nil
	case "ordered":
		return vsync.FlavourOrdered, nil
	case "safe":
		return vsync.FlavourSafe, nil
	}
	return 0, fmt.Errorf("unknown flavour %q (send, ordered or safe)", s)
}

// sendAtRate multicasts "<member>-<k>" payloads at rate per second (in batches every millisecond at
// high rates) from the first view until ctx ends.
func sendAtRate(ctx context.Context, node *group.Node, g string, fl vsync.Flavour, rate, padBytes int, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	interval := time.Second / time.Duration(rate)
	perTick := 1
	if interval < time.Millisecond {
		interval, perTick = time.Millisecond, rate/1000
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	k := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		batch := make([][]byte, perTick)
		for i := range batch {
			k++
			p := fmt.Appendf(nil, "%s-%d", node.MemberID(), k)
			for len(p) < padBytes {
				p = append(p, '.')
			}
			batch[i] = p
		}
		if _, err := node.Multicast(ctx, g, fl, batch...); err != nil {
			return // stopped or shutting down
		}
	}
}

// logApp is the `vsdb group` application: its state is the number of ordered (and safe) deliveries,
// which a joiner receives by state transfer; it logs every event as a line.
type logApp struct {
	mu        sync.Mutex
	w         io.Writer
	count     uint64
	loading   []byte
	firstView chan struct{}
	seenView  bool
	stopped   error
	onStop    func()
}

func newLogApp(w io.Writer, onStop func()) *logApp {
	return &logApp{w: w, firstView: make(chan struct{}), onStop: onStop}
}

func (a *logApp) line(format string, args ...any) {
	_, _ = fmt.Fprintf(a.w, format+"\n", args...) // one write per line: a killed process loses no whole line
}

func (a *logApp) Event(r *group.Responder, ev vsync.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch ev.Kind {
	case vsync.EventDeliver:
		d := ev.Delivery
		if d.Flavour != vsync.FlavourSend {
			a.count++
		}
		a.line("deliver %d %s %d %s %s", d.ViewID, d.Tag.Sender, d.Tag.Seq, d.Flavour, d.Payload)
	case vsync.EventLoadChunk:
		if ev.ChunkSeq == 1 {
			a.loading = a.loading[:0]
		}
		a.loading = append(a.loading, ev.Chunk...)
	case vsync.EventView:
		if len(a.loading) == 8 {
			a.count = binary.BigEndian.Uint64(a.loading)
			a.line("state %d", a.count)
		}
		a.loading = nil
		a.line("view %d %s t=%d", ev.View.ID, strings.Join(ev.View.Members, ","), time.Now().UnixMicro())
		if !a.seenView {
			a.seenView = true
			close(a.firstView)
		}
	case vsync.EventStopped:
		a.stopped = ev.Err
		a.line("stopped %v", ev.Err)
		a.onStop()
	}
}

func (a *logApp) Checkpoint(vsync.View) (vsync.CheckpointSource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return vsync.BytesCheckpoint(binary.BigEndian.AppendUint64(nil, a.count)), nil
}

func (a *logApp) stopErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped
}
