package check

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

func TestCheckLinearizable(t *testing.T) {
	put := func(c int, k, v string, call, ret int64) KVOp {
		return KVOp{ClientID: c, Key: k, Kind: "put", Value: v, Call: call, Return: ret}
	}
	get := func(c int, k, v string, found bool, call, ret int64) KVOp {
		return KVOp{ClientID: c, Key: k, Kind: "get", Value: v, Found: found, Call: call, Return: ret}
	}
	cases := []struct {
		name string
		ops  []KVOp
		ok   bool
		info string
	}{
		{"empty", nil, true, "linearizable"},
		{"read your write", []KVOp{put(0, "x", "1", 0, 10), get(1, "x", "1", true, 20, 30)}, true, ""},
		{"absent before the put", []KVOp{get(1, "x", "", false, 0, 5), put(0, "x", "1", 10, 20)}, true, ""},
		{"concurrent read may see either", []KVOp{
			put(0, "x", "1", 0, 10), put(0, "x", "2", 20, 40), get(1, "x", "1", true, 25, 30), get(2, "x", "2", true, 26, 35),
		}, true, ""},
		{"stale read", []KVOp{
			put(0, "x", "1", 0, 10), put(0, "x", "2", 20, 30), get(1, "x", "1", true, 40, 50),
		}, false, `key "x"`},
		{"read of a value never written", []KVOp{put(0, "x", "1", 0, 10), get(1, "x", "9", true, 20, 30)}, false, "cannot place"},
		{"absent after a completed put", []KVOp{put(0, "x", "1", 0, 10), get(1, "x", "", false, 20, 30)}, false, "not linearizable"},
		{"new-then-old reads (no time travel)", []KVOp{
			put(0, "x", "1", 0, 10), put(0, "x", "2", 20, 100), get(1, "x", "2", true, 30, 40), get(2, "x", "1", true, 50, 60),
		}, false, "not linearizable"},
		{"keys are independent; only y is stale", []KVOp{
			put(0, "x", "1", 0, 10), get(1, "x", "1", true, 20, 30),
			put(0, "y", "a", 0, 10), put(0, "y", "b", 20, 30), get(1, "y", "a", true, 40, 50),
		}, false, `key "y"`},
		{"bad kind", []KVOp{{Kind: "del"}}, false, "invalid"},
		{"returns before call", []KVOp{put(0, "x", "1", 10, 5)}, false, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, info := CheckLinearizable(tc.ops, 0)
			if ok != tc.ok || !strings.Contains(info, tc.info) {
				t.Fatalf("got ok=%v info=%q, want ok=%v info containing %q", ok, info, tc.ok, tc.info)
			}
			if !ok && strings.Contains(info, `key "x"`) && strings.Contains(tc.name, "only y") {
				t.Fatalf("the linearizable key x is blamed: %s", info)
			}
			t.Log(info)
		})
	}
}

// registerHistory generates a linearizable history: operations take effect, one at a time, on a
// sequential register per key at distinct linearization points, and each operation's [Call, Return]
// interval is stretched randomly around its point, so operations overlap.
func registerHistory(rng *rand.Rand, n int) []KVOp {
	state := map[string]string{}
	var ops []KVOp
	for i := 0; i < n; i++ {
		point := int64(i * 10)
		key := fmt.Sprintf("k%d", rng.Intn(3))
		op := KVOp{ClientID: rng.Intn(5), Key: key, Call: point - int64(rng.Intn(25)), Return: point + int64(rng.Intn(25))}
		if rng.Intn(2) == 0 {
			op.Kind, op.Value = "put", fmt.Sprintf("v%d", i)
			state[key] = op.Value
		} else {
			op.Kind = "get"
			op.Value, op.Found = state[key]
		}
		ops = append(ops, op)
	}
	return ops
}

func TestCheckLinearizableRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	caught := 0
	for round := 0; round < 50; round++ {
		ops := registerHistory(rng, 60)
		if ok, info := CheckLinearizable(ops, 0); !ok {
			t.Fatalf("round %d: linearizable history rejected: %s", round, info)
		}
		// Make one read stale: it returns a value that was overwritten well before the read began.
		for i := len(ops) - 1; i >= 0; i-- {
			r := ops[i]
			if r.Kind != "get" {
				continue
			}
			stale := ""
			for j := 0; j < i; j++ {
				w := ops[j]
				if w.Kind == "put" && w.Key == r.Key && w.Return < r.Call && w.Value != r.Value {
					// w must be overwritten by a later put that also completed before r began.
					for k := j + 1; k < i; k++ {
						if o := ops[k]; o.Kind == "put" && o.Key == r.Key && o.Call > w.Return && o.Return < r.Call {
							stale = w.Value
							break
						}
					}
				}
			}
			if stale == "" {
				continue
			}
			mut := append([]KVOp(nil), ops...)
			mut[i].Value, mut[i].Found = stale, true
			if ok, info := CheckLinearizable(mut, 0); ok {
				t.Fatalf("round %d: stale read of %q by op %d not caught (%s)", round, stale, i, info)
			}
			caught++
			break
		}
	}
	if caught < 20 {
		t.Fatalf("only %d stale reads generated", caught)
	}
}
