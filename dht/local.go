package dht

import (
	"context"
	"sync"

	"github.com/vsdb/vsdb/aggregate"
	"github.com/vsdb/vsdb/shard"
)

// TickExpireKeys bounds the keys one Tick may expire (Redis's active expire cycle is bounded likewise).
const TickExpireKeys = 1000

/*
Local is the single-node implementation of the operation API: one shard.Store behind one mutex. The
mutex is the "orderer": every operation (a command, an atomic batch, a tick) runs alone, and reads the
clock exactly once, when it is ordered; the store never reads a clock. The cluster implementation keeps
these method signatures and replaces the mutex with a vsync group's total order.
*/
type Local struct {
	mu     sync.Mutex
	st     *shard.Store
	nowMs  func() int64
	closed bool
}

// NewLocal returns a Local with an empty store.
func NewLocal(cfg Config) (*Local, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := cfg.NowMs
	if now == nil {
		now = defaultNowMs
	}
	return &Local{st: shard.NewStore(cfg.Store), nowMs: now}, nil
}

// Handles reports whether Do implements the command (case-insensitive).
func (d *Local) Handles(name []byte) bool { return d.st.Handles(name) }

// IsWrite reports whether the command can modify data.
func (d *Local) IsWrite(name []byte) bool { return d.st.IsWrite(name) }

func (d *Local) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// Do runs one data command (Handles(args[0]) must hold) and appends its RESP reply to dst. The time of
// the op is read once from NowMs here and passed to the store.
func (d *Local) Do(ctx context.Context, dst []byte, args [][]byte) ([]byte, error) {
	if len(args) == 0 || !d.st.Handles(args[0]) {
		return dst, ErrNotDataCommand
	}
	if err := d.lock(ctx); err != nil {
		return dst, err
	}
	defer d.mu.Unlock()
	return d.st.Exec(dst, args, d.nowMs()), nil
}

// Watch is a key's version at WATCH time. A single node's version is the store's KeyVersion; a
// cluster's is the write stamp of View plus the key's deadline (watch.go).
type Watch struct {
	Key        []byte
	Version    uint64
	View       uint64 // cluster: the view the version belongs to
	DeadlineMs int64  // cluster: PEXPIRETIME at WATCH (Unix ms; -1 no TTL, -2 absent)
}

// Watch records the current version of key (for MULTI/EXEC).
func (d *Local) Watch(ctx context.Context, key []byte) (Watch, error) {
	if err := d.lock(ctx); err != nil {
		return Watch{}, err
	}
	defer d.mu.Unlock()
	return Watch{Key: append([]byte(nil), key...), Version: d.st.KeyVersion(key, d.nowMs())}, nil
}

// DoAtomic runs cmds as one atomic operation (MULTI/EXEC) at one time: if any watched key's version
// changed (written, deleted or expired since Watch) it appends a null array (`*-1\r\n`), else an array of
// the replies. No other operation interleaves. Every command must be a data command. Like Redis's EXEC,
// a batch with a command refused over maxmemory is refused whole with the OOM error (see
// shard.Store.ExecMulti).
func (d *Local) DoAtomic(ctx context.Context, dst []byte, cmds [][][]byte, watches []Watch) ([]byte, error) {
	for _, c := range cmds {
		if len(c) == 0 || !d.st.Handles(c[0]) {
			return dst, ErrNotDataCommand
		}
	}
	if err := d.lock(ctx); err != nil {
		return dst, err
	}
	defer d.mu.Unlock()
	now := d.nowMs()
	changed := func() bool {
		for _, w := range watches {
			if d.st.KeyVersion(w.Key, now) != w.Version {
				return true
			}
		}
		return false
	}
	return d.st.ExecMulti(dst, cmds, now, changed), nil
}

// Tick runs one bounded active-expire cycle at NowMs (the server calls it about 10 times a second).
func (d *Local) Tick(ctx context.Context) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	d.st.ActiveExpire(d.nowMs(), TickExpireKeys)
	return nil
}

// Stats returns the store's counters.
func (d *Local) Stats() shard.Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.Stats()
}

// SetMaxMemory changes the store's memory limit and eviction policy.
func (d *Local) SetMaxMemory(maxBytes int64, p shard.Policy) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.SetMaxMemory(maxBytes, p)
}

// Close makes every later operation fail with ErrClosed. It is idempotent.
func (d *Local) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// Query evaluates an aggregation query over the whole store at NowMs (one shard: a single node's
// answer is always a consistent cut).
func (d *Local) Query(ctx context.Context, q *aggregate.Query) (*aggregate.Groups, bool, error) {
	if err := d.lock(ctx); err != nil {
		return nil, false, err
	}
	defer d.mu.Unlock()
	gs, truncated := EvalShard(d.st, q, 0, DefaultRouter(1), d.nowMs())
	return gs, truncated, nil
}
