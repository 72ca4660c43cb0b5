package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vsdb/vsdb/vsync/sim"
)

// errViolations makes `vsdb sim` exit non-zero when any seed violated a checked property.
var errViolations = fmt.Errorf("simulation found violations")

func newSimCmd() *cobra.Command {
	var (
		o       sim.Options
		faults  string
		history bool
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the deterministic simulator of the vsync group layer over many seeds and check every history",
		Long: "Runs seeded simulations (members, membership replicas on raft, a faulty network, crashes) and " +
			"checks view agreement, virtual synchrony, total order, FIFO, no delivery from outside the view, " +
			"SafeSend durability and Flush. Prints every failing seed with the command that replays it, and " +
			"ends with one line: seeds=N violations=V.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if faults != "" {
				o.Faults = strings.Split(faults, ",")
			}
			if err := o.Validate(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if history {
				if o.Seeds != 1 {
					return fmt.Errorf("--history replays one seed: use it with --seed S and without --seeds")
				}
				sr := sim.RunSeed(o.Seed, o)
				fmt.Fprint(out, sim.FormatHistory(sr.History))
			}
			res := sim.Run(o)
			for _, f := range res.Failures {
				fmt.Fprintf(out, "FAIL seed=%d (%d violations) replay: %s\n", f.Seed, len(f.Violations), f.Replay)
				for i, v := range f.Violations {
					if i == 10 {
						fmt.Fprintf(out, "  … %d more\n", len(f.Violations)-10)
						break
					}
					fmt.Fprintf(out, "  %s: %s\n", v.Checker, v.Detail)
				}
			}
			fmt.Fprintf(out, "seeds=%d violations=%d\n", res.Seeds, res.Violations)
			if res.Violations > 0 {
				return errViolations
			}
			return nil
		},
	}
	f := cmd.Flags()
	addSeedFlags(f, &o.Seed, &o.Seeds, &faults)
	f.IntVar(&o.Members, "members", 3, "member processes")
	f.IntVar(&o.Oracle, "oracle", 3, "membership-service replicas (1 to 5)")
	f.IntVar(&o.Groups, "groups", 1, "groups (every process is in each)")
	f.IntVar(&o.Steps, "steps", 1500, "ticks per run")
	f.IntVar(&o.Phi, "phi", 0, "SafeSend acceptors Φ (0 = all members)")
	f.StringVar(&o.Bug, "bug", "", "inject a deliberate protocol bug (only to show that the checkers catch it)")
	f.BoolVar(&o.Codec, "codec", false, "route every message through its wire encoding")
	f.BoolVar(&history, "history", false, "print the history of the seed (one event per line) before checking it")
	return cmd
}

// addSeedFlags defines the flags the simulators share: --seed, --seeds and --faults.
func addSeedFlags(f *pflag.FlagSet, seed *int64, seeds *int, faults *string) {
	f.Int64Var(seed, "seed", 1, "first seed (with --seeds 1: replay exactly this seed)")
	f.IntVar(seeds, "seeds", 1, "how many consecutive seeds to run")
	f.StringVar(faults, "faults", "", "comma-separated faults: "+strings.Join(sim.AllFaults, ","))
}
