package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/server"
	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/shard"
)

// serverFlags declares every `vsdb server` setting once: its flag, its default (from
// server.DefaultConfig) and its help. Each is also the config-file key and, upper-cased with '-' as
// '_', the VSDB_* environment variable.
func serverFlags(fs *pflag.FlagSet) {
	d := server.DefaultConfig()
	fs.String("config", "", "config file (YAML, TOML or JSON); its keys are the flag names")
	fs.String("bind", d.Bind, "address to bind the RESP and HTTP listeners to")
	fs.Int("port", d.Port, "RESP port (0 = any free port, -1 = no RESP listener)")
	fs.Int("http-port", d.HTTPPort, "HTTP port for /healthz and /metrics (0 = any free port, -1 = none)")
	fs.String("requirepass", "", "password of the default user (clients must AUTH); empty = none")
	fs.Bool("protected-mode", d.ProtectedMode, "with no password, serve loopback clients only")
	fs.Int("maxclients", d.MaxClients, "most client connections at once")
	fs.Int("timeout", 0, "close clients idle for this many seconds (0 = never)")
	fs.String("maxmemory", "0", "memory limit for data, e.g. 100mb or 2gb (0 = none)")
	fs.String("maxmemory-policy", string(d.Store.EvictionPolicy), "noeviction, allkeys-lru, allkeys-random, volatile-lru, volatile-random or volatile-ttl")
	fs.Int("maxmemory-samples", d.Store.EvictionSamples, "keys sampled per eviction")
	fs.Int("hz", d.ExpireHz, "active-expire cycles per second")
	fs.String("proto-max-bulk-len", "512mb", "largest bulk string a client may send")
	fs.String("client-query-buffer-limit", "1gb", "largest request buffer per client")
	fs.String("reply-flush-bytes", "64kb", "reply bytes held per client before writing mid-batch")
	fs.Duration("reply-stall-timeout", 0, "close a client that accepts no reply bytes for this long (0 = never)")
	fs.Duration("shutdown-timeout", d.ShutdownTimeout, "how long shutdown waits for clients to finish")
	fs.Bool("pprof", false, "serve Go's profiler under /debug/pprof/ on the HTTP port (trusted networks only)")
	fs.Int("cluster-node", 0, "this node's id (1, 2, …) in a cluster; 0 = a single node (every other cluster-* setting is then ignored)")
	fs.String("cluster-peer-addr", "", "TCP address of this node's peer transport (cluster)")
	fs.String("cluster-peers", "", "every node's peer address: 1=host:port,2=host:port,… (cluster)")
	fs.String("cluster-oracle", "", "the nodes that run the membership service, 1 to 5 ids: 1,2,3 (cluster; default the first three of cluster-peers)")
	fs.Int("cluster-rf", 1, "replication factor RF: replicas per shard (cluster)")
	fs.Int("cluster-expected-size", 0, "ExpectedGroupSize: shards = expected size / RF (cluster; default RF)")
	fs.Int("cluster-min-size", 1, "MinGroupSize: below it every operation fails with CLUSTERDOWN (cluster)")
	fs.String("cluster-consistency", "strict", "write mode of new connections: strict or soft (CLIENT CONSISTENCY changes it) (cluster)")
	fs.String("cluster-redirect", "none", "a command for a shard this node does not hold: none (serve it through the group) or moved (answer -MOVED slot host:port) (cluster)")
	fs.Int("cluster-query-fanout", 0, "fan-out of a cut query's combining tree, 1 to 64 (cluster; 0 = default 2)")
	fs.Int("cluster-write-batch-max-cmds", 0, "most strict-write commands in one ordered op (group commit), 1 to 65536 (cluster; 0 = default 1024)")
	fs.Duration("cluster-relay-delay", 0, "how long the idle sequencer holds back the relay of what every replica holds, for the next write to carry it; the other replicas apply the last write up to this much later (cluster; default 500µs; negative: at once)")
	fs.String("cluster-write-ack", "", "when a strict write is acknowledged: delivery (at this node's own ordered delivery, when it is a replica of the write's shard) or all (once every replica applied it) (cluster; default delivery)")
	fs.Int("cluster-write-batches-in-flight", 0, "most strict-write ops of this node in the group at once, 1 to 256 (cluster; 0 = default 1)")
	fs.String("cluster-data-dir", "", "directory of this node's durable state: the membership replica's raft log (cluster; empty = in memory, and a restarted oracle node forgets its raft log)")
	fs.String("join", "", "HTTP host:port of any node of a running cluster: take the peers, the membership nodes and the DHT parameters from it (needs cluster-node, a free id, and cluster-peer-addr; the cluster-peers, -oracle, -rf, -expected-size and -min-size settings must then be left unset)")
	fs.String("cluster-announce", "", "client-facing RESP address reported by CLUSTER SLOTS (cluster; default the RESP listener's)")
}

// clusterConfig reads the cluster-* settings (nil when cluster-node is 0).
func clusterConfig(v *viper.Viper) (*server.ClusterConfig, []error) {
	id := v.GetInt("cluster-node")
	if id == 0 {
		return nil, nil
	}
	var errs []error
	cc := &server.ClusterConfig{Self: peer.NodeID(id), PeerAddr: v.GetString("cluster-peer-addr"),
		Peers: map[peer.NodeID]string{}, AnnounceAddr: v.GetString("cluster-announce"), DataDir: v.GetString("cluster-data-dir"), Consistency: v.GetString("cluster-consistency"), QueryFanout: v.GetInt("cluster-query-fanout"), WriteBatchMaxCmds: v.GetInt("cluster-write-batch-max-cmds"), WriteBatchesInFlight: v.GetInt("cluster-write-batches-in-flight"), WriteAck: v.GetString("cluster-write-ack"), RelayDelay: v.GetDuration("cluster-relay-delay"), Redirect: v.GetString("cluster-redirect"),
		DHT: dht.Params{RF: v.GetInt("cluster-rf"), ExpectedGroupSize: v.GetInt("cluster-expected-size"), MinGroupSize: v.GetInt("cluster-min-size")}}
	if id < 0 {
		errs = append(errs, fmt.Errorf("cluster-node: %d must be positive", id))
	}
	var ids []peer.NodeID
	for _, kv := range strings.Split(v.GetString("cluster-peers"), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, addr, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(k, 10, 64)
		if !ok || err != nil || n == 0 || addr == "" {
			errs = append(errs, fmt.Errorf("cluster-peers: %q is not id=host:port", kv))
			continue
		}
		cc.Peers[peer.NodeID(n)] = addr
		ids = append(ids, peer.NodeID(n))
	}
	if cc.PeerAddr == "" {
		cc.PeerAddr = cc.Peers[cc.Self]
	}
	if cc.PeerAddr == "" {
		errs = append(errs, fmt.Errorf("cluster-peer-addr: required (or an entry for node %d in cluster-peers)", id))
	}
	if o := v.GetString("cluster-oracle"); o != "" {
		for _, s := range strings.Split(o, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil || n == 0 {
				errs = append(errs, fmt.Errorf("cluster-oracle: %q is not a node id", s))
				continue
			}
			cc.Oracle = append(cc.Oracle, peer.NodeID(n))
		}
	} else {
		slices.Sort(ids)
		cc.Oracle = ids[:min(3, len(ids))]
	}
	if join := v.GetString("join"); join != "" && len(errs) == 0 {
		for _, k := range joinOwnedFlags {
			if v.IsSet(k) {
				errs = append(errs, fmt.Errorf("%s: set, but --join takes it from the cluster", k))
			}
		}
		if v.GetString("cluster-peer-addr") == "" {
			errs = append(errs, errors.New("cluster-peer-addr: required with --join"))
		}
		if len(errs) == 0 {
			info, err := fetchJoinInfo(context.Background(), join, v.GetString("requirepass"))
			if err == nil {
				err = applyJoin(cc, info)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if cc.Consistency != "strict" && cc.Consistency != "soft" {
		errs = append(errs, fmt.Errorf("cluster-consistency: %q is not strict or soft", cc.Consistency))
	}
	if err := cc.DHT.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("cluster: %w", err))
	}
	return cc, errs
}

func newServerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a vsdb node (with no flags: one in-memory node, RESP on 127.0.0.1:6379, HTTP on :8080)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServerConfig(cmd.Flags())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			node, err := server.Open(ctx, cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "vsdb %s: RESP on %v, HTTP on %v\n", server.Version, node.Addr(), node.HTTPAddr())
			<-ctx.Done()
			fmt.Fprintln(out, "vsdb: shutting down")
			return node.Close()
		},
	}
	serverFlags(cmd.Flags())
	return cmd
}

// loadServerConfig merges flags, VSDB_* environment variables and the config file (flags win, then the
// environment, then the file) into a server.Config, and reports every bad setting at once.
func loadServerConfig(fs *pflag.FlagSet) (server.Config, error) {
	v := viper.New()
	v.SetEnvPrefix("VSDB")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fs); err != nil {
		return server.Config{}, err
	}
	if file := v.GetString("config"); file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return server.Config{}, fmt.Errorf("read config file: %w", err)
		}
	}
	var errs []error
	mem := func(key string) int64 {
		b, err := server.ParseMemory(v.GetString(key))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a memory value (e.g. 512mb, 1gb)", key, v.GetString(key)))
		}
		return b
	}
	cfg := server.DefaultConfig()
	cfg.Bind = v.GetString("bind")
	cfg.Port = v.GetInt("port")
	cfg.HTTPPort = v.GetInt("http-port")
	cfg.RequirePass = v.GetString("requirepass")
	cfg.ProtectedMode = v.GetBool("protected-mode")
	cfg.MaxClients = v.GetInt("maxclients")
	cfg.IdleTimeout = time.Duration(v.GetInt("timeout")) * time.Second
	cfg.Store = shard.Config{
		MaxMemoryBytes:  mem("maxmemory"),
		EvictionPolicy:  shard.Policy(strings.ToLower(v.GetString("maxmemory-policy"))),
		EvictionSamples: v.GetInt("maxmemory-samples"),
	}
	cfg.ExpireHz = v.GetInt("hz")
	cfg.Limits.MaxBulkBytes = mem("proto-max-bulk-len")
	cfg.Limits.MaxQueryBufferBytes = mem("client-query-buffer-limit")
	cfg.ReplyFlushBytes = int(mem("reply-flush-bytes"))
	cfg.ReplyStallTimeout = v.GetDuration("reply-stall-timeout")
	cfg.ShutdownTimeout = v.GetDuration("shutdown-timeout")
	cfg.Pprof = v.GetBool("pprof")
	// The cluster layer's notable events (rejoins, drops, refused joiners) go to standard error, one
	// timestamped line each: they are what explains a failure seen by vsdb chaos.
	cfg.Logf = log.New(os.Stderr, "vsdb: ", log.LstdFlags|log.Lmicroseconds).Printf
	cc, cerrs := clusterConfig(v)
	cfg.Cluster = cc
	errs = append(errs, cerrs...)
	if v.GetInt("timeout") < 0 {
		errs = append(errs, fmt.Errorf("timeout: %d must not be negative", v.GetInt("timeout")))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return cfg, nil
}
