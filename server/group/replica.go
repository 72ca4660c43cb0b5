package group

import (
	"fmt"
	"math/rand"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/membership"
)

// replicaIn is one batch for the replica: member requests or raft messages.
type replicaIn struct {
	msgs []vsync.Message
	raft []*raftpb.Message
}

// replicaDriver runs the node's membership replica on one goroutine: it ticks, steps what arrives,
// and after each of those sends what the replica's Ready holds (raft messages to the other replicas,
// group records to members). Its raft storage is Config.RaftStorage: in memory by default (a restarted
// process then starts its replica empty; see step), durable with wal.RaftLog.
type replicaDriver struct {
	n       *Node
	rep     *membership.Replica
	storage membership.RaftStorage
	inbox   chan replicaIn
	clamped uint64 // heartbeats whose commit index was clamped (see step)
	out     *outbox
}

func newReplicaDriver(n *Node, raftID uint64) (*replicaDriver, error) {
	seed := int64(n.cfg.Incarnation) ^ int64(n.cfg.Self)<<32
	var st membership.RaftStorage = raft.NewMemoryStorage()
	if n.cfg.RaftStorage != nil {
		st = n.cfg.RaftStorage
	}
	// The replica removes a suspected member only after that member's lease ran out: members and the
	// replica tick at the same rate (Config.Tick).
	mc := vsync.Config{}
	if n.cfg.Member != nil {
		n.cfg.Member(&mc)
	}
	rep, err := membership.NewReplica(membership.Config{ID: raftID, Addrs: n.oracle,
		Storage: st, Rand: rand.New(rand.NewSource(seed)), ElectionTicks: n.cfg.ElectionTicks,
		HeartbeatTicks:   raftHeartbeatTicks(n.cfg.ElectionTicks),
		MemberLeaseTicks: mc.WithDefaults().OracleLeaseTicks})
	if err != nil {
		return nil, fmt.Errorf("group: membership replica: %w", err)
	}
	return &replicaDriver{n: n, rep: rep, storage: st, inbox: make(chan replicaIn, n.cfg.InboxBatches), out: newOutbox()}, nil
}

// raftHeartbeatTicks is the replicas' raft heartbeat interval: a tenth of the election timeout (3 ticks,
// 30 ms, by default), at least 1. Heartbeats every tick cost each idle oracle node two writes and two
// reads per 10 ms for nothing: a follower campaigns only after ElectionTicks of silence.
func raftHeartbeatTicks(electionTicks int) int { return max(1, electionTicks/10) }

// replicaDrainMax bounds the inbox batches stepped before one Ready.
const replicaDrainMax = 64

func (r *replicaDriver) run() {
	defer r.n.wg.Done()
	t := time.NewTicker(r.n.cfg.Tick)
	defer t.Stop()
	r.ready()
	for {
		select {
		case <-r.n.stop:
			return
		case <-t.C:
			r.rep.Tick()
		case in := <-r.inbox:
			r.step(in)
		drain:
			for i := 0; i < replicaDrainMax; i++ {
				select {
				case in := <-r.inbox:
					r.step(in)
				default:
					break drain
				}
			}
		}
		r.ready()
	}
}

/*
step feeds a batch to the replica.

Restarted replicas with an in-memory raft storage (no data directory): a process that restarts comes
back with an empty log, while the leader still remembers the log it had matched there,
and its heartbeats carry commit = min(that match, committed). raft panics on a heartbeat commit beyond
the follower's last index (it is how raft detects a lost log). The driver clamps that commit to the
local last index instead: the heartbeat response then makes the leader probe, the follower's rejection
moves the leader back, and the log is re-sent (or a snapshot). What stays unsafe without durable raft storage
(wal.RaftLog) is that a restarted replica forgot its term and vote, so it could vote twice in one term; a
lost log does not make it win elections (raft's up-to-date check).
*/
func (r *replicaDriver) step(in replicaIn) {
	for _, m := range in.raft {
		if m.GetType() == raftpb.MessageType_MsgHeartbeat {
			if last, err := r.storage.LastIndex(); err == nil && m.GetCommit() > last {
				m.Commit = &last
				r.clamped++
			}
		}
		r.rep.StepRaft(m)
	}
	for _, m := range in.msgs {
		r.rep.Step(m)
	}
}

func (r *replicaDriver) ready() {
	rd := r.rep.Ready()
	if len(rd.Raft) > 0 {
		r.n.sendRaft(rd.Raft)
	}
	if len(rd.Members) > 0 {
		r.n.sendMessages(r.out, rd.Members)
	}
}
