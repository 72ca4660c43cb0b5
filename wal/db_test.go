package wal

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/goleak"

	"github.com/vsdb/vsdb/vsync"
)

// TestMain fails the package if any goroutine (Badger's compactors, flushers, caches…) outlives the
// tests: every test closes its DBs.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts func(o *Options)
		want []string // substrings of the error; nil: valid
	}{
		{"defaults", func(*Options) {}, nil},
		{"no block cache", func(o *Options) { o.BlockCacheBytes = 0 }, nil},
		{"zero options", func(o *Options) { *o = Options{} },
			[]string{"MemTableBytes", "NumMemtables", "ValueLogFileBytes", "NumCompactors"}},
		{"too big", func(o *Options) { o.MemTableBytes, o.ValueLogFileBytes, o.BlockCacheBytes = 2*gib, 2*gib, 2*gib },
			[]string{"MemTableBytes", "ValueLogFileBytes", "BlockCacheBytes"}},
		{"one compactor", func(o *Options) { o.NumCompactors = 1 }, []string{"NumCompactors"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.opts(&o)
			err := o.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrOptions) {
				t.Fatalf("Validate() = %v, want ErrOptions", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, does not mention %s", err, w)
				}
			}
			if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrOptions) {
				t.Errorf("Open: %v, want ErrOptions", err)
			}
		})
	}
}

func TestDBClosedAndInUse(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	o := testOptions()
	o.Logf = func(f string, v ...any) { lines = append(lines, fmt.Sprintf(f, v...)) }
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testOptions()); !errors.Is(err, ErrStore) {
		t.Errorf("second Open of a directory in use: %v, want ErrStore", err)
	}
	log, err := db.RaftLog("r")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RaftLog("r"); !errors.Is(err, ErrInUse) {
		t.Errorf("second RaftLog(r): %v, want ErrInUse", err)
	}
	if _, err := db.SafeLog("r"); err != nil {
		t.Errorf("SafeLog(r) beside RaftLog(r): %v", err)
	}
	safe, _ := db.SafeLog("q")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Error("Logf received no Badger log line")
	}
	if err := log.SetHardState(&raftpb.HardState{Term: new(uint64(1))}); !errors.Is(err, ErrClosed) {
		t.Errorf("SetHardState after Close: %v, want ErrClosed", err)
	}
	if err := safe.Append([]vsync.LogEntry{{Group: "g"}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := safe.Entries(); !errors.Is(err, ErrClosed) {
		t.Errorf("Entries after Close: %v, want ErrClosed", err)
	}
	if _, err := db.RaftLog("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("RaftLog after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMemoryPerDB opens several DBs with the default options, writes a little to each and reports the
// Go heap they hold (no timing or size assertion beyond a generous bound: the figure is for the report).
func TestMemoryPerDB(t *testing.T) {
	const n = 8
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var dbs []*DB
	for i := range n {
		db, err := Open(t.TempDir(), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
		log, err := db.SafeLog("s")
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Append([]vsync.LogEntry{{Group: "g", Payload: []byte(fmt.Sprint(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perHeap := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	perSys := (int64(after.Sys) - int64(before.Sys)) / n
	t.Logf("per DB: heap %.1f MiB, runtime Sys %.1f MiB", float64(perHeap)/mib, float64(perSys)/mib)
	for _, db := range dbs {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if perHeap > 64*mib {
		t.Errorf("%d MiB of heap per DB", perHeap/mib)
	}
}
