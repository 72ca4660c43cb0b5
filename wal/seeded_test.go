package wal

import (
	"fmt"
	"math/rand"
	"testing"
)

// logModelRun is one seed's run of a seeded model test of a log kind (RaftLog, SafeLog).
type logModelRun struct {
	open     func(db *DB)            // (re)opens the logs under test in db
	step     func(note func(string)) // one random operation on a log and its model, noted, then checked
	checkAll func()                  // compares every log with its model
}

// runSeededLogModel is the scaffold the seeded model tests share: for each seed (3 with -short), a
// fresh DB in a temporary directory, the logs opened and checked, then ops random operations with
// a Close and reopen of the DB (and checkAll) after every reopenEvery of them. A failing seed logs
// its last operations.
func runSeededLogModel(t *testing.T, seeds, ops, reopenEvery int, newRun func(t *testing.T, rnd *rand.Rand) logModelRun) {
	if testing.Short() {
		seeds = 3
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			db := openDB(t, dir)
			defer func() { db.Close() }()
			var trail []string
			defer func() {
				if t.Failed() {
					t.Logf("seed %d; last operations: %q", seed, trail[max(0, len(trail)-8):])
				}
			}()
			run := newRun(t, rnd)
			run.open(db)
			run.checkAll()
			for op := range ops {
				run.step(func(line string) { trail = append(trail, line) })
				if op%reopenEvery == reopenEvery-1 {
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
					trail = append(trail, "reopen")
					db = openDB(t, dir)
					run.open(db)
					run.checkAll()
				}
			}
		})
	}
}
