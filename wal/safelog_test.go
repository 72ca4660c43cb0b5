package wal

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"testing"

	"github.com/vsdb/vsdb/vsync"
)

// memLog is the model: server/group.MemLog's semantics (copied; wal must not import server).
type memLog struct{ entries []vsync.LogEntry }

func (l *memLog) Append(es []vsync.LogEntry) { l.entries = append(l.entries, es...) }

func (l *memLog) Forget(group string, tags []vsync.Tag) {
	drop := map[vsync.Tag]bool{}
	for _, t := range tags {
		drop[t] = true
	}
	l.entries = slices.DeleteFunc(l.entries, func(e vsync.LogEntry) bool { return e.Group == group && drop[e.Tag] })
}

// Groups and senders chosen so that naive concatenated keys would collide ("a"+"bc" = "ab"+"c").
var (
	testGroups  = []string{"a", "ab", "g", ""}
	testSenders = []string{"bc", "c", "n1#2"}
)

func randTag(rnd *rand.Rand) vsync.Tag {
	return vsync.Tag{Sender: testSenders[rnd.Intn(len(testSenders))], Seq: uint64(rnd.Intn(6))}
}

func randLogEntry(rnd *rand.Rand, big bool) vsync.LogEntry {
	e := vsync.LogEntry{Group: testGroups[rnd.Intn(len(testGroups))], Tag: randTag(rnd),
		View: uint64(rnd.Intn(4)), Pos: uint64(rnd.Intn(100)), Rank: rnd.Intn(5) - 1, Idx: rnd.Uint64(),
		Ballot: uint64(rnd.Intn(3))}
	switch rnd.Intn(3) {
	case 0: // an order marker: nil payload
	case 1:
		e.Payload = []byte{}
	default:
		e.Payload = make([]byte, 1+rnd.Intn(30))
		if big {
			e.Payload = make([]byte, 2000+rnd.Intn(2000))
		}
		rnd.Read(e.Payload)
	}
	return e
}

func compareSafe(t *testing.T, l *SafeLog, m *memLog) {
	t.Helper()
	got, err := l.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(m.entries) {
		t.Fatalf("Entries: %d entries, model has %d", len(got), len(m.entries))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], m.entries[i]) {
			t.Fatalf("Entries[%d] = %+v, model %+v", i, got[i], m.entries[i])
		}
	}
}

// TestSafeLogMatchesMemLog runs seeded random Append/Forget sequences on two SafeLogs of one DB and on
// their models, comparing Entries after each operation and after each Close and reopen.
func TestSafeLogMatchesMemLog(t *testing.T) {
	runSeededLogModel(t, 10, 120, 25, func(t *testing.T, rnd *rand.Rand) logModelRun {
		prefixes := []string{"s", "s1"}
		logs := make([]*SafeLog, 2)
		models := []*memLog{{}, {}}
		return logModelRun{
			open: func(db *DB) {
				for i, p := range prefixes {
					var err error
					if logs[i], err = db.SafeLog(p); err != nil {
						t.Fatalf("reopen %s: %v", p, err)
					}
				}
			},
			step: func(note func(string)) {
				i := rnd.Intn(2)
				l, m := logs[i], models[i]
				if rnd.Intn(5) < 3 {
					n := 1 + rnd.Intn(6)
					big := rnd.Intn(10) == 0
					if big {
						n = 60 + rnd.Intn(60) // over Badger's transaction limit: several transactions
					}
					var es []vsync.LogEntry
					for range n {
						es = append(es, randLogEntry(rnd, big))
					}
					note(fmt.Sprintf("%s: Append(%d)", prefixes[i], n))
					m.Append(es)
					if err := l.Append(es); err != nil {
						t.Fatal(err)
					}
				} else {
					g := testGroups[rnd.Intn(len(testGroups))]
					var tags []vsync.Tag
					for range rnd.Intn(5) {
						tags = append(tags, randTag(rnd))
					}
					note(fmt.Sprintf("%s: Forget(%q, %v)", prefixes[i], g, tags))
					m.Forget(g, tags)
					if err := l.Forget(g, tags); err != nil {
						t.Fatal(err)
					}
				}
				compareSafe(t, l, m)
			},
			checkAll: func() {
				for i := range logs {
					compareSafe(t, logs[i], models[i])
				}
			},
		}
	})
}

// TestSafeLogSeqContinues: appends after a reopen come after the stored ones, even when the oldest
// were forgotten.
func TestSafeLogSeqContinues(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l, err := db.SafeLog("s")
	if err != nil {
		t.Fatal(err)
	}
	m := &memLog{}
	e := func(seq uint64) vsync.LogEntry {
		return vsync.LogEntry{Group: "g", Tag: vsync.Tag{Sender: "a", Seq: seq}, Payload: []byte{byte(seq)}}
	}
	for _, x := range []uint64{1, 2, 3} {
		m.Append([]vsync.LogEntry{e(x)})
		if err := l.Append([]vsync.LogEntry{e(x)}); err != nil {
			t.Fatal(err)
		}
	}
	m.Forget("g", []vsync.Tag{{Sender: "a", Seq: 1}})
	if err := l.Forget("g", []vsync.Tag{{Sender: "a", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	if l, err = db.SafeLog("s"); err != nil {
		t.Fatal(err)
	}
	m.Append([]vsync.LogEntry{e(4)})
	if err := l.Append([]vsync.LogEntry{e(4)}); err != nil {
		t.Fatal(err)
	}
	compareSafe(t, l, m)
	if _, err := db.SafeLog("s"); !errors.Is(err, ErrInUse) {
		t.Fatalf("second SafeLog(s): %v, want ErrInUse", err)
	}
}

var codecCases = []vsync.LogEntry{
	{},
	{Group: "g", Tag: vsync.Tag{Sender: "n1#1", Seq: 7}, Payload: []byte("hello"), View: 3, Pos: 9, Rank: 2, Idx: 11},
	{Group: "g", Tag: vsync.Tag{Sender: "n1#1", Seq: 7}, Payload: []byte{}, View: 3},
	{Group: "g", Tag: vsync.Tag{Sender: "n1#1", Seq: 7}, View: 3, Pos: 9, Ballot: vsync.BallotSequencer + 2},
	{Group: "ü", Tag: vsync.Tag{Sender: "", Seq: math.MaxUint64}, Rank: -1, Idx: math.MaxUint64, View: math.MaxUint64,
		Pos: math.MaxUint64, Ballot: math.MaxUint64},
	{Rank: math.MinInt},
	{Rank: math.MaxInt},
}

// TestLogEntryCodec: round trips (nil and empty payloads stay distinct), and every truncation or
// extension of a valid encoding is rejected with ErrCorrupt.
func TestLogEntryCodec(t *testing.T) {
	for i, e := range codecCases {
		b := encodeLogEntry(nil, e)
		got, err := decodeLogEntry(b)
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("case %d: decode(encode(%+v)) = %+v, %v", i, e, got, err)
		}
		for n := range len(b) {
			if _, err := decodeLogEntry(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("case %d: truncated to %d bytes: %v, want ErrCorrupt", i, n, err)
			}
		}
		if _, err := decodeLogEntry(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("case %d: trailing byte: %v, want ErrCorrupt", i, err)
		}
	}
	for _, b := range [][]byte{{2}, {1, 0, 0, 0, 2}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodeLogEntry(b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decode(%x): %v, want ErrCorrupt", b, err)
		}
	}
}

// FuzzDecodeLogEntry: the decoder never panics; what it accepts re-encodes to something it decodes to
// the same entry; what it rejects wraps ErrCorrupt.
func FuzzDecodeLogEntry(f *testing.F) {
	for _, e := range codecCases {
		f.Add(encodeLogEntry(nil, e))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0x80})
	f.Add([]byte{1, 5, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeLogEntry(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode(%x): %v does not wrap ErrCorrupt", b, err)
			}
			return
		}
		again, err := decodeLogEntry(encodeLogEntry(nil, e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("decode(%x) = %+v, but its re-encoding decodes to %+v, %v", b, e, again, err)
		}
	})
}

// TestSafeLogConcurrentAppend: drivers of several groups append and forget at once (run with -race);
// each group's entries stay in its own append order.
func TestSafeLogConcurrentAppend(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	l, err := db.SafeLog("s")
	if err != nil {
		t.Fatal(err)
	}
	const groups, per = 4, 20
	errs := make(chan error, groups)
	for g := range groups {
		go func() {
			var err error
			for i := range per {
				e := vsync.LogEntry{Group: fmt.Sprint("g", g), Tag: vsync.Tag{Sender: "a", Seq: uint64(i)}, Payload: []byte{byte(i)}}
				if err = l.Append([]vsync.LogEntry{e}); err != nil {
					break
				}
				if i%2 == 1 {
					if err = l.Forget(e.Group, []vsync.Tag{e.Tag}); err != nil {
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range groups {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Entries()
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]uint64{}
	for _, e := range got {
		if e.Tag.Seq%2 != 0 || e.Tag.Seq != next[e.Group] {
			t.Fatalf("group %s: entry %d, want %d", e.Group, e.Tag.Seq, next[e.Group])
		}
		next[e.Group] += 2
	}
	if len(got) != groups*per/2 {
		t.Fatalf("%d entries, want %d", len(got), groups*per/2)
	}
}
