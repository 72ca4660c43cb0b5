package dht

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/redcon"

	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/vsync"
)

/*
Splitting commands over shards. A command's keys come from the command table (first key, last key,
step). A command whose keys all fall in one shard goes to that shard whole. Keyless commands (DBSIZE,
KEYS, SCAN, RANDOMKEY, FLUSHALL, FLUSHDB) go to every shard. The multi-key commands MSET, MGET, DEL,
UNLINK, EXISTS and TOUCH are cut into one part per shard (the shard's keys, in their order), executed at
every touched shard at the same point of the total order, and their replies merged as one command's
(MergeReply). Any other command whose keys span shards (RENAME, COPY, MSETNX across shards) is refused
with ErrCrossShard: executing it needs a value to move between shards inside one ordered step.
*/

// ErrCrossShard is the error text for a command whose keys are in several shards and that cannot be split.
const ErrCrossShard = "ERR this command's keys are in different shards and it cannot be split (vsdb cluster): use keys with one {hash tag}"

// keyless lists the keyless data commands, sent to every shard.
var keyless = map[string]bool{"dbsize": true, "keys": true, "scan": true, "randomkey": true, "flushall": true, "flushdb": true}

// splittable lists the multi-key commands cut into per-shard parts, with their key step.
var splittable = map[string]int{"mset": 2, "mget": 1, "del": 1, "unlink": 1, "exists": 1, "touch": 1}

// Keys returns the positions of the key arguments of args (per the command table), or nil.
func Keys(args [][]byte) []int {
	var out []int
	eachKey(args, func(i int) { out = append(out, i) })
	return out
}

// eachKey calls fn with the position of every key argument of args, in order (Keys without the slice).
func eachKey(args [][]byte, fn func(int)) {
	spec := protocol.Lookup(args[0])
	if spec != nil && len(spec.Subcommands) > 0 && len(args) > 1 {
		spec = protocol.LookupSub(spec, args[1]) // OBJECT ENCODING key: the key spec is the subcommand's
	}
	if spec == nil || spec.FirstKey <= 0 {
		return
	}
	last := spec.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := max(spec.Step, 1)
	for i := spec.FirstKey; i <= last && i < len(args); i += step {
		fn(i)
	}
}

// IsKeyless reports whether the command is sent to every shard (case-insensitive; no allocation).
func IsKeyless(name []byte) bool { return protocol.LookupLower(keyless, name) }

// ShardOfKey returns the shard of key with ns shards and the default hasher.
func ShardOfKey(key []byte, ns int) int { return DefaultRouter(ns).ShardOfKey(key) }

// ShardsOf is Router.ShardsOf with ns shards and the default hasher.
func ShardsOf(args [][]byte, ns int) []int { return DefaultRouter(ns).ShardsOf(args) }

// ShardsOf returns the shards a command touches (sorted, without duplicates): all of them for a keyless
// command, shard 0 for any other command without keys.
func (r Router) ShardsOf(args [][]byte) []int {
	ns := r.NS
	if IsSlotCommand(args) {
		return []int{slotCommandShard(args, ns)}
	}
	if IsKeyless(args[0]) {
		out := make([]int, ns)
		for i := range out {
			out[i] = i
		}
		return out
	}
	if !splitWellFormed(args) {
		// A malformed multi-key command goes whole to one shard, whose store answers the arity error.
		if len(args) > 1 {
			return []int{r.ShardOfKey(args[1])}
		}
		return []int{0}
	}
	var out []int
	eachKey(args, func(k int) {
		if sh := r.ShardOfKey(args[k]); !slices.Contains(out, sh) {
			out = append(out, sh)
		}
	})
	if len(out) == 0 {
		return []int{0} // a command without keys (OBJECT HELP…): shard 0's store answers it
	}
	slices.Sort(out)
	return out
}

// splitWellFormed reports whether a splittable command has whole key (or key/value) groups; any other
// command counts as well formed here (the store checks it).
func splitWellFormed(args [][]byte) bool {
	step := protocol.LookupLower(splittable, args[0]) // 0: not splittable
	if step == 0 {
		return true
	}
	return len(args) >= 1+step && (len(args)-1)%step == 0
}

// CanSplit reports whether a command that touches several shards can run as per-shard parts.
func CanSplit(args [][]byte) bool {
	return protocol.LookupLower(splittable, args[0]) > 0 || IsKeyless(args[0])
}

// PartFor is Router.PartFor with ns shards and the default hasher.
func PartFor(args [][]byte, s, ns int) [][]byte { return DefaultRouter(ns).PartFor(args, s) }

// PartFor returns the part of args that shard s executes, or nil if s has nothing of it.
func (r Router) PartFor(args [][]byte, s int) [][]byte {
	ns := r.NS
	if IsSlotCommand(args) {
		if slotCommandShard(args, ns) == s {
			return args
		}
		return nil
	}
	if IsKeyless(args[0]) {
		return args
	}
	if !splitWellFormed(args) {
		if r.ShardsOf(args)[0] == s {
			return args
		}
		return nil
	}
	keys := Keys(args)
	if len(keys) == 0 {
		if s == 0 {
			return args
		}
		return nil
	}
	step, split := splittable[strings.ToLower(string(args[0]))]
	if !split {
		if r.ShardOfKey(args[keys[0]]) == s {
			return args
		}
		return nil
	}
	part := [][]byte{args[0]}
	for _, k := range keys {
		if r.ShardOfKey(args[k]) == s {
			part = append(part, args[k:k+step]...)
		}
	}
	if len(part) == 1 {
		return nil
	}
	return part
}

// MergeReply is Router.MergeReply with ns shards and the default hasher.
func MergeReply(dst []byte, args [][]byte, ns int, parts map[int][]byte) []byte {
	return DefaultRouter(ns).MergeReply(dst, args, parts)
}

// MergeReply appends the reply of command args to dst, given each touched shard's reply to its part.
func (rt Router) MergeReply(dst []byte, args [][]byte, parts map[int][]byte) []byte {
	ns := rt.NS
	name := strings.ToLower(string(args[0]))
	if len(parts) == 1 {
		for _, r := range parts {
			return append(dst, r...)
		}
	}
	// An error from any shard is the command's reply (the first by shard order).
	for s := 0; s < ns; s++ {
		if r, ok := parts[s]; ok && len(r) > 0 && r[0] == '-' {
			return append(dst, r...)
		}
	}
	switch name {
	case "mset", "flushall", "flushdb":
		return redcon.AppendOK(dst)
	case "del", "unlink", "exists", "touch", "dbsize":
		var sum int64
		for _, r := range parts {
			v, _ := parseReply(r)
			sum += v.Int
		}
		return redcon.AppendInt(dst, sum)
	case "mget":
		arrays := map[int][]protocol.Value{}
		for s, r := range parts {
			v, _ := parseReply(r)
			arrays[s] = v.Array
		}
		keys := Keys(args)
		dst = redcon.AppendArray(dst, len(keys))
		next := map[int]int{}
		for _, k := range keys {
			s := rt.ShardOfKey(args[k])
			var v protocol.Value
			if i := next[s]; i < len(arrays[s]) {
				v = arrays[s][i]
			}
			next[s]++
			dst = protocol.AppendValue(dst, v)
		}
		return dst
	case "keys":
		return appendConcat(dst, parts, ns, func(v protocol.Value) []protocol.Value { return v.Array })
	case "scan":
		// Each shard scanned everything (the part asks for it, see ScanPart): one answer, cursor 0.
		dst = redcon.AppendArray(dst, 2)
		dst = redcon.AppendBulkString(dst, "0")
		return appendConcat(dst, parts, ns, func(v protocol.Value) []protocol.Value {
			if len(v.Array) == 2 {
				return v.Array[1].Array
			}
			return nil
		})
	case "randomkey":
		for s := 0; s < ns; s++ {
			if r, ok := parts[s]; ok && !strings.HasPrefix(string(r), "$-1") {
				return append(dst, r...)
			}
		}
		return redcon.AppendNull(dst)
	}
	// Not reachable for commands that cannot be split (they touch one shard).
	for s := 0; s < ns; s++ {
		if r, ok := parts[s]; ok {
			return append(dst, r...)
		}
	}
	return redcon.AppendNull(dst)
}

// appendConcat appends one array of the elements pick takes from each shard's reply, in shard order.
func appendConcat(dst []byte, parts map[int][]byte, ns int, pick func(protocol.Value) []protocol.Value) []byte {
	var all []protocol.Value
	for s := 0; s < ns; s++ {
		if r, ok := parts[s]; ok {
			v, _ := parseReply(r)
			all = append(all, pick(v)...)
		}
	}
	dst = redcon.AppendArray(dst, len(all))
	for _, v := range all {
		dst = protocol.AppendValue(dst, v)
	}
	return dst
}

// parseReply parses one RESP reply (a shard's own output; a malformed one reads as a zero Value).
func parseReply(b []byte) (protocol.Value, error) {
	return protocol.ReadReply(bufio.NewReader(bytes.NewReader(b)))
}

// scanAllCount is the COUNT a cluster SCAN asks each shard for: the whole shard in one answer.
const scanAllCount = 1 << 40

// ScanPart rewrites SCAN's arguments for a shard: cursor 0 and a COUNT that covers the whole shard
// (MATCH and TYPE are kept). A cluster SCAN answers everything in one reply with cursor 0, which SCAN's
// contract allows (COUNT is a hint).
func ScanPart(args [][]byte) [][]byte {
	out := [][]byte{args[0], []byte("0")}
	for i := 2; i+1 < len(args); i += 2 {
		if strings.EqualFold(string(args[i]), "count") {
			continue
		}
		out = append(out, args[i], args[i+1])
	}
	return append(out, []byte("count"), strconv.AppendInt(nil, scanAllCount, 10))
}

// Collected is the members' answers to a replicated op, sorted by CollectParts.
type Collected struct {
	// Parts holds, per command, each shard's reply (the first answer of each shard counts): the input
	// of MergeReply.
	Parts []map[int][]byte
	// Gen is the hash generation the op was applied under (GenKnown: some replica answered); merge
	// the parts with that generation's router (Cluster.RouterAt), not with the one the op was routed by.
	Gen      uint64
	GenKnown bool
}

// Slice returns the answers of commands [from, to).
func (c Collected) Slice(from, to int) Collected {
	c.Parts = c.Parts[from:to]
	return c
}

// CollectParts sorts the members' answers to a replicated op of ncmds commands into per-command,
// per-shard replies.
func CollectParts(replies []vsync.QueryReply, ncmds int) Collected {
	parts := make([]map[int][]byte, ncmds)
	for i := range parts {
		parts[i] = map[int][]byte{}
	}
	var col Collected
	for _, r := range replies {
		sr, err := DecodeShardReply(r.Payload)
		if err != nil {
			continue
		}
		if !col.GenKnown {
			col.Gen, col.GenKnown = sr.Gen, true // one op is applied at one point of the order: one generation
		}
		for _, pt := range sr.Parts {
			if pt.Index < len(parts) {
				if _, seen := parts[pt.Index][sr.Shard]; !seen {
					parts[pt.Index][sr.Shard] = pt.Reply
				}
			}
		}
	}
	col.Parts = parts
	return col
}
