package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vsdb/vsdb/aggregate"
	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/shard"
)

// model is the test's copy of the data: hashes (field → value) and strings.
type model struct {
	hashes  map[string]map[string]string
	strings map[string]string
}

// loadRandom writes random hashes and strings through c and records them.
func loadRandom(t *testing.T, c *redis.Client, rng *rand.Rand, n int) *model {
	t.Helper()
	m := &model{hashes: map[string]map[string]string{}, strings: map[string]string{}}
	ctx := context.Background()
	regions := []string{"eu", "us", "ap"}
	for i := 0; i < n; i++ {
		switch rng.Intn(3) {
		case 0, 1:
			k := fmt.Sprintf("acct:%d:%d", rng.Intn(5), i)
			bal := fmt.Sprint(rng.Intn(2000) - 500)
			if rng.Intn(15) == 0 {
				bal = "n/a" // not a number: skipped
			}
			f := map[string]string{"balance": bal, "region": regions[rng.Intn(3)]}
			if rng.Intn(10) == 0 {
				delete(f, "region")
			}
			args := []any{}
			for k, v := range f {
				args = append(args, k, v)
			}
			if err := c.HSet(ctx, k, args...).Err(); err != nil {
				t.Fatal(err)
			}
			m.hashes[k] = f
		default:
			k := fmt.Sprintf("n:%d", i)
			v := fmt.Sprintf("%.2f", rng.Float64()*100-20)
			if err := c.Set(ctx, k, v, 0).Err(); err != nil {
				t.Fatal(err)
			}
			m.strings[k] = v
		}
	}
	return m
}

// randomQuery builds a random valid query over the model's keys.
func randomQuery(rng *rand.Rand, m *model) *aggregate.Query {
	q := &aggregate.Query{}
	kinds := []aggregate.Kind{aggregate.Count, aggregate.Sum, aggregate.Min, aggregate.Max, aggregate.Avg, aggregate.TopK,
		aggregate.BottomK, aggregate.Distinct, aggregate.Quantile}
	for i := 0; i <= rng.Intn(3); i++ {
		s := aggregate.Spec{Kind: kinds[rng.Intn(len(kinds))]}
		if s.Kind == aggregate.TopK || s.Kind == aggregate.BottomK {
			s.K = 1 + rng.Intn(4)
		}
		if s.Kind == aggregate.Quantile {
			s.Q = float64(rng.Intn(101)) / 100
		}
		q.Aggregates = append(q.Aggregates, s)
	}
	if rng.Intn(3) > 0 {
		q.Value.Field = "balance"
	}
	switch rng.Intn(5) {
	case 0:
		q.Match = []string{"acct:*", "acct:1:*", "n:*", "*"}[rng.Intn(4)]
	case 1:
		lo := rng.Intn(16384)
		q.Slots = [][2]int{{lo, min(16383, lo+rng.Intn(8000))}}
	case 2:
		for k := range m.hashes {
			if rng.Intn(3) == 0 {
				q.Keys = append(q.Keys, k)
			}
		}
		q.Keys = append(q.Keys, "missing:key")
	}
	switch rng.Intn(3) {
	case 0:
		q.GroupBy = &aggregate.GroupBy{Field: "region"}
	case 1:
		seg := 1
		q.GroupBy = &aggregate.GroupBy{Segment: &seg}
	}
	if rng.Intn(4) == 0 {
		lo := float64(rng.Intn(500) - 250)
		q.Where = &aggregate.Range{Min: &lo}
	}
	return q
}

// bruteForce evaluates q over the model, key by key.
func bruteForce(q *aggregate.Query, m *model) *aggregate.Groups {
	gs := aggregate.NewGroups(q.Aggregates)
	selected := func(k string) bool {
		switch {
		case len(q.Keys) > 0:
			for _, x := range q.Keys {
				if x == k {
					return true
				}
			}
			return false
		case q.Match != "":
			return shard.MatchGlob([]byte(q.Match), []byte(k), false)
		case len(q.Slots) > 0:
			s := int(shard.KeySlot([]byte(k)))
			return s >= q.Slots[0][0] && s <= q.Slots[0][1]
		}
		return true
	}
	add := func(k, raw, group string) {
		v, ok := aggregate.Number([]byte(raw))
		if !ok || !q.Where.Keep(v) {
			return
		}
		gs.Add(group, k, v, 0)
	}
	group := func(k string, f map[string]string) string {
		if q.GroupBy == nil {
			return ""
		}
		if q.GroupBy.Field != "" {
			return f[q.GroupBy.Field]
		}
		return aggregate.KeySegment(k, ":", *q.GroupBy.Segment)
	}
	for k, f := range m.hashes {
		if selected(k) && q.Value.Field != "" {
			if raw, ok := f[q.Value.Field]; ok {
				add(k, raw, group(k, f))
			}
		}
	}
	for k, v := range m.strings {
		if selected(k) && q.Value.Field == "" {
			add(k, v, group(k, nil))
		}
	}
	return gs
}

func answersEqual(q *aggregate.Query, got, want *aggregate.Groups) bool {
	a := query.JSON(q, &query.Result{Groups: got})
	b := query.JSON(q, &query.Result{Groups: want})
	ja, _ := json.Marshal(a.Groups)
	jb, _ := json.Marshal(b.Groups)
	if string(ja) == string(jb) {
		return true
	}
	// avg and sums of the same values in another order may differ in the last bits
	var x, y []query.GroupAnswer
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].Group != y[i].Group || len(x[i].Values) != len(y[i].Values) {
			return false
		}
		for j := range x[i].Values {
			fx, ok1 := x[i].Values[j].(float64)
			fy, ok2 := y[i].Values[j].(float64)
			if ok1 && ok2 {
				if d := fx - fy; d > 1e-6 || d < -1e-6 {
					return false
				}
				continue
			}
			if !reflect.DeepEqual(x[i].Values[j], y[i].Values[j]) {
				return false
			}
		}
	}
	return true
}

// TestQueryMatchesBruteForce: random queries over random data give the brute-force answer on a single
// node and on 3- and 6-node clusters (in cut and local mode, with no writes in flight). The 3-node
// cluster combines with fan-out 1 (a chain: every partial but the last travels point to point and two
// answers are deferred), the 6-node one with the default fan-out.
func TestQueryMatchesBruteForce(t *testing.T) {
	type setup struct {
		name   string
		nodes  int
		p      dht.Params
		fanout int
	}
	for _, su := range []setup{{"1 node", 0, dht.Params{}, 0}, {"3 nodes RF=1 fan-out 1", 3, dht.Params{RF: 1, ExpectedGroupSize: 3}, 1},
		{"6 nodes RF=2", 6, dht.Params{RF: 2, ExpectedGroupSize: 6}, 0}} {
		t.Run(su.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(su.nodes) + 1))
			var runners []*Node
			var c *redis.Client
			if su.nodes == 0 {
				n := openTestNode(t, nil)
				runners = []*Node{n}
				c = redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2})
				t.Cleanup(func() { c.Close() })
			} else {
				tc := startTestClusterWith(t, su.nodes, su.p, func(cc *ClusterConfig) { cc.QueryFanout = su.fanout })
				tc.waitLayout(su.nodes)
				for _, n := range tc.nodes {
					runners = append(runners, n)
				}
				c = tc.client(1)
			}
			m := loadRandom(t, c, rng, 400)
			ctx := context.Background()
			for i := 0; i < 60; i++ {
				q := randomQuery(rng, m)
				if rng.Intn(4) == 0 {
					q.Consistency = "local"
				}
				if err := q.Validate(); err != nil {
					t.Fatal(err)
				}
				res, err := runners[rng.Intn(len(runners))].RunQuery(ctx, q)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				if want := bruteForce(q, m); !answersEqual(q, res.Groups, want) {
					qj, _ := json.Marshal(q)
					a, _ := json.Marshal(query.JSON(q, res).Groups)
					b, _ := json.Marshal(query.JSON(q, &query.Result{Groups: want}).Groups)
					t.Fatalf("query %s\n got %s\nwant %s", qj, a, b)
				}
			}
		})
	}
}

// TestBankInvariant: clients move amounts between accounts on different shards with MULTI/EXEC while
// cut-mode queries sum all balances; every answer equals the constant total, including while a node
// is stopped and restarted (during the view change an answer may be an error, never a wrong sum). The
// same load in local mode shows drift, as the contrast.
func TestBankInvariant(t *testing.T) {
	tc := startTestCluster(t, 4, dht.Params{RF: 2, ExpectedGroupSize: 4})
	tc.waitLayout(4)
	ctx := context.Background()
	const accounts, start = 16, 1000
	c := tc.client(1)
	keys := make([]string, accounts)
	shards := map[int]bool{}
	for i := range keys {
		keys[i] = fmt.Sprintf("bank:%d", i)
		shards[dht.ShardOfKey([]byte(keys[i]), 2)] = true
		if err := c.Set(ctx, keys[i], start, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(shards) != 2 {
		t.Fatalf("accounts on %d shards, want 2", len(shards))
	}
	const total = accounts * start
	q := &aggregate.Query{Match: "bank:*", Aggregates: []aggregate.Spec{{Kind: aggregate.Sum}, {Kind: aggregate.Count}}}
	run := func(mode string, queries int, fault bool) (ok, wrong, failed int64) {
		q := *q
		q.Consistency = mode
		stop := make(chan struct{})
		var movers sync.WaitGroup
		for w := 0; w < 4; w++ {
			movers.Add(1)
			go func() {
				defer movers.Done()
				rng := rand.New(rand.NewSource(int64(w)))
				mc := tc.client(peer.NodeID(2 + w%2)) // nodes 2 and 3 (node 4 may be restarted)
				for {
					select {
					case <-stop:
						return
					default:
					}
					a, b := keys[rng.Intn(accounts)], keys[rng.Intn(accounts)]
					amt := int64(1 + rng.Intn(50))
					_, _ = mc.TxPipelined(ctx, func(p redis.Pipeliner) error {
						p.IncrBy(ctx, a, -amt)
						p.IncrBy(ctx, b, amt)
						return nil
					})
				}
			}()
		}
		var done atomic.Int64
		faultNow := make(chan struct{})
		var faultOnce sync.Once
		var qwg sync.WaitGroup
		for w := 0; w < 4; w++ {
			qwg.Add(1)
			go func() {
				defer qwg.Done()
				node := tc.nodes[1]
				if w%2 == 1 {
					node = tc.nodes[2]
				}
				for {
					n := done.Add(1)
					if n > int64(queries) {
						return
					}
					if n == int64(queries/3) {
						faultOnce.Do(func() { close(faultNow) })
					}
					res, err := node.RunQuery(ctx, &q)
					switch {
					case err != nil:
						if !errors.Is(err, query.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
							t.Errorf("query error: %v", err)
						}
						atomic.AddInt64(&failed, 1)
					case res.Groups.By[""][0].Sum == total && res.Groups.By[""][1].N == accounts:
						atomic.AddInt64(&ok, 1)
					default:
						atomic.AddInt64(&wrong, 1)
					}
				}
			}()
		}
		if fault {
			<-faultNow
			tc.stop(4)
			tc.start(4)
		}
		qwg.Wait()
		close(stop)
		movers.Wait()
		return ok, wrong, failed
	}
	ok, wrong, failed := run("cut", 10000, true)
	t.Logf("cut mode: %d results equal the total %d, %d wrong, %d unavailable (during the restart)", ok, total, wrong, failed)
	if wrong != 0 || ok < 9000 {
		t.Fatalf("cut mode: %d wrong answers, %d right", wrong, ok)
	}
	tc.waitLayout(4)
	lok, lwrong, lfailed := run("local", 2000, false)
	t.Logf("local mode (contrast): %d equal the total, %d drifted, %d unavailable", lok, lwrong, lfailed)
}
