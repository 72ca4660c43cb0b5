package wal

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/vsdb/vsdb/vsync"
)

// SafeLog is the durable SafeSend acceptor log of a process, shared by all its groups. It has the
// method set and semantics of server/group.LogStore (vsync.Storage plus Append and Forget), which wal
// cannot import (layering): Entries returns every entry oldest first, Append makes entries durable
// before it returns, Forget removes a group's entries with the given tags (payloads and order markers
// alike).
//
// Layout under the namespace ns (see DB):
//
//	ns|'e'|be64(seq)                                   an entry (encodeLogEntry), seq = append order
//	ns|'t'|len|group|len|sender|be64(tagSeq)|be64(seq) empty; the (group, tag) index of entry seq
//
// (len is a uvarint, so no group/sender pair is a prefix of another.) Entries iterates the 'e' keys, in
// append order. Forget seeks the index prefix of each (group, tag) and deletes exactly those entries,
// without scanning the log.
//
// Invariants:
//   - seq is strictly increasing: a reopened log continues after the highest stored seq.
//   - Every entry key has its index key. Append writes an entry's index key before the entry, Forget
//     deletes the entry before its index key; so a write split across transactions (batch) or cut by a
//     crash may leave an index key without an entry (ignored by Forget), never an entry that Forget
//     cannot find.
//   - When Append returns nil, its entries are durable (Options.SyncWrites) and Entries lists them after
//     every earlier one; after a crash during Append a prefix of its entries may be stored. When Forget
//     returns nil, the entries are gone for good; after a crash during Forget some of them may remain.
//   - Reload (SafeLog on a reopened DB) lists exactly the entries stored before Close or the crash.
//
// SafeLog is safe for concurrent use.
type SafeLog struct {
	db *DB
	ns []byte

	mu   sync.Mutex
	next uint64 // seq of the next entry
}

// Sub-keys of a SafeSend log namespace.
const (
	safeEntry = 'e'
	safeIndex = 't'
)

// SafeLog opens the SafeSend log stored under prefix.
func (db *DB) SafeLog(prefix string) (*SafeLog, error) {
	ns, err := db.claim(kindSafe, prefix)
	if err != nil {
		return nil, err
	}
	l := &SafeLog{db: db, ns: ns, next: 1}
	prefixE := key(ns, []byte{safeEntry})
	err = db.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues, opts.Reverse = prefixE, false, true
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(key(prefixE, be64(math.MaxUint64)))
		if it.ValidForPrefix(prefixE) {
			k := it.Item().Key()
			if len(k) != len(prefixE)+8 {
				return fmt.Errorf("%w: entry key of %d bytes", ErrCorrupt, len(k))
			}
			l.next = binary.BigEndian.Uint64(k[len(prefixE):]) + 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// indexPrefix is ns|'t'|len|group|len|sender|be64(tagSeq).
func (l *SafeLog) indexPrefix(group string, tag vsync.Tag) []byte {
	k := append(append([]byte(nil), l.ns...), safeIndex)
	k = appendString(k, group)
	k = appendString(k, tag.Sender)
	return binary.BigEndian.AppendUint64(k, tag.Seq)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Entries returns every entry, oldest first.
func (l *SafeLog) Entries() ([]vsync.LogEntry, error) {
	var out []vsync.LogEntry
	err := l.db.view(func(txn *badger.Txn) error {
		return scanKeys(txn, key(l.ns, []byte{safeEntry}), true, func(k []byte, item *badger.Item) error {
			return item.Value(func(v []byte) error {
				e, err := decodeLogEntry(v)
				if err != nil {
					return fmt.Errorf("entry %x: %w", k, err)
				}
				out = append(out, e)
				return nil
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Append appends entries; they are durable when it returns nil.
func (l *SafeLog) Append(entries []vsync.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.next
	l.next += uint64(len(entries)) // never reused, even if the write fails part way
	return l.db.write(func(b *batch) error {
		for i, e := range entries {
			s := be64(seq + uint64(i))
			if err := b.set(key(l.indexPrefix(e.Group, e.Tag), s), []byte{}); err != nil {
				return err
			}
			if err := b.set(key(l.ns, []byte{safeEntry}, s), encodeLogEntry(nil, e)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Forget removes group's entries with the given tags (payloads and order markers alike).
func (l *SafeLog) Forget(group string, tags []vsync.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var idx [][]byte
	seen := make(map[vsync.Tag]bool, len(tags))
	err := l.db.view(func(txn *badger.Txn) error {
		for _, t := range tags {
			if seen[t] {
				continue
			}
			seen[t] = true
			p := l.indexPrefix(group, t)
			err := scanKeys(txn, p, false, func(k []byte, _ *badger.Item) error {
				if len(k) != len(p)+8 {
					return fmt.Errorf("%w: index key of %d bytes", ErrCorrupt, len(k))
				}
				idx = append(idx, append([]byte(nil), k...))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return l.db.write(func(b *batch) error {
		for _, k := range idx {
			if err := b.del(key(l.ns, []byte{safeEntry}, k[len(k)-8:])); err != nil {
				return err
			}
			if err := b.del(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// LogEntry encoding, version 1 (all integers uvarint unless noted):
//
//	version byte (1)
//	len(Group) Group   len(Tag.Sender) Tag.Sender   Tag.Seq
//	payload flag byte: 0 = nil Payload (an order marker), 1 = present, then len(Payload) Payload
//	View   Pos   Rank (zig-zag varint)   Idx   Ballot
//
// Nothing may follow. The decoder checks every length against the bytes left and returns an error
// wrapping ErrCorrupt on any malformed input; it never panics.
const logEntryVersion = 1

// encodeLogEntry appends the encoding of e to b.
func encodeLogEntry(b []byte, e vsync.LogEntry) []byte {
	b = append(b, logEntryVersion)
	b = appendString(b, e.Group)
	b = appendString(b, e.Tag.Sender)
	b = binary.AppendUvarint(b, e.Tag.Seq)
	if e.Payload == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(e.Payload)))
		b = append(b, e.Payload...)
	}
	b = binary.AppendUvarint(b, e.View)
	b = binary.AppendUvarint(b, e.Pos)
	b = binary.AppendVarint(b, int64(e.Rank))
	b = binary.AppendUvarint(b, e.Idx)
	return binary.AppendUvarint(b, e.Ballot)
}

// decoder reads the fields of an encoding; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: log entry: bad %s", ErrCorrupt, what)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	v := append([]byte{}, d.b[:n]...)
	d.b = d.b[n:]
	return v
}

// decodeLogEntry decodes an encodeLogEntry encoding (it copies what it keeps of b).
func decodeLogEntry(b []byte) (vsync.LogEntry, error) {
	d := &decoder{b: b}
	var e vsync.LogEntry
	if v := d.byte("version"); d.err == nil && v != logEntryVersion {
		return e, fmt.Errorf("%w: log entry: version %d", ErrCorrupt, v)
	}
	e.Group = string(d.bytes("group"))
	e.Tag.Sender = string(d.bytes("sender"))
	e.Tag.Seq = d.uvarint("tag seq")
	switch d.byte("payload flag") {
	case 0:
	case 1:
		e.Payload = d.bytes("payload")
	default:
		d.fail("payload flag")
	}
	e.View = d.uvarint("view")
	e.Pos = d.uvarint("pos")
	rank := d.varint("rank")
	if rank < math.MinInt || rank > math.MaxInt {
		d.fail("rank")
	}
	e.Rank = int(rank)
	e.Idx = d.uvarint("idx")
	e.Ballot = d.uvarint("ballot")
	if d.err == nil && len(d.b) != 0 {
		d.fail("length (trailing bytes)")
	}
	if d.err != nil {
		return vsync.LogEntry{}, d.err
	}
	return e, nil
}
