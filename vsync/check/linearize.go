package check

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// KVOp is one completed operation of a single-key register history: a get or a put of Key by client
// ClientID, invoked at time Call and returned at time Return (any monotonic unit, e.g. simulator
// steps; [Call, Return] is a closed interval). For a get, Value and Found are what it returned
// (Found = false: the key did not exist, Value ignored); for a put, Value is the value written.
type KVOp struct {
	ClientID int
	Key      string
	Kind     string // "get" or "put"
	Value    string
	Found    bool
	Call     int64
	Return   int64
}

// kvState is the register's state: absent, or holding a value. It is comparable, so porcupine's
// default equality works.
type kvState struct {
	present bool
	value   string
}

// kvModel is a register per key; the history is partitioned by key, so the state is one register.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := make(map[string][]porcupine.Operation)
		var keys []string
		for _, op := range history {
			k := op.Input.(KVOp).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return kvState{} },
	Step: func(state, input, _ interface{}) (bool, interface{}) {
		st := state.(kvState)
		op := input.(KVOp)
		if op.Kind == "put" {
			return true, kvState{present: true, value: op.Value}
		}
		if !op.Found {
			return !st.present, st
		}
		return st.present && st.value == op.Value, st
	},
	DescribeOperation: func(input, _ interface{}) string { return describeKVOp(input.(KVOp)) },
	DescribeState: func(state interface{}) string {
		if st := state.(kvState); st.present {
			return fmt.Sprintf("%q", st.value)
		}
		return "(absent)"
	},
}

func describeKVOp(op KVOp) string {
	if op.Kind == "put" {
		return fmt.Sprintf("client %d put(%q, %q) [%d,%d]", op.ClientID, op.Key, op.Value, op.Call, op.Return)
	}
	res := "(absent)"
	if op.Found {
		res = fmt.Sprintf("%q", op.Value)
	}
	return fmt.Sprintf("client %d get(%q) -> %s [%d,%d]", op.ClientID, op.Key, res, op.Call, op.Return)
}

// CheckLinearizable reports whether ops, a history of gets and puts on independent single-key
// registers (each key starts absent), is linearizable, using porcupine partitioned by key. timeout
// bounds the search (0 = no bound). ok is true only for a proven-linearizable history; info explains
// the outcome: the keys and operations of a non-linearizable key, "unknown: …" if the search timed out
// (ok is then false, as nothing was proven), or the malformed operation if the input is invalid (a
// kind other than get/put, or Return < Call).
func CheckLinearizable(ops []KVOp, timeout time.Duration) (ok bool, info string) {
	hist := make([]porcupine.Operation, 0, len(ops))
	for i, op := range ops {
		if op.Kind != "get" && op.Kind != "put" {
			return false, fmt.Sprintf("invalid: op %d has kind %q (want get or put)", i, op.Kind)
		}
		if op.Return < op.Call {
			return false, fmt.Sprintf("invalid: op %d returns before its call: %s", i, describeKVOp(op))
		}
		hist = append(hist, porcupine.Operation{ClientId: op.ClientID, Input: op, Call: op.Call, Return: op.Return})
	}
	switch porcupine.CheckOperationsTimeout(kvModel, hist, timeout) {
	case porcupine.Ok:
		return true, fmt.Sprintf("linearizable: %d operations", len(ops))
	case porcupine.Unknown:
		return false, fmt.Sprintf("unknown: the search timed out after %v on %d operations", timeout, len(ops))
	}
	return false, "not linearizable: " + explainIllegal(hist, timeout)
}

// maxExplainedKeys bounds how many non-linearizable keys the info string describes.
const maxExplainedKeys = 3

// maxExplainedOps bounds how many operations the info string lists per key and per list: the tail of
// the longest linearizable prefix, and the head of the operations it could not place.
const maxExplainedOps = 6

// explainIllegal re-checks each key alone, verbosely, and describes the first few keys that have no
// linearization: the longest linearizable prefix porcupine found and the operations it could not place.
func explainIllegal(hist []porcupine.Operation, timeout time.Duration) string {
	single := kvModel
	single.Partition = nil
	var out []string
	for _, part := range kvModel.Partition(hist) {
		if len(out) == maxExplainedKeys {
			out = append(out, "…")
			break
		}
		res, li := porcupine.CheckOperationsVerbose(single, part, timeout)
		if res != porcupine.Illegal {
			continue
		}
		key := part[0].Input.(KVOp).Key
		var longest []porcupine.Operation
		for _, partials := range li.PartialLinearizationsOperations() {
			for _, pl := range partials {
				if len(pl) > len(longest) {
					longest = pl
				}
			}
		}
		placed := make(map[KVOp]bool, len(longest))
		var lin, rest []string
		for _, op := range longest {
			placed[op.Input.(KVOp)] = true
			lin = append(lin, describeKVOp(op.Input.(KVOp)))
		}
		for _, op := range part {
			if k := op.Input.(KVOp); !placed[k] {
				rest = append(rest, describeKVOp(k))
			}
		}
		if len(lin) > maxExplainedOps {
			lin = append([]string{fmt.Sprintf("(%d earlier)", len(lin)-maxExplainedOps)}, lin[len(lin)-maxExplainedOps:]...)
		}
		if len(rest) > maxExplainedOps {
			rest = append(rest[:maxExplainedOps], fmt.Sprintf("(+%d more)", len(rest)-maxExplainedOps))
		}
		out = append(out, fmt.Sprintf("key %q (%d ops): longest linearizable prefix [%s]; cannot place [%s]",
			key, len(part), strings.Join(lin, "; "), strings.Join(rest, "; ")))
	}
	if len(out) == 0 {
		return "no linearization found"
	}
	return strings.Join(out, " | ")
}
