package server

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tidwall/redcon"
	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/shard"
)

// ---- COMMAND ----

func cmdCommand(c *conn, _ [][]byte) {
	all := protocol.All()
	c.out = redcon.AppendArray(c.out, len(all))
	for _, s := range all {
		c.out = protocol.AppendCommandInfo(c.out, s)
	}
}

func cmdCommandCount(c *conn, _ [][]byte) {
	c.out = redcon.AppendInt(c.out, int64(len(protocol.All())))
}

func cmdCommandInfo(c *conn, args [][]byte) {
	if len(args) == 2 {
		cmdCommand(c, args)
		return
	}
	c.out = redcon.AppendArray(c.out, len(args)-2)
	for _, name := range args[2:] {
		if s := protocol.Lookup(name); s != nil {
			c.out = protocol.AppendCommandInfo(c.out, s)
		} else {
			c.out = protocol.AppendNullArray(c.out)
		}
	}
}

func cmdCommandDocs(c *conn, args [][]byte) {
	var specs []*protocol.Spec
	if len(args) == 2 {
		specs = protocol.All()
	} else {
		for _, name := range args[2:] {
			if s := protocol.Lookup(name); s != nil {
				specs = append(specs, s)
			}
		}
	}
	c.out = redcon.AppendArray(c.out, 2*len(specs))
	for _, s := range specs {
		c.out = redcon.AppendBulkString(c.out, s.Name)
		c.out = protocol.AppendCommandDocs(c.out, s)
	}
}

func cmdCommandList(c *conn, args [][]byte) {
	var pattern []byte
	if len(args) > 2 {
		if len(args) != 5 || !strings.EqualFold(string(args[2]), "filterby") {
			c.out = redcon.AppendError(c.out, "ERR syntax error")
			return
		}
		switch strings.ToLower(string(args[3])) {
		case "pattern":
			pattern = args[4]
		default:
			c.out = redcon.AppendError(c.out, "ERR syntax error")
			return
		}
	}
	var names []string
	for _, s := range protocol.All() {
		if pattern == nil || shard.MatchGlob(pattern, []byte(s.Name), true) {
			names = append(names, s.Name)
		}
	}
	c.out = redcon.AppendArray(c.out, len(names))
	for _, n := range names {
		c.out = redcon.AppendBulkString(c.out, n)
	}
}

func cmdCommandGetKeys(c *conn, args [][]byte) {
	target := args[2:]
	spec, _ := lookup(target)
	switch {
	case protocol.Lookup(target[0]) == nil:
		c.out = redcon.AppendError(c.out, "ERR Invalid command specified")
	case spec == nil:
		c.out = redcon.AppendError(c.out, "ERR Invalid number of arguments specified for command")
	default:
		idx := spec.KeyIndexes(target)
		if len(idx) == 0 {
			c.out = redcon.AppendError(c.out, "ERR The command has no key arguments")
			return
		}
		c.out = redcon.AppendArray(c.out, len(idx))
		for _, i := range idx {
			c.out = redcon.AppendBulk(c.out, target[i])
		}
	}
}

func cmdCommandHelp(c *conn, _ [][]byte) {
	c.out = appendHelp(c.out,
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all commands.",
		"COUNT", "    Return the total number of commands.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
		"GETKEYS <full-command>", "    Return the keys from a full command.",
		"INFO [<command-name> ...]", "    Return details about multiple commands.",
		"LIST [FILTERBY (PATTERN <pattern>)]", "    Return a list of all commands.",
		"HELP", "    Print this help.")
}

// ---- CONFIG ----

// configParam is one CONFIG GET/SET parameter. set is nil for parameters that are fixed at start.
type configParam struct {
	name string
	get  func(n *Node) string
	set  func(n *Node, v string) error
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func configParams() []configParam {
	return []configParam{
		{name: "bind", get: func(n *Node) string { return n.cfg.Bind }},
		{name: "port", get: func(n *Node) string { return strconv.Itoa(portOf(n.Addr(), n.cfg.Port)) }},
		{name: "databases", get: func(*Node) string { return "1" }},
		{name: "save", get: func(*Node) string { return "" }},
		{name: "appendonly", get: func(*Node) string { return "no" }},
		{name: "cluster-enabled", get: func(*Node) string { return "no" }},
		{name: "hz", get: func(n *Node) string { return strconv.Itoa(n.cfg.ExpireHz) }},
		{name: "proto-max-bulk-len", get: func(n *Node) string { return strconv.FormatInt(n.cfg.Limits.MaxBulkBytes, 10) }},
		{name: "client-query-buffer-limit", get: func(n *Node) string { return strconv.FormatInt(n.cfg.Limits.MaxQueryBufferBytes, 10) }},
		{name: "maxclients", get: func(n *Node) string { return strconv.Itoa(n.maxClientsNow()) },
			set: func(n *Node, v string) error {
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil || x < 1 {
					return fmt.Errorf("argument must be a positive integer")
				}
				n.maxClients.Store(x)
				return nil
			}},
		{name: "timeout", get: func(n *Node) string { return strconv.FormatInt(int64(n.idleTimeout()/time.Second), 10) },
			set: func(n *Node, v string) error {
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil || x < 0 || x > 1<<31-1 {
					return fmt.Errorf("argument couldn't be parsed into an integer")
				}
				n.idleTimeoutNs.Store(int64(time.Duration(x) * time.Second))
				return nil
			}},
		{name: "protected-mode", get: func(n *Node) string { return yesNo(n.protectedMode()) },
			set: func(n *Node, v string) error {
				switch strings.ToLower(v) {
				case "yes":
					n.protected.Store(true)
				case "no":
					n.protected.Store(false)
				default:
					return fmt.Errorf("argument must be 'yes' or 'no'")
				}
				return nil
			}},
		{name: "requirepass", get: func(n *Node) string { return n.requirePass() },
			set: func(n *Node, v string) error { n.password.Store(&v); return nil }},
		{name: "maxmemory", get: func(n *Node) string { return strconv.FormatInt(n.storeConfig().MaxMemoryBytes, 10) },
			set: func(n *Node, v string) error {
				b, err := ParseMemory(v)
				if err != nil {
					return fmt.Errorf("argument must be a memory value")
				}
				return n.setMaxMemory(b, n.storeConfig().EvictionPolicy)
			}},
		{name: "maxmemory-policy", get: func(n *Node) string { return string(n.storeConfig().EvictionPolicy) },
			set: func(n *Node, v string) error {
				return n.setMaxMemory(n.storeConfig().MaxMemoryBytes, shard.Policy(strings.ToLower(v)))
			}},
		{name: "maxmemory-samples", get: func(n *Node) string { return strconv.Itoa(n.cfg.Store.EvictionSamples) }},
	}
}

func portOf(a net.Addr, fallback int) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return fallback
}

func cmdConfigGet(c *conn, args [][]byte) {
	params := configParams()
	seen := map[string]bool{}
	var pairs []string
	for _, pat := range args[2:] {
		for _, p := range params {
			if !seen[p.name] && shard.MatchGlob(pat, []byte(p.name), true) {
				seen[p.name] = true
				pairs = append(pairs, p.name, p.get(c.n))
			}
		}
	}
	c.out = redcon.AppendArray(c.out, len(pairs))
	for _, s := range pairs {
		c.out = redcon.AppendBulkString(c.out, s)
	}
}

// cmdConfigSet applies every name/value pair or none (Redis 7 semantics), with Redis's error texts.
func cmdConfigSet(c *conn, args [][]byte) {
	if len(args)%2 != 0 {
		c.out = redcon.AppendError(c.out, "ERR wrong number of arguments for 'config|set' command")
		return
	}
	params := configParams()
	byName := map[string]configParam{}
	for _, p := range params {
		byName[p.name] = p
	}
	type change struct {
		p configParam
		v string
	}
	var changes []change
	for i := 2; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		p, ok := byName[name]
		if !ok {
			c.out = redcon.AppendError(c.out, "ERR Unknown option or number of arguments for CONFIG SET - '"+string(args[i])+"'")
			return
		}
		if p.set == nil {
			c.out = redcon.AppendError(c.out, "ERR CONFIG SET failed (possibly related to argument '"+name+"') - can't set immutable config")
			return
		}
		changes = append(changes, change{p, string(args[i+1])})
	}
	for _, ch := range changes {
		if err := ch.p.set(c.n, ch.v); err != nil {
			c.out = redcon.AppendError(c.out, "ERR CONFIG SET failed (possibly related to argument '"+ch.p.name+"') - "+err.Error())
			return
		}
	}
	c.out = redcon.AppendOK(c.out)
}

func cmdConfigResetStat(c *conn, _ [][]byte) {
	c.n.metrics.resetStats()
	c.out = redcon.AppendOK(c.out)
}

func cmdConfigHelp(c *conn, _ [][]byte) {
	c.out = appendHelp(c.out,
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
		"RESETSTAT", "    Reset statistics reported by the INFO command.",
		"HELP", "    Print this help.")
}

// ParseMemory parses a Redis memory value: a byte count with an optional unit (k, kb, m, mb, g, gb;
// k = 1000 and kb = 1024, as redis.conf).
func ParseMemory(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mul    int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}, {"b", 1}}
	mul := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mul = strings.TrimSuffix(s, u.suffix), u.mul
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mul {
		return 0, fmt.Errorf("server: invalid memory value %q", s)
	}
	return v * mul, nil
}

// ---- INFO ----

var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster", "keyspace"}

func cmdInfo(c *conn, args [][]byte) {
	want := map[string]bool{}
	all := len(args) == 1
	for _, a := range args[1:] {
		s := strings.ToLower(string(a))
		if s == "all" || s == "everything" || s == "default" {
			all = true
		}
		want[s] = true
	}
	var sb strings.Builder
	for _, sec := range infoSections {
		if !all && !want[sec] {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString("\r\n")
		}
		c.n.writeInfoSection(&sb, sec)
	}
	c.out = redcon.AppendBulkString(c.out, sb.String())
}

func (n *Node) writeInfoSection(sb *strings.Builder, sec string) {
	kv := func(k string, v any) { fmt.Fprintf(sb, "%s:%v\r\n", k, v) }
	sb.WriteString("# " + strings.ToUpper(sec[:1]) + sec[1:] + "\r\n")
	st := n.data.Stats()
	switch sec {
	case "server":
		kv("redis_version", redisCompatVersion)
		kv("vsdb_version", Version)
		kv("redis_mode", "standalone")
		kv("os", runtime.GOOS+" "+runtime.GOARCH)
		kv("arch_bits", strconv.IntSize)
		kv("go_version", runtime.Version())
		kv("process_id", syscall.Getpid())
		kv("tcp_port", portOf(n.Addr(), n.cfg.Port))
		kv("uptime_in_seconds", int64(time.Since(n.started)/time.Second))
		kv("uptime_in_days", int64(time.Since(n.started)/(24*time.Hour)))
		kv("hz", n.cfg.ExpireHz)
	case "clients":
		kv("connected_clients", n.clients.count())
		kv("maxclients", n.maxClientsNow())
		kv("blocked_clients", 0)
	case "memory":
		sc := n.storeConfig()
		kv("used_memory", st.UsedMemoryBytes)
		kv("used_memory_human", humanBytes(st.UsedMemoryBytes))
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		kv("used_memory_rss", ms.Sys)
		kv("maxmemory", sc.MaxMemoryBytes)
		kv("maxmemory_human", humanBytes(sc.MaxMemoryBytes))
		kv("maxmemory_policy", sc.EvictionPolicy)
	case "persistence":
		kv("loading", 0)
		kv("rdb_changes_since_last_save", 0)
		kv("aof_enabled", 0)
	case "stats":
		m := n.metrics
		kv("total_connections_received", int64(counterValue(&m.connsTotal)))
		kv("total_commands_processed", int64(m.commandsProcessed.sinceReset()))
		kv("rejected_connections", int64(counterValue(&m.rejectedConns)))
		kv("expired_keys", st.ExpiredKeys)
		kv("evicted_keys", st.EvictedKeys)
		kv("keyspace_hits", st.Hits)
		kv("keyspace_misses", st.Misses)
		kv("total_error_replies", int64(counterValue(&m.rejected)))
	case "replication":
		kv("role", "master")
		kv("connected_slaves", 0)
	case "cpu":
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		kv("used_cpu_sys", fmt.Sprintf("%.6f", float64(ru.Stime.Sec)+float64(ru.Stime.Usec)/1e6))
		kv("used_cpu_user", fmt.Sprintf("%.6f", float64(ru.Utime.Sec)+float64(ru.Utime.Usec)/1e6))
	case "cluster":
		kv("cluster_enabled", 0)
	case "keyspace":
		if st.Keys > 0 {
			kv("db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", st.Keys, st.KeysWithExpiry))
		}
	}
}

func humanBytes(b int64) string {
	units := []string{"B", "K", "M", "G", "T"}
	f := float64(b)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(b, 10) + "B"
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + units[i]
}
