package group

import (
	"slices"
	"sync"

	"github.com/vsdb/vsdb/vsync"
)

// LogStore is the SafeSend log of this process, shared by all its groups: vsync reads it at start
// (vsync.Storage) and the drivers write it while executing Ready. A Badger implementation (wal/) can
// replace MemLog without changing the driver.
type LogStore interface {
	vsync.Storage
	// Append makes entries durable (append, then sync) before it returns.
	Append(entries []vsync.LogEntry) error
	// Forget removes the entries of group with the given tags.
	Forget(group string, tags []vsync.Tag) error
}

// MemLog is an in-memory LogStore: it survives a member's restart inside the process, not the process.
// It is safe for concurrent use by the drivers of several groups.
type MemLog struct {
	mu      sync.Mutex
	entries []vsync.LogEntry
}

// NewMemLog returns an empty log.
func NewMemLog() *MemLog { return &MemLog{} }

// Entries returns a copy of every entry, oldest first.
func (l *MemLog) Entries() ([]vsync.LogEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries), nil
}

// Append appends entries.
func (l *MemLog) Append(entries []vsync.LogEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, entries...)
	return nil
}

// Forget removes group's entries with the given tags (payloads and order markers alike).
func (l *MemLog) Forget(group string, tags []vsync.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	drop := make(map[vsync.Tag]bool, len(tags))
	for _, t := range tags {
		drop[t] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = slices.DeleteFunc(l.entries, func(e vsync.LogEntry) bool { return e.Group == group && drop[e.Tag] })
	return nil
}

// Len returns the number of entries.
func (l *MemLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
