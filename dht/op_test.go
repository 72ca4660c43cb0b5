package dht

import (
	"reflect"
	"testing"
)

func TestOpRoundTrip(t *testing.T) {
	ops := []Op{
		{Kind: OpWrite, ID: 7, NowMs: 1700000000123, Cmds: [][][]byte{{[]byte("set"), []byte("k"), []byte("")}, {[]byte("mget"), []byte("a"), []byte("b")}}},
		{Kind: OpRead, ID: 1 << 60, NowMs: -5, Cmds: [][][]byte{{[]byte("get"), {0, 1, 2}}}},
		{Kind: OpCommit, IDs: []uint64{1, 2, 1 << 63}},
		{Kind: OpAnnounce, Addr: "127.0.0.1:7000"},
		{Kind: OpReady, Addr: "n1#5", Shard: 3},
		{Kind: OpChunk, ID: 9, Shard: 2, Seq: 4, Last: true, Cmds: [][][]byte{{[]byte("hset"), []byte("h"), []byte("f"), []byte("v")}}},
		{Kind: OpWrite, ID: 8, LocalAck: true, IDs: []uint64{3}, Cmds: [][][]byte{{[]byte("set"), []byte("k"), []byte("v")}}},
		{Kind: OpChunk, ID: 9, Last: true, LocalAck: true},
	}
	for _, op := range ops {
		got, err := DecodeOp(op.Encode(nil))
		if err != nil {
			t.Fatalf("%+v: %v", op, err)
		}
		if !reflect.DeepEqual(got, op) {
			t.Fatalf("round trip: %+v, want %+v", got, op)
		}
	}
	good := ops[0].Encode(nil)
	for i := 0; i < len(good); i++ {
		if _, err := DecodeOp(good[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
	if _, err := DecodeOp(append(good, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	r := ShardReply{Shard: 2, Parts: []Part{{Index: 0, Reply: []byte("+OK\r\n")}, {Index: 3, Reply: []byte(":1\r\n")}}, Gen: 5}
	got, err := DecodeShardReply(r.Encode(nil))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("reply round trip: %+v %v", got, err)
	}
}

func FuzzDecodeOp(f *testing.F) {
	f.Add((&Op{Kind: OpWrite, ID: 1, NowMs: 2, Cmds: [][][]byte{{[]byte("set"), []byte("k"), []byte("v")}}}).Encode(nil))
	f.Add((&Op{Kind: OpCommit, IDs: []uint64{1, 2}}).Encode(nil))
	f.Add((&Op{Kind: OpWrite, ID: 3, Cmds: [][][]byte{{[]byte("set"), []byte("k"), []byte("v")}},
		Guards: []Guard{{First: 0, Count: 1, Watches: []Watch{{Key: []byte("k"), Version: 2, View: 4, DeadlineMs: -1}}}}}).Encode(nil))
	f.Add((&ShardReply{Shard: 1, Parts: []Part{{1, []byte("x")}}}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if op, err := DecodeOp(b); err == nil {
			again, err := DecodeOp(op.Encode(nil))
			if err != nil || !reflect.DeepEqual(again, op) {
				t.Fatalf("re-encoding %+v: %+v %v", op, again, err)
			}
		}
		if r, err := DecodeShardReply(b); err == nil {
			if _, err := DecodeShardReply(r.Encode(nil)); err != nil {
				t.Fatalf("re-encoding reply: %v", err)
			}
		}
	})
}
