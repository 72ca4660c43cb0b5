package membership

import (
	"reflect"
	"testing"

	"github.com/vsdb/vsdb/vsync"
)

func req(op vsync.OracleOp, member string, extra ...any) vsync.OracleRequest {
	r := vsync.OracleRequest{Op: op, Group: "g", Member: member}
	for _, e := range extra {
		switch v := e.(type) {
		case string:
			r.Target = v
		case [2]uint64:
			r.View, r.Attempt = v[0], v[1]
		}
	}
	return r
}

// TestClusterMap walks the map through the membership rules step by step.
func TestClusterMap(t *testing.T) {
	type want struct {
		view    []string
		viewID  uint64
		next    []string // nil: no change in progress
		attempt uint64
		coord   string
		restart bool
	}
	steps := []struct {
		name string
		req  vsync.OracleRequest
		want want
	}{
		{"first join creates the group", req(vsync.OpJoin, "a#1"), want{view: []string{"a#1"}, viewID: 1, restart: true}},
		{"second join starts a change", req(vsync.OpJoin, "b#1"), want{view: []string{"a#1"}, viewID: 1,
			next: []string{"a#1", "b#1"}, attempt: 1, coord: "a#1", restart: true}},
		{"joins during a change wait", req(vsync.OpJoin, "c#1"), want{view: []string{"a#1"}, viewID: 1,
			next: []string{"a#1", "b#1"}, attempt: 1, coord: "a#1", restart: true}},
		{"another waits with it", req(vsync.OpJoin, "d#1"), want{view: []string{"a#1"}, viewID: 1,
			next: []string{"a#1", "b#1"}, attempt: 1, coord: "a#1", restart: true}},
		{"stale flush-done is ignored", req(vsync.OpFlushDone, "a#1", [2]uint64{1, 7}), want{view: []string{"a#1"}, viewID: 1,
			next: []string{"a#1", "b#1"}, attempt: 1, coord: "a#1", restart: true}},
		{"flush-done installs; the waiting joins enter together", req(vsync.OpFlushDone, "a#1", [2]uint64{1, 1}),
			want{view: []string{"a#1", "b#1"}, viewID: 2, next: []string{"a#1", "b#1", "c#1", "d#1"}, attempt: 1, coord: "a#1"}},
		{"coordinator suspected: new attempt, next survivor", req(vsync.OpSuspect, "b#1", "a#1"),
			want{view: []string{"a#1", "b#1"}, viewID: 2, next: []string{"b#1", "c#1", "d#1"}, attempt: 2, coord: "b#1"}},
		{"flush-done from the old coordinator is ignored", req(vsync.OpFlushDone, "a#1", [2]uint64{2, 1}),
			want{view: []string{"a#1", "b#1"}, viewID: 2, next: []string{"b#1", "c#1", "d#1"}, attempt: 2, coord: "b#1"}},
		{"new coordinator finishes", req(vsync.OpFlushDone, "b#1", [2]uint64{2, 2}),
			want{view: []string{"b#1", "c#1", "d#1"}, viewID: 3}},
		{"retired incarnation cannot rejoin", req(vsync.OpJoin, "a#1"), want{view: []string{"b#1", "c#1", "d#1"}, viewID: 3}},
		{"restarted process: old incarnation fails", req(vsync.OpJoin, "c#2"),
			want{view: []string{"b#1", "c#1", "d#1"}, viewID: 3, next: []string{"b#1", "d#1"}, attempt: 1, coord: "b#1"}},
		{"leave waits for the change", req(vsync.OpLeave, "d#1"),
			want{view: []string{"b#1", "c#1", "d#1"}, viewID: 3, next: []string{"b#1", "d#1"}, attempt: 1, coord: "b#1"}},
		{"install; leave and join go together", req(vsync.OpFlushDone, "b#1", [2]uint64{3, 1}),
			want{view: []string{"b#1", "d#1"}, viewID: 4, next: []string{"b#1", "c#2"}, attempt: 1, coord: "b#1"}},
		{"every survivor suspected: restart view of the joiners", req(vsync.OpSuspect, "c#2", "b#1"),
			want{view: []string{"c#2"}, viewID: 5, restart: true}},
	}
	c := NewClusterMap()
	for _, s := range steps {
		c.Apply(s.req)
		g := c.Groups["g"]
		rec := g.Record
		got := want{view: rec.View.Members, viewID: rec.View.ID, restart: rec.Restart}
		if rec.Change != nil {
			got.next, got.attempt, got.coord = rec.Change.Next, rec.Change.Attempt, rec.Change.Coordinator
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", s.name, got, s.want)
		}
	}
}

func TestValidMatchesApply(t *testing.T) {
	// Valid must say true exactly when Apply changes something, for a spread of requests.
	c := NewClusterMap()
	reqs := []vsync.OracleRequest{
		req(vsync.OpJoin, "a#1"), req(vsync.OpJoin, "a#1"), req(vsync.OpJoin, "b#1"), req(vsync.OpLeave, "x#1"),
		req(vsync.OpSuspect, "x#1", "a#1"), req(vsync.OpFlushDone, "a#1", [2]uint64{1, 1}), req(vsync.OpJoin, "b#1"),
		req(vsync.OpLeave, "b#1"), req(vsync.OpLeave, "b#1"), req(vsync.OpSuspect, "a#1", "b#1"),
		req(vsync.OpFlushDone, "a#1", [2]uint64{2, 2}), req(vsync.OpJoin, "b#1"), req(vsync.OpJoin, "b#2"),
	}
	for i, r := range reqs {
		valid := c.Valid(r)
		changed := c.Apply(r) != nil
		if valid != changed {
			t.Errorf("request %d %+v: Valid = %v, Apply changed = %v", i, r, valid, changed)
		}
	}
}
