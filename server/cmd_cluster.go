package server

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/tidwall/redcon"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/shard"
)

/*
CLUSTER on a clustered node presents the DHT layout the way Redis Cluster does, so cluster clients
(redis-cli -c, go-redis ClusterClient, redis-py) can route by slot: each shard is a slot range whose
"master" is its first ready replica (the shard's transfer donor) and whose "replicas" are the other
members of its positions. Any node accepts any command (it forwards through the group), so a client's
stale routing is never an error: -MOVED is not sent. Node ids are the SHA-1 of the member id (40 hex
characters, like Redis's).
*/

// nodeID is the Redis-style id of a member.
func nodeID(member string) string {
	h := sha1.Sum([]byte(member))
	return hex.EncodeToString(h[:])
}

type shardView struct {
	first, last uint16
	nodes       []string // members with an announced address, master first
}

func clusterShards(l dht.Layout) []shardView {
	out := make([]shardView, l.Shards)
	for s := range out {
		out[s].first, out[s].last = dht.SlotRange(s, l.Shards)
		var ready, rest []string
		for _, m := range dht.ReplicasOf(l.Placement, s, l.Shards) {
			if l.Addrs[m] == "" {
				continue
			}
			if l.Ready[m] {
				ready = append(ready, m)
			} else {
				rest = append(rest, m)
			}
		}
		out[s].nodes = append(ready, rest...)
	}
	return out
}

func splitHostPort(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func cmdCluster(c *conn, args [][]byte) {
	cp := c.n.cluster
	if cp == nil {
		cmdClusterDisabled(c, args)
		return
	}
	sub := strings.ToLower(string(args[1]))
	l := cp.cur().c.Layout()
	shards := clusterShards(l)
	switch sub {
	case "myid":
		c.out = redcon.AppendBulkString(c.out, nodeID(l.Self))
	case "keyslot":
		if len(args) != 3 {
			c.out = redcon.AppendError(c.out, "ERR wrong number of arguments for 'cluster|keyslot' command")
			return
		}
		c.out = redcon.AppendInt(c.out, int64(shard.KeySlot(args[2])))
	case "info":
		state := "ok"
		for _, sv := range shards {
			if len(sv.nodes) == 0 || !l.Ready[sv.nodes[0]] {
				state = "fail"
			}
		}
		known := 0
		for _, m := range l.Placement {
			if m != "" && l.Addrs[m] != "" {
				known++
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n", state, shard.SlotCount, shard.SlotCount)
		fmt.Fprintf(&b, "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:%d\r\ncluster_size:%d\r\n", known, l.Shards)
		fmt.Fprintf(&b, "cluster_current_epoch:%d\r\ncluster_my_epoch:%d\r\n", l.ViewID, l.ViewID)
		c.out = redcon.AppendBulkString(c.out, b.String())
	case "slots":
		n := 0
		for _, sv := range shards {
			if len(sv.nodes) > 0 {
				n++
			}
		}
		c.out = redcon.AppendArray(c.out, n)
		for _, sv := range shards {
			if len(sv.nodes) == 0 {
				continue
			}
			c.out = redcon.AppendArray(c.out, 2+len(sv.nodes))
			c.out = redcon.AppendInt(c.out, int64(sv.first))
			c.out = redcon.AppendInt(c.out, int64(sv.last))
			for _, m := range sv.nodes {
				host, port := splitHostPort(l.Addrs[m])
				c.out = redcon.AppendArray(c.out, 3)
				c.out = redcon.AppendBulkString(c.out, host)
				c.out = redcon.AppendInt(c.out, int64(port))
				c.out = redcon.AppendBulkString(c.out, nodeID(m))
			}
		}
	case "shards":
		c.out = redcon.AppendArray(c.out, len(shards))
		for _, sv := range shards {
			c.out = redcon.AppendArray(c.out, 4)
			c.out = redcon.AppendBulkString(c.out, "slots")
			c.out = redcon.AppendArray(c.out, 2)
			c.out = redcon.AppendInt(c.out, int64(sv.first))
			c.out = redcon.AppendInt(c.out, int64(sv.last))
			c.out = redcon.AppendBulkString(c.out, "nodes")
			c.out = redcon.AppendArray(c.out, len(sv.nodes))
			for i, m := range sv.nodes {
				host, port := splitHostPort(l.Addrs[m])
				role, health := "replica", "online"
				if i == 0 {
					role = "master"
				}
				if !l.Ready[m] {
					health = "loading"
				}
				c.out = redcon.AppendArray(c.out, 12)
				for _, kv := range [][2]string{{"id", nodeID(m)}, {"ip", host}, {"endpoint", host}, {"role", role}, {"health", health}} {
					c.out = redcon.AppendBulkString(c.out, kv[0])
					c.out = redcon.AppendBulkString(c.out, kv[1])
				}
				c.out = redcon.AppendBulkString(c.out, "port")
				c.out = redcon.AppendInt(c.out, int64(port))
			}
		}
	case "nodes":
		var b strings.Builder
		for _, sv := range shards {
			for i, m := range sv.nodes {
				flags, master := "master", "-"
				if i > 0 {
					flags, master = "slave", nodeID(sv.nodes[0])
				}
				if m == l.Self {
					flags = "myself," + flags
				}
				host, port := splitHostPort(l.Addrs[m])
				fmt.Fprintf(&b, "%s %s:%d@%d %s %s 0 0 %d connected", nodeID(m), host, port, port+10000, flags, master, l.ViewID)
				if i == 0 {
					fmt.Fprintf(&b, " %d-%d", sv.first, sv.last)
				}
				b.WriteString("\n")
			}
		}
		c.out = redcon.AppendBulkString(c.out, b.String())
	case "countkeysinslot", "getkeysinslot":
		// Answered by the shard that owns the slot, in the total order (dht/slotcmd.go), whichever
		// node the client asked: every node serves every slot.
		if _, _, msg := dht.ParseSlotCommand(args); msg != "" {
			c.out = redcon.AppendError(c.out, msg)
			return
		}
		cmdData(c, args)
	default:
		c.out = redcon.AppendError(c.out, fmt.Sprintf("ERR unknown subcommand '%s'. Try CLUSTER HELP.", args[1]))
	}
}

// cmdReadMode answers READONLY and READWRITE on a clustered node: every node serves reads of every
// slot (strict reads stay linearizable wherever they are sent), so both are accepted and change nothing.
func cmdReadMode(c *conn, args [][]byte) {
	if c.n.cluster == nil {
		cmdClusterDisabled(c, args)
		return
	}
	c.out = redcon.AppendOK(c.out)
}
