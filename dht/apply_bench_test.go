package dht

import (
	"fmt"
	"testing"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// BenchmarkApplyWrite is one replica applying delivered write ops (a batch of 16 SETs each, as group
// commit makes them): decode, guards and write stamps, the store, the reply, the pending keys.
func BenchmarkApplyWrite(b *testing.B) {
	c, err := NewCluster("a", Params{RF: 1, ExpectedGroupSize: 1}, shard.Config{})
	if err != nil {
		b.Fatal(err)
	}
	c.OnView(vsync.View{ID: 1, Members: []string{"a"}})
	cmds := make([][][]byte, 16)
	for i := range cmds {
		cmds[i] = [][]byte{[]byte("SET"), []byte(fmt.Sprintf("key:%d", i)), []byte("value")}
	}
	payloads := make([][]byte, 1024)
	for i := range payloads {
		op := Op{Kind: OpWrite, ID: uint64(i + 1), NowMs: 1, Cmds: cmds}
		payloads[i] = op.Encode(nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := uint64(i%len(payloads) + 1)
		if c.Apply("a", payloads[i%len(payloads)], true) == nil {
			b.Fatal("no answer")
		}
		c.Commit("a", id)
	}
}
