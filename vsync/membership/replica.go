package membership

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/vsdb/vsdb/vsync"
)

// Errors.
var (
	ErrConfig = errors.New("membership: invalid config")
	ErrRaft   = errors.New("membership: raft")
)

// RaftStorage is the raft log and state the replica persists through (raft.MemoryStorage satisfies it;
// a Badger implementation lives in wal/).
type RaftStorage interface {
	raft.Storage
	Append(entries []*raftpb.Entry) error
	SetHardState(st *raftpb.HardState) error
	ApplySnapshot(snap *raftpb.Snapshot) error
	CreateSnapshot(i uint64, cs *raftpb.ConfState, data []byte) (*raftpb.Snapshot, error)
	Compact(compactIndex uint64) error
}

// Config configures one replica. Times are in ticks.
type Config struct {
	// ID is this replica's raft id, 1 … len(Addrs). Required.
	ID uint64
	// Addrs are the addresses of all replicas, Addrs[i] for raft id i+1 (1 to 5). Required.
	Addrs []string
	// Storage is the raft storage; nil means a fresh raft.MemoryStorage. A storage with a hard state is
	// a restart: the map is rebuilt from its snapshot and log.
	Storage RaftStorage
	// Rand drives election timeouts (injected for determinism). Required.
	Rand *rand.Rand
	// HeartbeatTicks is the raft heartbeat interval. Default 1.
	HeartbeatTicks int
	// ElectionTicks: a follower that heard nothing from a leader for a random [E, 2E) ticks campaigns;
	// a leader that heard from no quorum for 2E ticks stops granting leases. Default 10.
	ElectionTicks int
	// SnapshotEntries: the log is compacted into a snapshot of the map every so many applied entries.
	// Default 1000.
	SnapshotEntries uint64
	// MemberLeaseTicks is the members' OracleLeaseTicks (in this replica's ticks, which must run at the
	// members' rate). When set, a leader proposes the removal of a suspected member only once that
	// member's lease has certainly run out: LeaseMarginTicks after MemberLeaseTicks since this leader
	// last answered it, and since it became leader. So a member cut off from the service has stopped
	// (and serves no reads) before a view without it can exist. 0: suspicions are proposed at once.
	MemberLeaseTicks int
	// LeaseMarginTicks covers message delay and tick jitter between a lease grant and its receipt.
	// Default MemberLeaseTicks/4 (at least 2).
	LeaseMarginTicks int
}

// RaftMessage is a raft message addressed to a replica.
type RaftMessage struct {
	To  string
	Msg *raftpb.Message
}

// Ready is what the driver sends after Ready(): raft messages to replicas, records to members.
type Ready struct {
	Raft    []RaftMessage
	Members []vsync.Message
}

// Replica is one membership replica.
type Replica struct {
	cfg     Config
	rn      *raft.RawNode
	storage RaftStorage
	state   *ClusterMap
	applied uint64
	snapAt  uint64
	conf    *raftpb.ConfState
	now     int64
	silent  int
	timeout int
	heard   map[uint64]int64
	// Leases: when this replica, as leader, last answered each member, and since when it leads.
	granted     map[string]int64
	leaderSince int64
	wasLeader   bool
	// removing: members whose suspicion this leader proposed and that is not applied yet. They get no
	// answer (so no renewed lease) meanwhile: a member whose lease ran out is only isolated, and a
	// renewal between the proposal and its commit would let it serve local reads again just before a
	// view without it is installed. Cleared when a suspicion of the member is applied, and on a
	// leader change (a new leader answers only once it applied every entry of earlier terms).
	removing map[string]bool
	// termFirst is the index of the first log entry of term termFirstTerm, the newest term this
	// replica appended an entry of (caughtUp).
	termFirst, termFirstTerm uint64
	out                      Ready
}

type nopLogger struct{}

func (nopLogger) Debug(...any)            {}
func (nopLogger) Debugf(string, ...any)   {}
func (nopLogger) Error(...any)            {}
func (nopLogger) Errorf(string, ...any)   {}
func (nopLogger) Info(...any)             {}
func (nopLogger) Infof(string, ...any)    {}
func (nopLogger) Warning(...any)          {}
func (nopLogger) Warningf(string, ...any) {}
func (nopLogger) Fatal(v ...any)          { panic(fmt.Sprint(v...)) }
func (nopLogger) Fatalf(f string, v ...any) {
	panic(fmt.Sprintf(f, v...))
}
func (nopLogger) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (nopLogger) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }

// NewReplica starts (or restarts, when Storage holds state) a replica.
func NewReplica(cfg Config) (*Replica, error) {
	if cfg.HeartbeatTicks == 0 {
		cfg.HeartbeatTicks = 1
	}
	if cfg.ElectionTicks == 0 {
		cfg.ElectionTicks = 10
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 1000
	}
	if cfg.LeaseMarginTicks == 0 && cfg.MemberLeaseTicks > 0 {
		cfg.LeaseMarginTicks = max(2, cfg.MemberLeaseTicks/4)
	}
	var errs []error
	if cfg.MemberLeaseTicks < 0 || cfg.LeaseMarginTicks < 0 {
		errs = append(errs, fmt.Errorf("MemberLeaseTicks %d and LeaseMarginTicks %d must not be negative", cfg.MemberLeaseTicks, cfg.LeaseMarginTicks))
	}
	if len(cfg.Addrs) < 1 || len(cfg.Addrs) > 5 {
		errs = append(errs, fmt.Errorf("%d replicas, want 1 to 5", len(cfg.Addrs)))
	}
	if cfg.ID < 1 || cfg.ID > uint64(len(cfg.Addrs)) {
		errs = append(errs, fmt.Errorf("ID %d not in 1..%d", cfg.ID, len(cfg.Addrs)))
	}
	if cfg.Rand == nil {
		errs = append(errs, errors.New("Rand is nil"))
	}
	if cfg.ElectionTicks <= 2*cfg.HeartbeatTicks {
		errs = append(errs, fmt.Errorf("ElectionTicks %d must exceed 2*HeartbeatTicks %d", cfg.ElectionTicks, cfg.HeartbeatTicks))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	st := cfg.Storage
	if st == nil {
		st = raft.NewMemoryStorage()
	}
	r := &Replica{cfg: cfg, storage: st, state: NewClusterMap(), heard: map[uint64]int64{}, granted: map[string]int64{},
		removing: map[string]bool{}}
	hs, cs, err := st.InitialState()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRaft, err)
	}
	snap, err := st.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRaft, err)
	}
	if !raft.IsEmptySnap(snap) {
		if err := json.Unmarshal(snap.GetData(), r.state); err != nil {
			return nil, fmt.Errorf("%w: snapshot: %w", ErrRaft, err)
		}
		r.applied = snap.GetMetadata().GetIndex()
		r.snapAt = r.applied
	}
	r.conf = cs
	rc := &raft.Config{
		ID:              cfg.ID,
		ElectionTick:    4 * cfg.ElectionTicks, // never fires first: the wrapper campaigns after [E, 2E)
		HeartbeatTick:   cfg.HeartbeatTicks,
		Storage:         st,
		Applied:         r.applied,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		Logger:          nopLogger{},
	}
	rn, err := raft.NewRawNode(rc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRaft, err)
	}
	r.rn = rn
	if raft.IsEmptyHardState(hs) && raft.IsEmptySnap(snap) {
		peers := make([]raft.Peer, len(cfg.Addrs))
		for i := range peers {
			peers[i] = raft.Peer{ID: uint64(i + 1)}
		}
		if err := rn.Bootstrap(peers); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRaft, err)
		}
	}
	r.newTimeout()
	return r, nil
}

func (r *Replica) newTimeout() {
	r.silent = 0
	r.timeout = r.cfg.ElectionTicks + r.cfg.Rand.Intn(r.cfg.ElectionTicks)
}

// Map returns the replica's current cluster map (read only).
func (r *Replica) Map() *ClusterMap { return r.state }

// IsLeader reports whether this replica leads and heard from a quorum within 2*ElectionTicks: only
// then does it answer members (and so renew their leases).
func (r *Replica) IsLeader() bool {
	if r.rn.BasicStatus().RaftState != raft.StateLeader {
		return false
	}
	n := 1
	for id := uint64(1); id <= uint64(len(r.cfg.Addrs)); id++ {
		if id != r.cfg.ID {
			if t, ok := r.heard[id]; ok && r.now-t <= int64(2*r.cfg.ElectionTicks) {
				n++
			}
		}
	}
	return n > len(r.cfg.Addrs)/2
}

// Tick advances time. A single replica campaigns on every tick until it leads (the manual's fast
// start: it cannot before the bootstrap configuration is applied by the first Ready).
func (r *Replica) Tick() {
	r.now++
	r.rn.Tick()
	if r.rn.BasicStatus().RaftState == raft.StateLeader {
		if !r.wasLeader {
			r.wasLeader, r.leaderSince = true, r.now
			clear(r.granted)
			clear(r.removing)
		}
		r.silent = 0
		return
	}
	r.wasLeader = false
	r.silent++
	if r.silent >= r.timeout || len(r.cfg.Addrs) == 1 {
		_ = r.rn.Campaign()
		r.newTimeout()
	}
}

// StepRaft feeds a raft message from another replica.
func (r *Replica) StepRaft(m *raftpb.Message) {
	r.heard[m.GetFrom()] = r.now
	switch m.GetType() {
	case raftpb.MessageType_MsgApp, raftpb.MessageType_MsgHeartbeat, raftpb.MessageType_MsgSnap:
		if m.GetTerm() >= r.rn.BasicStatus().GetTerm() {
			r.silent = 0
		}
	}
	_ = r.rn.Step(m)
}

// Step handles a member's request: the leader proposes what would change the map and answers syncs.
func (r *Replica) Step(m vsync.Message) {
	if m.Kind != vsync.MsgOracleRequest || m.Req == nil {
		return
	}
	if !r.IsLeader() {
		return
	}
	req := *m.Req
	req.Member = m.From
	if r.state.retired(m.From) {
		// A removed incarnation: the poison pill makes it stop and rejoin as a new one.
		r.out.Members = append(r.out.Members, vsync.Message{Kind: vsync.MsgPoison, Group: req.Group,
			From: r.cfg.Addrs[r.cfg.ID-1], To: m.From})
		return
	}
	if req.Op != vsync.OpSync && r.state.Valid(req) && r.leaseExpired(req) {
		b, _ := json.Marshal(req)
		if r.rn.Propose(b) == nil && req.Op == vsync.OpSuspect {
			r.removing[req.Target] = true
		}
	}
	r.reply(m.From, req.Group)
}

// caughtUp reports whether this leader applied the first entry of its own term (raft appends an
// empty one when it becomes leader), and so every entry an earlier leader may have proposed: a
// suspicion proposed by an earlier leader is then either applied or gone, and this leader's answers
// cannot renew the lease of a member that a committed entry is about to remove.
func (r *Replica) caughtUp() bool {
	return r.termFirstTerm == r.rn.BasicStatus().GetTerm() && r.termFirst != 0 && r.applied >= r.termFirst
}

// leaseExpired reports whether a suspicion may be proposed: the suspected member's lease from this
// leader (and from any earlier leader, whose grants this one does not know) has run out. Until then the
// suspicion is dropped; members repeat it every OracleSyncTicks.
func (r *Replica) leaseExpired(req vsync.OracleRequest) bool {
	if req.Op != vsync.OpSuspect || r.cfg.MemberLeaseTicks == 0 {
		return true
	}
	wait := int64(r.cfg.MemberLeaseTicks + r.cfg.LeaseMarginTicks)
	if r.now-r.leaderSince <= wait {
		return false
	}
	g, ok := r.granted[req.Target]
	return !ok || r.now-g > wait
}

// reply sends the group's record to a member.
func (r *Replica) reply(to, group string) {
	if r.removing[to] || !r.caughtUp() {
		return // see Replica.removing; the member asks again every OracleSyncTicks
	}
	r.granted[to] = r.now
	rec := vsync.GroupRecord{Group: group}
	if g := r.state.Groups[group]; g != nil {
		rec = cloneRecord(g.Record)
	}
	r.out.Members = append(r.out.Members, vsync.Message{Kind: vsync.MsgOracleUpdate, Group: group,
		From: r.cfg.Addrs[r.cfg.ID-1], To: to, Record: &rec, Leader: true})
}

func cloneRecord(rec vsync.GroupRecord) vsync.GroupRecord {
	out := rec
	out.View.Members = append([]string(nil), rec.View.Members...)
	if rec.Change != nil {
		ch := *rec.Change
		ch.Next = append([]string(nil), ch.Next...)
		ch.Joiners = append([]string(nil), ch.Joiners...)
		out.Change = &ch
	}
	return out
}

// Ready persists raft's output, applies committed requests, and returns what to send.
func (r *Replica) Ready() Ready {
	for r.rn.HasReady() {
		rd := r.rn.Ready()
		if !raft.IsEmptySnap(rd.Snapshot) {
			if err := r.storage.ApplySnapshot(rd.Snapshot); err != nil {
				panic(fmt.Sprintf("membership: apply snapshot: %v", err))
			}
			if err := json.Unmarshal(rd.Snapshot.GetData(), r.state); err != nil {
				panic(fmt.Sprintf("membership: snapshot data: %v", err))
			}
			r.applied = rd.Snapshot.GetMetadata().GetIndex()
			r.conf = rd.Snapshot.GetMetadata().GetConfState()
		}
		if len(rd.Entries) > 0 {
			if err := r.storage.Append(rd.Entries); err != nil {
				panic(fmt.Sprintf("membership: append: %v", err))
			}
			for _, e := range rd.Entries {
				if e.GetTerm() > r.termFirstTerm {
					r.termFirstTerm, r.termFirst = e.GetTerm(), e.GetIndex()
				}
			}
		}
		if !raft.IsEmptyHardState(rd.HardState) {
			if err := r.storage.SetHardState(rd.HardState); err != nil {
				panic(fmt.Sprintf("membership: hard state: %v", err))
			}
		}
		var snapsTo []uint64
		for _, m := range rd.Messages {
			r.out.Raft = append(r.out.Raft, RaftMessage{To: r.cfg.Addrs[m.GetTo()-1], Msg: m})
			if m.GetType() == raftpb.MessageType_MsgSnap {
				snapsTo = append(snapsTo, m.GetTo())
			}
		}
		for _, e := range rd.CommittedEntries {
			r.apply(e)
		}
		r.rn.Advance(rd)
		// A snapshot handed to the driver counts as sent: raft then probes the follower with appends
		// after the snapshot's index, and a follower that did not get it rejects them, which makes
		// raft send the snapshot again. Without a report, the leader would wait for the follower in
		// snapshot state until the next leader change.
		for _, to := range snapsTo {
			r.rn.ReportSnapshot(to, raft.SnapshotFinish)
		}
	}
	r.maybeSnapshot()
	out := r.out
	r.out = Ready{}
	return out
}

func (r *Replica) apply(e *raftpb.Entry) {
	if e.GetIndex() <= r.applied {
		return
	}
	r.applied = e.GetIndex()
	switch e.GetType() {
	case raftpb.EntryType_EntryConfChange:
		var cc raftpb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			panic(fmt.Sprintf("membership: conf change: %v", err))
		}
		r.conf = r.rn.ApplyConfChange(&cc)
	case raftpb.EntryType_EntryNormal:
		if len(e.GetData()) == 0 {
			return
		}
		var req vsync.OracleRequest
		if err := json.Unmarshal(e.GetData(), &req); err != nil {
			return // not ours; committed entries are never rejected
		}
		if req.Op == vsync.OpSuspect {
			delete(r.removing, req.Target)
		}
		notify := r.state.Apply(req)
		if len(notify) > 0 && r.IsLeader() {
			for _, id := range notify {
				r.reply(id, req.Group)
			}
		}
	}
}

// maybeSnapshot compacts the log every SnapshotEntries applied entries.
func (r *Replica) maybeSnapshot() {
	if r.applied-r.snapAt < r.cfg.SnapshotEntries || r.conf == nil {
		return
	}
	data, err := json.Marshal(r.state)
	if err != nil {
		panic(fmt.Sprintf("membership: marshal map: %v", err))
	}
	if _, err := r.storage.CreateSnapshot(r.applied, r.conf, data); err != nil {
		return
	}
	_ = r.storage.Compact(r.applied)
	r.snapAt = r.applied
}
