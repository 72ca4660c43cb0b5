package check_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vsdb/vsdb/vsync/check"
)

// A sender flushes, crashes, and the survivors install the next view without its message: the
// flush promised the message would survive the sender's crash.
func ExampleCheckAll() {
	members := []string{"n1#1", "n2#1", "n3#1"}
	h := []check.Event{
		{Step: 1, Member: "n1#1", Group: "g", Kind: check.ViewInstalled, ViewID: 1, Members: members},
		{Step: 1, Member: "n2#1", Group: "g", Kind: check.ViewInstalled, ViewID: 1, Members: members},
		{Step: 1, Member: "n3#1", Group: "g", Kind: check.ViewInstalled, ViewID: 1, Members: members},
		{Step: 2, Member: "n1#1", Group: "g", Kind: check.Delivered, ViewID: 1, Sender: "n1#1", SenderSeq: 1, Flavour: check.FlavourSend},
		{Step: 3, Member: "n1#1", Group: "g", Kind: check.FlushReturned, ViewID: 1, FlushWaitedFor: []uint64{1}},
		{Step: 4, Member: "n1#1", Kind: check.Crashed},
		{Step: 5, Member: "n2#1", Group: "g", Kind: check.ViewInstalled, ViewID: 2, Members: members[1:]},
		{Step: 5, Member: "n3#1", Group: "g", Kind: check.ViewInstalled, ViewID: 2, Members: members[1:]},
	}
	for _, v := range check.CheckAll(h) {
		fmt.Println(v)
	}
	// Output:
	// FlushSemantics: Flush(0) returned at n1#1 (step 3) in view 1 of g covering send n1#1:1, but n2#1 survived the view without delivering it (members [n1#1 n2#1 n3#1], 1 did not survive)
	// FlushSemantics: Flush(0) returned at n1#1 (step 3) in view 1 of g covering send n1#1:1, but n3#1 survived the view without delivering it (members [n1#1 n2#1 n3#1], 1 did not survive)
}

// The same history gives the same report, in the same order, every time (a replayed seed prints
// what the failing run printed).
func TestReportIsDeterministic(t *testing.T) {
	var h []check.Event
	ms := []string{"a", "b", "c", "d"}
	for _, m := range ms {
		h = append(h, check.Event{Step: 1, Member: m, Group: "g", Kind: check.ViewInstalled, ViewID: 1, Members: ms})
	}
	for i, m := range ms {
		for q := uint64(1); q <= 5; q++ {
			// every member sees a different subset and order of ordered messages from strangers
			s := ms[(i+int(q))%len(ms)]
			if (i+int(q))%3 == 0 {
				s = "zz"
			}
			h = append(h, check.Event{Step: 2, Member: m, Group: "g", Kind: check.Delivered, ViewID: 1, Sender: s, SenderSeq: (q*7 + uint64(i)) % 5, Flavour: check.FlavourOrdered})
		}
	}
	for _, m := range ms[:3] {
		h = append(h, check.Event{Step: 3, Member: m, Group: "g", Kind: check.ViewInstalled, ViewID: 2, Members: ms[:3]})
	}
	first := check.CheckAll(h)
	if len(first) < 5 {
		t.Fatalf("want a history with many violations, got %v", first)
	}
	for i := 0; i < 20; i++ {
		if again := check.CheckAll(h); !slices.Equal(again, first) {
			t.Fatalf("run %d differs:\n%v\nvs\n%v", i, again, first)
		}
	}
}
