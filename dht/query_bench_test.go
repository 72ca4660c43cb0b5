package dht

import (
	"strconv"
	"testing"

	"github.com/vsdb/vsdb/aggregate"
	"github.com/vsdb/vsdb/shard"
)

// BenchmarkEvalShard: sum and count of a hash field grouped by a 100-value hash field, over 100,000
// hashes (a store that fits the caches better) and 333,334 hashes (one node's third of the 1M-key query
// benchmark, docs/benchmarks.md §5).
func BenchmarkEvalShard(b *testing.B) {
	for _, n := range []int{100000, 333334} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st := shard.NewStore(shard.Config{})
			for i := 0; i < n; i++ {
				st.Exec(nil, [][]byte{[]byte("hset"), []byte("acct:" + strconv.Itoa(i)), []byte("balance"), []byte(strconv.Itoa(i % 1000)),
					[]byte("region"), []byte("r" + strconv.Itoa(i%100))}, 1)
			}
			q := &aggregate.Query{Match: "acct:*", Value: aggregate.Value{Field: "balance"}, GroupBy: &aggregate.GroupBy{Field: "region"},
				Aggregates: []aggregate.Spec{{Kind: aggregate.Sum}, {Kind: aggregate.Count}}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				gs, _ := EvalShard(st, q, 0, DefaultRouter(1), 2)
				if len(gs.By) != 100 {
					b.Fatal(len(gs.By))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}
