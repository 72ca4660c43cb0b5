package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vsdb/vsdb/bench/chaos"
)

// devPorts and devArgs are the loopback cluster layout shared with vsdb chaos.
var (
	devPorts = chaos.NodePorts
	devArgs  = chaos.NodeArgs
)

func newDevCmd() *cobra.Command {
	var nodes, rf, base int
	var restart bool
	var dataDir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local N-process cluster on loopback (node i: RESP on P+i, HTTP on P+100+i, peers on P+200+i)",
		Long: "Starts N `vsdb server` processes forming one clustered DHT (the first three run the membership " +
			"service; shards = N / RF), prints each node's ports, and stops them all on Ctrl-C or SIGTERM.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 || rf < 1 || base < 1 || base+200+nodes > 65535 {
				return fmt.Errorf("--nodes, --rf and --base-port must be positive and the ports below 65536")
			}
			if rf > nodes {
				rf = nodes
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			switch dataDir {
			case "none":
				dataDir = ""
			case "":
				dir, err := os.MkdirTemp("", "vsdb-dev-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				dataDir = dir
			}
			out := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			var wg sync.WaitGroup
			for i := 1; i <= nodes; i++ {
				resp, http, peer := devPorts(base, i)
				fmt.Fprintf(out, "node %d: RESP 127.0.0.1:%d  HTTP 127.0.0.1:%d  peers 127.0.0.1:%d\n", i, resp, http, peer)
				wg.Add(1)
				go func() {
					defer wg.Done()
					args := devArgs(nodes, i, rf, base)
					if dataDir != "" {
						args = append(args, "--cluster-data-dir", filepath.Join(dataDir, fmt.Sprintf("node-%d", i)))
					}
					superviseNode(ctx, self, args, i, restart, out, cmd.ErrOrStderr())
				}()
			}
			fmt.Fprintf(out, "vsdb dev: %d nodes, RF=%d, %d shards; try: redis-cli -c -p %d\n", nodes, rf, max(1, nodes/rf), base+1)
			<-ctx.Done()
			wg.Wait()
			fmt.Fprintln(out, "vsdb dev: stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "processes")
	f.IntVar(&rf, "rf", 3, "replication factor (shards = nodes / rf)")
	f.IntVar(&base, "base-port", 7000, "base port P")
	f.StringVar(&dataDir, "data-dir", "", "node i keeps its durable state (--cluster-data-dir) in DIR/node-i; default a temporary directory removed on exit; none: in-memory nodes")
	f.BoolVar(&restart, "restart", true, "restart a node that exits (a new incarnation, which rejoins and receives its shard by state transfer)")
	return cmd
}

// superviseNode runs node i until ctx ends (then SIGTERM, and SIGKILL after 10 s), restarting it a
// second after it exits when restart is set.
func superviseNode(ctx context.Context, self string, args []string, i int, restart bool, out, errOut io.Writer) {
	for {
		c := exec.Command(self, args...)
		stdout, err1 := c.StdoutPipe()
		stderr, err2 := c.StderrPipe()
		if err := errors.Join(err1, err2); err != nil {
			fmt.Fprintf(out, "vsdb dev: node %d: %v\n", i, err)
			return
		}
		if err := c.Start(); err != nil {
			fmt.Fprintf(out, "vsdb dev: start node %d: %v\n", i, err)
			return
		}
		exited := make(chan error, 1)
		go func() {
			// The copies end at EOF (the node exited); only then may Wait close the pipes.
			done := make(chan struct{}, 2)
			go func() { copyLines(out, stdout, i); done <- struct{}{} }()
			go func() { copyLines(errOut, stderr, i); done <- struct{}{} }()
			<-done
			<-done
			exited <- c.Wait()
		}()
		select {
		case <-ctx.Done():
			_ = c.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = c.Process.Kill()
				<-exited
			}
			return
		case err := <-exited:
			fmt.Fprintf(out, "vsdb dev: node %d exited (%v)\n", i, err)
		}
		if !restart {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		fmt.Fprintf(out, "vsdb dev: restarting node %d\n", i)
	}
}

// copyLines copies r to w line by line, each prefixed with the node's number, until EOF.
func copyLines(w io.Writer, r io.Reader, node int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintf(w, "[node %d] %s\n", node, sc.Bytes())
	}
}
