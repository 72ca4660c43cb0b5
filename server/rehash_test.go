package server

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/server/peer"
)

// testHashers: generation 1 hashes the whole key with FNV-1a (no hash tags); generation 2 reverses
// its slot, so most keys change shard at each change.
func testHashers(gen uint64) dht.Hasher {
	fnvSlot := func(key []byte) uint16 {
		h := fnv.New32a()
		h.Write(key)
		return uint16(h.Sum32() % 16384)
	}
	switch gen {
	case 1:
		return dht.HasherFunc(fnvSlot)
	case 2:
		return dht.HasherFunc(func(key []byte) uint16 { return 16383 - fnvSlot(key) })
	}
	return nil
}

// TestClusterHashGenerationMigratesKeys: 4 embedded nodes, 2 shards of 2. Keys written under Redis
// Cluster's hashing move at ChangeHashGeneration while a client keeps incrementing a counter and
// reading a key through another node (its commands are retried during the migration, none fails or
// is lost); afterwards every key is found with its value and TTL through every node, each replica
// holds exactly the keys the new hasher puts in its shard, the replicas of a shard agree, and a joiner
// loads its shard from a donor under the new generation.
func TestClusterHashGenerationMigratesKeys(t *testing.T) {
	tc := startTestClusterWith(t, 4, dht.Params{RF: 2, ExpectedGroupSize: 4}, func(c *ClusterConfig) { c.Hashers = testHashers })
	tc.waitLayout(4)
	ctx := context.Background()
	c1 := tc.client(1)
	const nKeys = 300
	for i := 0; i < nKeys; i++ {
		if err := c1.Set(ctx, fmt.Sprintf("s:%d", i), fmt.Sprintf("v%d", i), time.Duration(i%2)*time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c1.HSet(ctx, fmt.Sprintf("h:%d", i), "f", i).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c1.Set(ctx, "fixed", "value", 0).Err(); err != nil {
		t.Fatal(err)
	}

	// A client at node 3 increments and reads while the keys move.
	stop := make(chan struct{})
	var incrs atomic.Int64
	var wg sync.WaitGroup
	var clientErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		c3 := tc.client(3)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := c3.Incr(ctx, "ctr").Err(); err != nil {
				clientErr = fmt.Errorf("INCR during the migration: %w", err)
				return
			}
			incrs.Add(1)
			if v, err := c3.Get(ctx, "fixed").Result(); err != nil || v != "value" {
				clientErr = fmt.Errorf("GET during the migration = %q, %v", v, err)
				return
			}
		}
	}()
	eventually(t, func() bool { return incrs.Load() >= 20 }, func() { t.Fatalf("the client made no progress: %v", clientErr) })
	if err := tc.nodes[1].ChangeHashGeneration(ctx, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return incrs.Load() >= 40 }, func() { t.Fatalf("the client made no progress after: %v", clientErr) })
	close(stop)
	wg.Wait()
	if clientErr != nil {
		t.Fatal(clientErr)
	}

	for id, nd := range tc.nodes {
		if gen, migrating, ok := nd.HashGeneration(); !ok || gen != 1 {
			t.Fatalf("node %d: generation %d (migrating %v), want 1", id, gen, migrating)
		}
	}
	eventually(t, func() bool {
		for _, nd := range tc.nodes {
			if _, migrating, _ := nd.HashGeneration(); migrating {
				return false
			}
		}
		return true
	}, func() { t.Fatal("the migration did not end at every node") })
	checkKeys := func(c *redis.Client, who string) {
		t.Helper()
		for i := 0; i < nKeys; i++ {
			k := fmt.Sprintf("s:%d", i)
			if v, err := c.Get(ctx, k).Result(); err != nil || v != fmt.Sprintf("v%d", i) {
				t.Fatalf("%s: GET %s = %q, %v", who, k, v, err)
			}
			ttl, err := c.PTTL(ctx, k).Result()
			if err != nil || (i%2 == 1) != (ttl > 0) {
				t.Fatalf("%s: PTTL %s = %v, %v", who, k, ttl, err)
			}
			if v, err := c.HGet(ctx, fmt.Sprintf("h:%d", i), "f").Int(); err != nil || v != i {
				t.Fatalf("%s: HGET h:%d = %d, %v", who, i, v, err)
			}
		}
		if v, err := c.Get(ctx, "ctr").Int64(); err != nil || v != incrs.Load() {
			t.Fatalf("%s: ctr = %d, %v; %d INCRs were acknowledged", who, v, err, incrs.Load())
		}
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 2*nKeys+2 {
			t.Fatalf("%s: DBSIZE = %d, %v, want %d", who, n, err, 2*nKeys+2)
		}
	}
	for id := range tc.nodes {
		checkKeys(tc.client(id), fmt.Sprintf("node %d", id))
	}

	// Each replica holds exactly its shard's keys under generation 1, and the replicas agree.
	route := dht.NewRouter(2, 1, testHashers(1))
	want := map[int]int{}
	for i := 0; i < nKeys; i++ {
		want[route.ShardOfKey([]byte(fmt.Sprintf("s:%d", i)))]++
		want[route.ShardOfKey([]byte(fmt.Sprintf("h:%d", i)))]++
	}
	want[route.ShardOfKey([]byte("fixed"))]++
	want[route.ShardOfKey([]byte("ctr"))]++
	if want[0] == 0 || want[1] == 0 {
		t.Fatalf("the hasher puts every key in one shard: %v", want)
	}
	now := time.Now().UnixMilli()
	digests := map[int]uint64{}
	for id, nd := range tc.nodes {
		c := nd.cluster.cur().c
		d, s := c.Digest(now)
		if got := c.Stats().Keys; got != want[s] {
			t.Fatalf("node %d (shard %d) holds %d keys, want %d", id, s, got, want[s])
		}
		if prev, ok := digests[s]; ok && prev != d {
			t.Fatalf("replicas of shard %d disagree: %x and %x", s, prev, d)
		}
		digests[s] = d
	}

	// Refusals: the same generation again, a generation no node knows; slot commands.
	if err := tc.nodes[2].ChangeHashGeneration(ctx, 1); !errors.Is(err, ErrHashGeneration) || !strings.Contains(err.Error(), "not above") {
		t.Fatalf("generation 1 again: %v", err)
	}
	if err := tc.nodes[2].ChangeHashGeneration(ctx, 9); !errors.Is(err, ErrHashGeneration) {
		t.Fatalf("unknown generation: %v", err)
	}
	if err := c1.ClusterCountKeysInSlot(ctx, 5).Err(); err == nil || !strings.Contains(err.Error(), "custom hasher") {
		t.Fatalf("CLUSTER COUNTKEYSINSLOT under a custom hasher: %v", err)
	}

	// A fifth node joins as a spare replica of shard 0 and loads it under generation 1.
	tc.start(peer.NodeID(5))
	tc.waitLayout(5)
	c5 := tc.nodes[5].cluster.cur().c
	if d, s := c5.Digest(now); s != 0 || d != digests[0] || c5.Stats().Keys != want[0] {
		t.Fatalf("joiner: shard %d digest %x keys %d, want shard 0 %x %d", s, d, c5.Stats().Keys, digests[0], want[0])
	}
	checkKeys(tc.client(5), "joiner")

	// Generation 2, with no client running.
	if err := tc.nodes[5].ChangeHashGeneration(ctx, 2); err != nil {
		t.Fatal(err)
	}
	checkKeys(tc.client(4), "node 4 after generation 2")
}
