package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vsdb/vsdb/bench/chaos"
)

// errChaos makes `vsdb chaos` exit non-zero when a check failed.
var errChaos = errors.New("chaos: the history failed a check")

func newChaosCmd() *cobra.Command {
	var (
		o      chaos.Options
		faults string
	)
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Run a real multi-process cluster under faults (kill -9, SIGSTOP, partitions, delays) and check the history",
		Long: "Starts --nodes `vsdb server` processes on loopback, runs concurrent clients (strict GET/SET on " +
			"registers, cross-shard MSET/MGET pairs) for --duration while injecting --faults one at a time, then " +
			"checks linearizability per key (porcupine), acknowledged writes, partial multi-key reads and replica " +
			"digests. Ends with: ops=N linearizable=yes|no lost_acked=L partial_reads=P digest_mismatch=D.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			o.Binary, o.Log = bin, cmd.ErrOrStderr()
			if faults != "" {
				o.Faults = strings.Split(faults, ",")
			}
			switch o.DataDir {
			case "none":
				o.DataDir = ""
			case "":
				dir, err := os.MkdirTemp("", "vsdb-chaos-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				o.DataDir = dir
			}
			res, err := chaos.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "faults=%d client_errors=%d increments_acked=%d lost_increments=%d extra_increments=%d\n", res.Faults, res.Errors, res.IncrementsAcked, res.LostIncrements, res.ExtraIncrements)
			if !res.Linearizable {
				fmt.Fprintln(out, res.Info)
			}
			fmt.Fprintln(out, res.Line())
			if !res.Linearizable || res.LostAcked+res.PartialReads+res.DigestMismatch > 0 {
				return errChaos
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Nodes, "nodes", 3, "processes")
	f.IntVar(&o.RF, "rf", 3, "replication factor")
	f.DurationVar(&o.Duration, "duration", 30e9, "workload duration")
	f.StringVar(&faults, "faults", "kill,pause", "comma-separated faults: kill, pause, partition, delay")
	f.IntVar(&o.BasePort, "base-port", 7300, "base port P (node i: RESP P+i, HTTP P+100+i, peers P+200+i)")
	f.IntVar(&o.Clients, "clients", 8, "concurrent clients")
	f.Int64Var(&o.Seed, "seed", 1, "seed of the fault schedule and the workload")
	f.StringVar(&o.LogDir, "log-dir", "", "append each node's output to DIR/node-i.log")
	f.StringVar(&o.DataDir, "data-dir", "", "node i keeps its durable state (--cluster-data-dir) in DIR/node-i, emptied first; default a temporary directory removed afterwards; none: in-memory nodes")
	return cmd
}
