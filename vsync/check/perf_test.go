package check

import (
	"testing"
)

// largeHistory concatenates naive-model runs in distinct groups until it has at least n events, so
// the checkers see many groups, views and members at once.
func largeHistory(n int) []Event {
	var h []Event
	var base int64
	for seed := int64(1); len(h) < n; seed++ {
		g := newNaiveGroup(seed, 3+int(seed%5))
		part := g.run(2000)
		name := "g" + string(rune('a'+seed%26)) + string(rune('a'+seed/26%26))
		rename := func(m string) string {
			if m == "" {
				return ""
			}
			return name + "." + m // each run has its own processes
		}
		for _, e := range part {
			e.Step += base
			if e.Group != "" {
				e.Group = name
			}
			e.Member, e.Sender = rename(e.Member), rename(e.Sender)
			ms := make([]string, len(e.Members))
			for i, m := range e.Members {
				ms[i] = rename(m)
			}
			e.Members = ms
			h = append(h, e)
		}
		base = h[len(h)-1].Step + 1
	}
	return h
}

// TestLargeHistory runs every checker on a correct history of 100,000+ events. It asserts
// correctness only (no timing); BenchmarkCheckAll measures the speed.
func TestLargeHistory(t *testing.T) {
	h := largeHistory(100_000)
	if vs := CheckAll(h); len(vs) != 0 {
		t.Fatalf("correct %d-event history reported: %v", len(h), vs[:min(len(vs), 5)])
	}
}

func BenchmarkCheckAll(b *testing.B) {
	h := largeHistory(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if vs := CheckAll(h); len(vs) != 0 {
			b.Fatal(vs[0])
		}
	}
	b.ReportMetric(float64(len(h)), "events")
}
