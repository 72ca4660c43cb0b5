package server

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/shard/difftest"
)

// TestDifferentialServerAgainstRedis sends the same random command sequences (shard/difftest: every
// data command, with overflowing INCRs, bad EX values, WRONGTYPE, missing and binary keys…) through
// vsdb's RESP server and to a real redis-server, and fails on the first differing reply. Random runs of
// commands are wrapped in MULTI/EXEC, so the queueing, EXECABORT and EXEC paths are compared too.
// Replay one seed with VSDB_DIFF_SEED=<n> (and VSDB_DIFF_N=<count>).
func TestDifferentialServerAgainstRedis(t *testing.T) {
	redis := difftest.StartRedis(t)
	n := openTestNode(t, nil)
	runDifferential(t, redis.Addr, n.Addr().String())
}

// TestDifferentialClusterAgainstRedis runs the same comparison through node 2 of a 3-node cluster with
// RF=3 (one shard, three replicas): every write is a replicated ordered op, every read local or ordered.
func TestDifferentialClusterAgainstRedis(t *testing.T) {
	redis := difftest.StartRedis(t)
	tc := startTestCluster(t, 3, dht.Params{RF: 3, ExpectedGroupSize: 3})
	tc.waitLayout(3)
	runDifferential(t, redis.Addr, tc.nodes[2].Addr().String())
}

func runDifferential(t *testing.T, redisAddr, vsdbAddr string) {
	rc, err := net.Dial("tcp", redisAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	vc, err := net.Dial("tcp", vsdbAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	rr, vr := bufio.NewReader(rc), bufio.NewReader(vc)
	do := func(args [][]byte) (want, got []byte) {
		t.Helper()
		req := difftest.AppendCommand(nil, args)
		for _, side := range []struct {
			c   net.Conn
			r   *bufio.Reader
			out *[]byte
		}{{rc, rr, &want}, {vc, vr, &got}} {
			_ = side.c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := side.c.Write(req); err != nil {
				t.Fatal(err)
			}
			reply, err := difftest.ReadReply(side.r)
			if err != nil {
				t.Fatalf("reply to %q: %v", args, err)
			}
			*side.out = reply
		}
		return want, got
	}
	cmd := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, a := range s {
			out[i] = []byte(a)
		}
		return out
	}

	count := difftest.Count(t)
	total := 0
	for _, seed := range difftest.Seeds(t) {
		fail := func(i int, args [][]byte, want, got []byte) {
			t.Helper()
			t.Fatalf("seed %d (replay: VSDB_DIFF_SEED=%d VSDB_DIFF_N=%d), command #%d %q differs:\nredis: %q\nvsdb:  %q",
				seed, seed, count, i, args, want, got)
		}
		if want, got := do(cmd("FLUSHALL")); string(want) != string(got) {
			fail(-1, cmd("FLUSHALL"), want, got)
		}
		rng := rand.New(rand.NewSource(seed))
		cmds := difftest.Generate(rng, count)
		for i := 0; i < len(cmds); {
			if rng.Intn(20) != 0 { // most commands run on their own
				if want, got := do(cmds[i]); !difftest.Equivalent(cmds[i], want, got) {
					fail(i, cmds[i], want, got)
				}
				i++
				total++
				continue
			}
			// A transaction of 1 to 6 commands.
			k := min(1+rng.Intn(6), len(cmds)-i)
			block := cmds[i : i+k]
			if want, got := do(cmd("MULTI")); string(want) != string(got) {
				fail(i, cmd("MULTI"), want, got)
			}
			for j, args := range block {
				if want, got := do(args); string(want) != string(got) { // QUEUED or a queue-time error
					fail(i+j, args, want, got)
				}
			}
			want, got := do(cmd("EXEC"))
			if !execEquivalent(block, want, got) {
				fail(i, append(cmd("EXEC"), bytes.Join(flatten(block), []byte(" "))), want, got)
			}
			i += k
			total += k + 2
		}
	}
	t.Logf("%d commands (with MULTI/EXEC) gave the same replies from vsdb and redis-server", total)
}

// execEquivalent compares two EXEC replies element by element, each normalized for its own command.
func execEquivalent(block [][][]byte, want, got []byte) bool {
	wv, err1 := protocol.ReadReply(bufio.NewReader(bytes.NewReader(want)))
	gv, err2 := protocol.ReadReply(bufio.NewReader(bytes.NewReader(got)))
	if err1 != nil || err2 != nil || wv.Kind != gv.Kind {
		return false
	}
	if wv.Kind != protocol.Array {
		return string(want) == string(got) // EXECABORT, a null array
	}
	if len(wv.Array) != len(gv.Array) || len(wv.Array) != len(block) {
		return false
	}
	for i := range block {
		if !difftest.Equivalent(block[i], protocol.AppendValue(nil, wv.Array[i]), protocol.AppendValue(nil, gv.Array[i])) {
			return false
		}
	}
	return true
}

func flatten(block [][][]byte) [][]byte {
	var out [][]byte
	for _, args := range block {
		out = append(out, []byte(fmt.Sprintf("%q", args)))
	}
	return out
}
