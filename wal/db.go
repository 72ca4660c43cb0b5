package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Errors. Badger's own errors are wrapped in ErrStore.
var (
	ErrOptions    = errors.New("wal: invalid options")
	ErrClosed     = errors.New("wal: database closed")
	ErrInUse      = errors.New("wal: prefix already in use")
	ErrStore      = errors.New("wal: store")
	ErrCorrupt    = errors.New("wal: corrupt record")
	ErrOutOfRange = errors.New("wal: index out of range")
	ErrTooLarge   = errors.New("wal: record too large for one transaction")
)

// Size units.
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Options configures a DB. Start from DefaultOptions: the zero Options does not validate (its sizes are
// zero), so a caller cannot get a non-durable database by forgetting a field.
type Options struct {
	// MemTableBytes is the size of Badger's memtable (and of the arena allocated for it), in bytes.
	// Badger's largest transaction is 15% of it; larger writes are split (see batch). Default 8 MiB,
	// range [1 MiB, 1 GiB].
	MemTableBytes int64
	// NumMemtables is how many memtables (the mutable one plus those waiting to be flushed) may exist
	// at once. Default 2, range [1, 16].
	NumMemtables int
	// BlockCacheBytes is the size of Badger's block cache, in bytes; 0 disables it (blocks are not
	// compressed, so none is required). Reads happen only when a log is reloaded. Default 1 MiB,
	// range [0, 1 GiB].
	BlockCacheBytes int64
	// ValueLogFileBytes is the size of one value-log file, in bytes. Values above min(1 MiB,
	// MemTableBytes*15%/2) live in the value log, and one value must fit in one file. Badger maps
	// 2*ValueLogFileBytes of address space per open file. Default 32 MiB, range [1 MiB, 2 GiB).
	ValueLogFileBytes int64
	// NumCompactors is the number of Badger compaction goroutines. Default 2, range [2, 8].
	NumCompactors int
	// SyncWrites fsyncs every commit before it returns. Default true: raft and the SafeSend log rely on
	// it (a call returns only once its write is durable). False only for tests that do not crash.
	SyncWrites bool
	// Logf receives Badger's log lines (prefixed with their level); nil discards them.
	Logf func(format string, args ...any)
}

// DefaultOptions returns the default options: small memory per DB (many nodes share a test process),
// durable writes, a silent logger.
func DefaultOptions() Options {
	return Options{
		MemTableBytes:     8 * mib,
		NumMemtables:      2,
		BlockCacheBytes:   1 * mib,
		ValueLogFileBytes: 32 * mib,
		NumCompactors:     2,
		SyncWrites:        true,
	}
}

// Validate reports every problem of o at once, wrapped in ErrOptions.
func (o Options) Validate() error {
	var errs []error
	if o.MemTableBytes < 1*mib || o.MemTableBytes > 1*gib {
		errs = append(errs, fmt.Errorf("MemTableBytes %d not in [1 MiB, 1 GiB]", o.MemTableBytes))
	}
	if o.NumMemtables < 1 || o.NumMemtables > 16 {
		errs = append(errs, fmt.Errorf("NumMemtables %d not in [1, 16]", o.NumMemtables))
	}
	if o.BlockCacheBytes < 0 || o.BlockCacheBytes > 1*gib {
		errs = append(errs, fmt.Errorf("BlockCacheBytes %d not in [0, 1 GiB]", o.BlockCacheBytes))
	}
	if o.ValueLogFileBytes < 1*mib || o.ValueLogFileBytes >= 2*gib {
		errs = append(errs, fmt.Errorf("ValueLogFileBytes %d not in [1 MiB, 2 GiB)", o.ValueLogFileBytes))
	}
	if o.NumCompactors < 2 || o.NumCompactors > 8 {
		errs = append(errs, fmt.Errorf("NumCompactors %d not in [2, 8]", o.NumCompactors))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	return nil
}

// badgerOptions translates o (valid) into Badger's options for dir.
func (o Options) badgerOptions(dir string) badger.Options {
	maxBatch := o.MemTableBytes * 15 / 100
	threshold := min(int64(1*mib), maxBatch/2)
	bo := badger.DefaultOptions(dir).
		WithMemTableSize(o.MemTableBytes).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheBytes).
		WithIndexCacheSize(0).
		WithValueLogFileSize(o.ValueLogFileBytes).
		WithValueThreshold(threshold).
		WithNumCompactors(o.NumCompactors).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(max(o.MemTableBytes/4, 512*kib)).
		WithBaseLevelSize(max(o.MemTableBytes, 2*mib)).
		WithCompression(options.None).
		WithNumGoroutines(2).
		WithSyncWrites(o.SyncWrites).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithLogger(nil)
	if o.Logf != nil {
		bo = bo.WithLogger(logAdapter{o.Logf})
	}
	return bo
}

// logAdapter routes Badger's logger to a Logf function.
type logAdapter struct{ logf func(string, ...any) }

func (l logAdapter) Errorf(f string, v ...any)   { l.logf("badger ERROR: "+f, v...) }
func (l logAdapter) Warningf(f string, v ...any) { l.logf("badger WARNING: "+f, v...) }
func (l logAdapter) Infof(f string, v ...any)    { l.logf("badger INFO: "+f, v...) }
func (l logAdapter) Debugf(f string, v ...any)   { l.logf("badger DEBUG: "+f, v...) }

// DB is one Badger database in one directory (a node's data dir), shared by several users (raft logs,
// SafeSend logs) that each own a key namespace.
//
// Key namespaces: every key starts with the user's kind byte, the uvarint length of its prefix string,
// and the prefix itself, so two users' keys never overlap whatever their prefixes (prefix "a" of one
// kind and "ab" of the same kind are disjoint). A prefix may be opened once per kind per DB: two
// writers of one namespace would break each user's in-memory view.
//
// Invariants: a DB is safe for concurrent use; after Close every write returns ErrClosed (reads served
// from a user's in-memory cache still answer) and every Badger goroutine and file is released.
type DB struct {
	bdb *badger.DB
	dir string

	mu     sync.RWMutex // guards closed; writes hold it shared so Close waits for them
	closed bool
	users  map[string]bool
}

// Namespace kinds.
const (
	kindRaft byte = 'R'
	kindSafe byte = 'S'
)

// maxPrefixBytes bounds a user's prefix.
const maxPrefixBytes = 1 * kib

// Open opens (creating if needed) the database in dir.
func Open(dir string, opts Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrOptions)
	}
	bdb, err := badger.Open(opts.badgerOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrStore, dir, err)
	}
	return &DB{bdb: bdb, dir: dir, users: map[string]bool{}}, nil
}

// Close closes the database: pending writes finish first; later writes return ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	if err := db.bdb.Close(); err != nil {
		return fmt.Errorf("%w: close: %w", ErrStore, err)
	}
	return nil
}

// Dir returns the database's directory.
func (db *DB) Dir() string { return db.dir }

// claim reserves the namespace of (kind, prefix) and returns its key prefix.
func (db *DB) claim(kind byte, prefix string) ([]byte, error) {
	if len(prefix) > maxPrefixBytes {
		return nil, fmt.Errorf("%w: prefix of %d bytes exceeds %d", ErrOptions, len(prefix), maxPrefixBytes)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, ErrClosed
	}
	ns := binary.AppendUvarint([]byte{kind}, uint64(len(prefix)))
	ns = append(ns, prefix...)
	if db.users[string(ns)] {
		return nil, fmt.Errorf("%w: %q", ErrInUse, prefix)
	}
	db.users[string(ns)] = true
	return ns, nil
}

// write runs fn with a batch and commits it; the DB cannot close meanwhile.
func (db *DB) write(fn func(b *batch) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	b := &batch{bdb: db.bdb, txn: db.bdb.NewTransaction(true)}
	defer b.discard()
	if err := fn(b); err != nil {
		return err
	}
	return b.commit()
}

// view runs fn in a read transaction.
func (db *DB) view(fn func(txn *badger.Txn) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	return db.bdb.View(fn)
}

// batch is a sequence of writes committed in as few Badger transactions as the transaction size limit
// allows, in order: when a write does not fit into the current transaction (badger.ErrTxnTooBig), that
// transaction is committed (durably, under SyncWrites) and the write starts the next one. So a crash
// leaves a prefix of the sequence applied; callers order their writes so that every prefix is a valid
// state (or is repaired on reload) and rely on a single transaction only for what is small.
type batch struct {
	bdb *badger.DB
	txn *badger.Txn
	n   int // writes in the current transaction
}

// set writes key=value. Neither slice may be modified afterwards.
func (b *batch) set(key, value []byte) error {
	return b.do(func() error { return b.txn.Set(key, value) })
}

// del deletes key. The slice may not be modified afterwards.
func (b *batch) del(key []byte) error {
	return b.do(func() error { return b.txn.Delete(key) })
}

func (b *batch) do(op func() error) error {
	err := op()
	if errors.Is(err, badger.ErrTxnTooBig) && b.n > 0 {
		if err := b.commit(); err != nil {
			return err
		}
		b.txn = b.bdb.NewTransaction(true)
		err = op()
	}
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	b.n++
	return nil
}

func (b *batch) commit() error {
	b.n = 0
	if err := b.txn.Commit(); err != nil {
		return fmt.Errorf("%w: commit: %w", ErrStore, err)
	}
	return nil
}

func (b *batch) discard() { b.txn.Discard() }

// key returns a fresh slice ns|parts….
func key(ns []byte, parts ...[]byte) []byte {
	n := len(ns)
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, ns...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// be64 is the big-endian encoding of v (keys sort by it).
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// scanKeys calls fn with the key (valid only during the call) and value loader of every key under
// prefix, in key order.
func scanKeys(txn *badger.Txn, prefix []byte, values bool, fn func(k []byte, item *badger.Item) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = values
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := fn(it.Item().Key(), it.Item()); err != nil {
			return err
		}
	}
	return nil
}

// getValue returns a copy of key's value, or nil, false when absent.
func getValue(txn *badger.Txn, k []byte) ([]byte, bool, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: get: %w", ErrStore, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, fmt.Errorf("%w: value: %w", ErrStore, err)
	}
	return v, true, nil
}
