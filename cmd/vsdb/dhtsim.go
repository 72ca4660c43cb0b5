package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	dhtsim "github.com/vsdb/vsdb/dht/sim"
)

// errDHTViolations makes `vsdb dhtsim` exit non-zero when any seed violated a checked property.
var errDHTViolations = fmt.Errorf("dht simulation found violations")

func newDHTSimCmd() *cobra.Command {
	var (
		o       dhtsim.Options
		faults  string
		bug     string
		history bool
	)
	cmd := &cobra.Command{
		Use:   "dhtsim",
		Short: "Run the sharded, replicated KV in the deterministic simulator over many seeds and check every history",
		Long: "Runs seeded simulations of the DHT (dht.Cluster replicas fed by vsync members, membership replicas " +
			"on raft, a faulty network, crashes) with clients issuing strict SET/GET/INCR/DEL/MSET/MGET, and checks " +
			"linearizability (porcupine), lost acknowledged writes, partial multi-key reads, replica digests and the " +
			"group layer's properties. Prints every failing seed with the command that replays it, and ends with " +
			"one line: seeds=N linearizable=yes lost_acked=0 partial_reads=0 digest_mismatch=0 … violations=V.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if faults != "" {
				o.Faults = strings.Split(faults, ",")
			}
			switch bug {
			case "":
			case "stale-reads":
				o.StaleReads = true
			case "no-read-index":
				o.NoReadIndex = true
			default:
				return fmt.Errorf("dhtsim: unknown bug %q (want stale-reads or no-read-index)", bug)
			}
			if err := o.Validate(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if history {
				if o.Seeds != 1 {
					return fmt.Errorf("--history replays one seed: use it with --seed S and without --seeds")
				}
				h := o
				h.KeepHistory = true
				fmt.Fprint(out, dhtsim.RunSeed(o.Seed, h).History)
			}
			start := time.Now()
			res := dhtsim.Run(o)
			fmt.Fprint(out, res.Report(10))
			fmt.Fprintf(out, "elapsed=%s\n", time.Since(start).Round(time.Millisecond))
			if res.Violations > 0 {
				return errDHTViolations
			}
			return nil
		},
	}
	f := cmd.Flags()
	addSeedFlags(f, &o.Seed, &o.Seeds, &faults)
	f.IntVar(&o.Members, "members", 5, "member processes")
	f.IntVar(&o.Params.RF, "rf", dhtsim.DefaultParams.RF, "replication factor")
	f.IntVar(&o.Params.ExpectedGroupSize, "expected", dhtsim.DefaultParams.ExpectedGroupSize, "expected group size (shards = expected / rf)")
	f.IntVar(&o.Params.MinGroupSize, "min", dhtsim.DefaultParams.MinGroupSize, "minimum group size to serve")
	f.IntVar(&o.Steps, "steps", 1500, "ticks per run")
	f.IntVar(&o.Clients, "clients", 6, "concurrent clients")
	f.IntVar(&o.OpPerMille, "op-per-mille", 150, "chance per idle client and tick of starting an operation (per mille)")
	f.StringVar(&bug, "bug", "", "inject a deliberate bug (stale-reads, no-read-index) to show that the checker catches it")
	f.BoolVar(&o.WriteAckAll, "write-ack-all", false, "acknowledge writes when every member answered (the server's --cluster-write-ack all), not at the originator's own delivery")
	f.BoolVar(&o.Rehash, "rehash", false, "switch the group to hash generations 1 and 2 during the run (keys migrate between shards)")
	f.BoolVar(&history, "history", false, "print the client history of the seed before checking it")
	return cmd
}
