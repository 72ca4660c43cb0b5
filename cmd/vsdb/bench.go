package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vsdb/vsdb/bench"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Side-by-side benchmarks (see docs/benchmarks.md)"}
	cmd.AddCommand(newBenchRedisCompareCmd(), newBenchVsyncCmd(), newBenchQueryCmd(), newBenchLatencyCmd())
	return cmd
}

func newBenchRedisCompareCmd() *cobra.Command {
	var (
		requests, rounds, serverCPU, loadCPU int
		vsdbBinary, redisServer, redisBench  string
		docsPath                             string
	)
	cmd := &cobra.Command{
		Use:   "redis-compare",
		Short: "Run the same redis-benchmark SET/GET workloads against redis-server and vsdb, interleaved, and compare",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if vsdbBinary == "" {
				self, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find own binary: %w", err)
				}
				vsdbBinary = self
			}
			opts := bench.RedisCompareOptions{
				VsdbBinary: vsdbBinary, RedisServer: redisServer, RedisBenchmark: redisBench,
				Rounds: rounds, Workloads: bench.DefaultRedisCompareWorkloads(requests),
				ServerCPU: serverCPU, LoadCPU: loadCPU, Log: cmd.ErrOrStderr(),
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			rep, err := bench.RunRedisCompare(cmd.Context(), opts)
			if err != nil {
				if rep != nil && len(rep.Results) > 0 { // what ran before the failure is still worth seeing
					fmt.Fprintln(cmd.OutOrStdout(), "PARTIAL REPORT (the run failed):\n"+rep.Summary())
				}
				return err
			}
			rep.Command = "vsdb bench redis-compare " + strings.Join(os.Args[3:], " ")
			fmt.Fprintln(cmd.OutOrStdout(), rep.Summary())
			if docsPath != "" {
				if err := os.MkdirAll(filepath.Dir(docsPath), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(docsPath, []byte(rep.Markdown()), 0o644); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", docsPath)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&requests, "requests", 500000, "requests per redis-benchmark run")
	f.IntVar(&rounds, "rounds", 3, "interleaved rounds (A B A B …)")
	f.IntVar(&serverCPU, "server-cpu", 0, "core the servers are pinned to")
	f.IntVar(&loadCPU, "load-cpu", 1, "core redis-benchmark is pinned to")
	f.StringVar(&vsdbBinary, "vsdb", "", "vsdb binary to benchmark (default: this binary)")
	f.StringVar(&redisServer, "redis-server", "redis-server", "redis-server binary")
	f.StringVar(&redisBench, "redis-benchmark", "redis-benchmark", "redis-benchmark binary")
	f.StringVar(&docsPath, "write", "", "also write the report as Markdown to this file (e.g. docs/bench-redis-compare.md)")
	return cmd
}

func newBenchLatencyCmd() *cobra.Command {
	var o bench.LatencyOptions
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "One client's SET round trips against a RESP server, with exact percentiles (redis-benchmark's are 8 µs buckets near 150 µs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := bench.MeasureSetLatency(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:6379", "the server's RESP address")
	f.IntVar(&o.Requests, "requests", 20000, "timed SETs")
	f.IntVar(&o.Warmup, "warmup", 2000, "untimed SETs first (negative: none)")
	f.IntVar(&o.KeySpace, "keyspace", bench.DefaultKeySpace, "distinct keys, chosen at random (redis-benchmark -r)")
	f.IntVar(&o.ValueBytes, "value-bytes", 3, "value size (redis-benchmark -d)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the key choice")
	return cmd
}
