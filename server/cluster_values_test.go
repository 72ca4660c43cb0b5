package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/shard"
)

// TestClusterPersistenceMethods: each node's replica keeps long values in its own ValueStore (the
// manual's SetDHTPersistenceMethods), every replica holds a handle per long value and serves the values;
// a restarted node's state transfer reads them through the donor's reader and writes them into the
// joiner's own store.
func TestClusterPersistenceMethods(t *testing.T) {
	const minBytes, keys = 64, 40
	values := map[peer.NodeID]*shard.MemoryValues{}
	tc := startTestClusterWith(t, 3, dht.Params{RF: 3, ExpectedGroupSize: 3}, func(c *ClusterConfig) {
		values[c.Self] = shard.NewMemoryValues() // a restarted node starts with an empty one
		c.Values, c.ValuesMinBytes = values[c.Self], minBytes
	})
	tc.waitLayout(3)
	ctx := context.Background()
	long := func(i int) string { return fmt.Sprint(i, strings.Repeat("v", minBytes)) }
	for i := range keys {
		if err := tc.client(peer.NodeID(1+i%3)).Set(ctx, fmt.Sprint("big", i), long(i), 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := tc.client(1).Set(ctx, fmt.Sprint("small", i), "s", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Every replica applied every write (acknowledged writes are applied everywhere).
	for id, mv := range values {
		if st := mv.Stats(); st.Live != keys {
			t.Fatalf("node %d's value store holds %d values, want %d (the long ones only)", id, st.Live, keys)
		}
	}
	for i := range keys {
		if v, err := tc.client(peer.NodeID(1+(i+1)%3)).Get(ctx, fmt.Sprint("big", i)).Result(); err != nil || v != long(i) {
			t.Fatalf("GET big%d = %q, %v", i, v, err)
		}
	}
	readsBefore := values[1].Stats().Reads + values[2].Stats().Reads
	tc.stop(3)
	tc.start(3)
	tc.waitLayout(3)
	if got := values[1].Stats().Reads + values[2].Stats().Reads - readsBefore; got < keys {
		t.Fatalf("the donors read %d values through their reader for the transfer, want >= %d", got, keys)
	}
	eventually(t, func() bool { return values[3].Stats().Live == keys }, func() {
		t.Fatalf("the restarted node's value store holds %d values, want %d", values[3].Stats().Live, keys)
	})
	c3 := tc.client(3)
	for i := range keys {
		if v, err := c3.Get(ctx, fmt.Sprint("big", i)).Result(); err != nil || v != long(i) {
			t.Fatalf("GET big%d at the restarted node = %q, %v", i, v, err)
		}
	}
	// Overwrites and deletes release the old values everywhere.
	if err := tc.client(2).Del(ctx, "big0", "big1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := tc.client(2).Set(ctx, "big2", "short now", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for id, mv := range values {
		eventually(t, func() bool { return mv.Stats().Live == keys-3 }, func() {
			t.Fatalf("node %d's value store holds %d values after DEL and an overwrite, want %d", id, mv.Stats().Live, keys-3)
		})
	}
}
