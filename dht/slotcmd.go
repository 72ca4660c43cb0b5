package dht

import (
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/redcon"

	"github.com/vsdb/vsdb/shard"
)

/*
CLUSTER COUNTKEYSINSLOT slot and CLUSTER GETKEYSINSLOT slot count name no key, but a slot: they run,
in the total order like any strict read, at the shard that owns the slot, and answer from its store at
the op's time. Only keys live at that time are counted or listed (Redis also counts expired keys it has
not reclaimed yet; replicas reclaim at different moments, and the answer must be the same at every
replica). GETKEYSINSLOT lists keys in byte order.
*/

// IsSlotCommand reports whether args is CLUSTER COUNTKEYSINSLOT or CLUSTER GETKEYSINSLOT.
func IsSlotCommand(args [][]byte) bool {
	if len(args) < 2 || !strings.EqualFold(string(args[0]), "cluster") {
		return false
	}
	sub := strings.ToLower(string(args[1]))
	return sub == "countkeysinslot" || sub == "getkeysinslot"
}

// ParseSlotCommand checks a slot command's arguments as Redis does and returns its slot and, for
// GETKEYSINSLOT, the key count; msg is Redis's error text when they are wrong.
func ParseSlotCommand(args [][]byte) (slot uint16, count int64, msg string) {
	getKeys := strings.EqualFold(string(args[1]), "getkeysinslot")
	if (getKeys && len(args) != 4) || (!getKeys && len(args) != 3) {
		return 0, 0, "ERR wrong number of arguments for 'cluster|" + strings.ToLower(string(args[1])) + "' command"
	}
	s, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return 0, 0, "ERR value is not an integer or out of range"
	}
	if !getKeys {
		if s < 0 || s >= shard.SlotCount {
			return 0, 0, "ERR Invalid slot"
		}
		return uint16(s), 0, ""
	}
	n, err := strconv.ParseInt(string(args[3]), 10, 64)
	if err != nil {
		return 0, 0, "ERR value is not an integer or out of range"
	}
	if s < 0 || s >= shard.SlotCount || n < 0 {
		return 0, 0, "ERR Invalid slot or number of keys"
	}
	return uint16(s), n, ""
}

// execSlotCommand answers a slot command from st at nowMs.
func execSlotCommand(st *shard.Store, dst []byte, args [][]byte, nowMs int64) []byte {
	slot, count, msg := ParseSlotCommand(args)
	if msg != "" {
		return redcon.AppendError(dst, msg)
	}
	if !strings.EqualFold(string(args[1]), "getkeysinslot") {
		return redcon.AppendInt(dst, int64(st.CountKeysInSlot(slot, nowMs)))
	}
	keys := st.KeysInSlot(slot, int(min(count, int64(math.MaxInt))), nowMs)
	dst = redcon.AppendArray(dst, len(keys))
	for _, k := range keys {
		dst = redcon.AppendBulk(dst, k)
	}
	return dst
}

// slotCommandShard is the shard a slot command runs at (shard 0 for bad arguments: it answers the
// error).
func slotCommandShard(args [][]byte, ns int) int {
	slot, _, msg := ParseSlotCommand(args)
	if msg != "" {
		return 0
	}
	return ShardOfSlot(slot, ns)
}
