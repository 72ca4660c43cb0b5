package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/vsdb/vsdb/bench/chaos"
)

// newBenchQueryCmd is issue 5's benchmark: a cut-mode aggregation query on a 3-node cluster against the
// client-side way a Redis user computes it (SCAN + pipelined HGET + sum in Go) on redis-server.
func newBenchQueryCmd() *cobra.Command {
	var keys, groups, runs, nodes, rf, base int
	var redisBin string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Aggregation query latency (sum and count grouped by a field, cut mode) vs SCAN+HGET+sum against redis-server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			ctx := cmd.Context()
			self, err := os.Executable()
			if err != nil {
				return err
			}
			// The vsdb cluster.
			var procs []*exec.Cmd
			defer func() {
				for _, p := range procs {
					_ = p.Process.Signal(syscall.SIGTERM)
					_ = p.Wait()
				}
			}()
			for i := 1; i <= nodes; i++ {
				c := exec.Command(self, chaos.NodeArgs(nodes, i, rf, base)...)
				if err := c.Start(); err != nil {
					return err
				}
				procs = append(procs, c)
			}
			rp, hp, _ := chaos.NodePorts(base, 1)
			vc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rp), Protocol: 2, ReadTimeout: time.Minute})
			defer vc.Close()
			if err := waitClusterReady(ctx, vc, nodes); err != nil {
				return err
			}
			t0 := time.Now()
			if err := loadAccounts(ctx, vc, keys, groups, true); err != nil {
				return fmt.Errorf("load vsdb: %w", err)
			}
			fmt.Fprintf(out, "vsdb: %d nodes (RF=%d), %d keys loaded in %v\n", nodes, rf, keys, time.Since(t0).Round(time.Millisecond))
			body := []byte(`{"match":"acct:*","value":{"field":"balance"},"group_by":{"field":"region"},` +
				`"aggregates":[{"kind":"sum"},{"kind":"count"}],"consistency":"cut","max_groups":1000,"timeout_ms":60000}`)
			var vl []time.Duration
			var check float64
			for r := 0; r < runs; r++ {
				t := time.Now()
				resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/query", hp), "application/json", bytes.NewReader(body))
				if err != nil {
					return err
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				vl = append(vl, time.Since(t))
				var a struct {
					Groups []struct {
						Values []float64 `json:"values"`
					} `json:"groups"`
				}
				if resp.StatusCode != 200 || json.Unmarshal(b, &a) != nil || len(a.Groups) != groups {
					return fmt.Errorf("query answer %d: %s", resp.StatusCode, b)
				}
				check = 0
				for _, g := range a.Groups {
					check += g.Values[1]
				}
			}
			if int(check) != keys {
				return fmt.Errorf("vsdb counted %v keys, want %d", check, keys)
			}
			// redis-server, the client-side way.
			rs := exec.Command(redisBin, "--port", strconv.Itoa(base+99), "--save", "", "--appendonly", "no")
			if err := rs.Start(); err != nil {
				return fmt.Errorf("start %s: %w", redisBin, err)
			}
			defer func() { _ = rs.Process.Kill(); _ = rs.Wait() }()
			rc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", base+99), Protocol: 2})
			defer rc.Close()
			for rc.Ping(ctx).Err() != nil {
				time.Sleep(50 * time.Millisecond)
			}
			if err := loadAccounts(ctx, rc, keys, groups, false); err != nil {
				return fmt.Errorf("load redis: %w", err)
			}
			var rl []time.Duration
			for r := 0; r < max(1, runs/5); r++ {
				t := time.Now()
				n, err := clientSideAggregate(ctx, rc)
				if err != nil {
					return err
				}
				rl = append(rl, time.Since(t))
				if n != keys {
					return fmt.Errorf("redis client-side counted %d keys, want %d", n, keys)
				}
			}
			p := func(l []time.Duration, q float64) time.Duration {
				slices.Sort(l)
				return l[min(len(l)-1, int(float64(len(l))*q))].Round(time.Microsecond)
			}
			fmt.Fprintf(out, "vsdb cut query (POST /v1/query), %d runs: p50 %v p99 %v\n", len(vl), p(vl, 0.5), p(vl, 0.99))
			fmt.Fprintf(out, "redis SCAN+HGET+sum in Go, %d runs: p50 %v p99 %v\n", len(rl), p(rl, 0.5), p(rl, 0.99))
			fmt.Fprintf(out, "speedup at p50: %.1fx\n", float64(p(rl, 0.5))/float64(p(vl, 0.5)))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&keys, "keys", 1000000, "accounts (hashes with balance and region)")
	f.IntVar(&groups, "groups", 100, "distinct regions")
	f.IntVar(&runs, "runs", 20, "vsdb queries (redis runs a fifth as many: each takes seconds)")
	f.IntVar(&nodes, "nodes", 3, "vsdb processes")
	f.IntVar(&rf, "rf", 1, "replication factor (shards = nodes / rf; each shard's representative scans its part in parallel)")
	f.IntVar(&base, "base-port", 7800, "base port of the cluster (and base+99 for redis-server)")
	f.StringVar(&redisBin, "redis-server", "redis-server", "the redis-server binary")
	return cmd
}

func waitClusterReady(ctx context.Context, c *redis.Client, nodes int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && bytes.Contains([]byte(info), []byte("cluster_known_nodes:"+strconv.Itoa(nodes))) &&
			bytes.Contains([]byte(info), []byte("cluster_state:ok")) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the cluster did not form")
}

// loadAccounts writes acct:<i> = {balance: i%1000, region: r<i%groups>} in batches of 1000 (one
// MULTI/EXEC per batch on vsdb: one replicated op; a pipeline on redis).
func loadAccounts(ctx context.Context, c *redis.Client, keys, groups int, tx bool) error {
	for i := 0; i < keys; i += 1000 {
		fn := func(p redis.Pipeliner) error {
			for j := i; j < min(keys, i+1000); j++ {
				p.HSet(ctx, "acct:"+strconv.Itoa(j), "balance", j%1000, "region", "r"+strconv.Itoa(j%groups))
			}
			return nil
		}
		var err error
		if tx {
			_, err = c.TxPipelined(ctx, fn)
		} else {
			_, err = c.Pipelined(ctx, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// clientSideAggregate is what a Redis user writes: SCAN the keys, HGET the fields in pipelines, sum
// per region in Go. It returns the number of accounts counted.
func clientSideAggregate(ctx context.Context, c *redis.Client) (int, error) {
	sums, counts := map[string]float64{}, map[string]int{}
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "acct:*", 1000).Result()
		if err != nil {
			return 0, err
		}
		cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.HMGet(ctx, k, "balance", "region")
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		for _, cmd := range cmds {
			v := cmd.(*redis.SliceCmd).Val()
			if len(v) != 2 || v[0] == nil || v[1] == nil {
				continue
			}
			b, err := strconv.ParseFloat(v[0].(string), 64)
			if err != nil {
				continue
			}
			r := v[1].(string)
			sums[r] += b
			counts[r]++
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}
