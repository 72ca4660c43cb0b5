package check

import (
	"fmt"
	"strings"
	"testing"
)

type checkerCase struct {
	name   string
	script string
	// want is "" for a history every checker must pass, else a substring of a violation the
	// checker under test must report.
	want string
}

// runCheckerCases runs one checker's table: passing histories must pass CheckAll entirely (so the
// other checkers agree they are correct); failing ones must be caught by the checker under test.
func runCheckerCases(t *testing.T, checker func([]Event) []Violation, name string, cases []checkerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := parseHistory(t, tc.script)
			if tc.want == "" {
				if vs := CheckAll(h); len(vs) != 0 {
					t.Fatalf("correct history reported: %v", vs)
				}
				return
			}
			vs := checker(h)
			if len(vs) == 0 {
				t.Fatalf("%s did not catch the broken history", name)
			}
			found := false
			for _, v := range vs {
				if v.Checker != name {
					t.Fatalf("violation from %q, want %q: %v", v.Checker, name, v)
				}
				found = found || strings.Contains(v.Detail, tc.want)
			}
			if !found {
				t.Fatalf("no violation mentions %q: %v", tc.want, vs)
			}
			t.Logf("caught: %v", vs)
		})
	}
}

func TestViewAgreement(t *testing.T) {
	runCheckerCases(t, ViewAgreement, NameViewAgreement, []checkerCase{
		{name: "crash shrinks the view", script: `
			view 1 a,b,c
			crash c
			view 2 a,b`},
		{name: "join appends", script: `
			view 1 a
			view 2 a,b
			view 3 a,b,c`},
		{name: "two groups number views independently", script: `
			view 1 a,b
			view 1 b @h
			view 7 b,a @h`},
		{name: "different member lists for one view", want: "installed members [a b] but b installed [a c]", script: `
			view 1 a,b by a
			view 1 a,c by b`},
		{name: "same members in another rank order", want: "installed members", script: `
			view 1 a,b by a
			view 1 b,a by b`},
		{name: "view ids go backwards", want: "must strictly increase", script: `
			view 2 a
			view 1 a`},
		{name: "installs a view without itself", want: "does not list it", script: `
			view 1 a,b by a,b,c`},
		{name: "skips a view that lists it", want: "skipping view 2", script: `
			view 1 a,b
			view 2 a,b by a
			view 3 a,b`},
	})
}

func TestSameDeliveredSetBetweenViews(t *testing.T) {
	runCheckerCases(t, SameDeliveredSetBetweenViews, NameSameDeliveredSetBetweenViews, []checkerCase{
		{name: "everyone delivers everything", script: `
			view 1 a,b,c
			d a 1 a:1,b:1 send
			d b 1 b:1,a:1 send
			d c 1 a:1,b:1 send
			view 2 a,b,c`},
		{name: "a crashed member's extra delivery is not owed", script: `
			view 1 a,b,c
			d c 1 c:1 send
			crash c all
			view 2 a,b`},
		{name: "joiner delivers nothing of the old view", script: `
			view 1 a,b
			d a 1 a:1 ordered
			d b 1 a:1 ordered
			view 2 a,b,c
			d c 2 a:2 ordered
			d a 2 a:2 ordered
			d b 2 a:2 ordered
			view 3 a,b,c`},
		{name: "survivor misses a message", want: "only a: send a:1", script: `
			view 1 a,b
			d a 1 a:1 send
			view 2 a,b`},
		{name: "send delivered in two views", want: "delivered in view 1 at a but in view 2 at b", script: `
			view 1 a,b
			d a 1 a:1 send
			view 2 a,b
			d b 2 a:1 send`},
	})
}

func TestTotalOrderAgreement(t *testing.T) {
	runCheckerCases(t, TotalOrderAgreement, NameTotalOrderAgreement, []checkerCase{
		{name: "same order", script: `
			view 1 a,b
			d a 1 a:1,b:1,a:2 ordered
			d b 1 a:1,b:1,a:2 ordered`},
		{name: "safe and ordered share the order", script: `
			view 1 a,b
			log a 1 b:2
			d a 1 a:1 ordered
			d a 1 b:2 safe
			d b 1 a:1 ordered
			d b 1 b:2 safe`},
		{name: "sends may interleave differently", script: `
			view 1 a,b
			d a 1 a:1,b:1 send
			d b 1 b:1,a:1 send`},
		{name: "two members disagree", want: "b delivers ordered b:1 before ordered a:1", script: `
			view 1 a,b
			d a 1 a:1,b:1 ordered
			d b 1 b:1,a:1 ordered`},
		{name: "cycle over three members", want: "no single total order", script: `
			view 1 a,b,c
			d a 1 x:1,y:1 ordered
			d b 1 y:1,z:1 ordered
			d c 1 z:1,x:1 ordered`},
		{name: "ordered delivered in two views", want: "in view 1 at a but in view 2 at b", script: `
			view 1 a,b
			d a 1 a:1 ordered
			crash a
			view 2 b
			d b 2 a:1 ordered`},
		// Total failure: c#1 alone delivered a#1:1 and b#1:1 by a flush decision nobody else logged;
		// the restart's founder only had the sequencer's tentative order. Replays are new deliveries
		// of the restart epoch, so only messages whose order every member knew are held to it.
		{name: "replay reorders messages only a flush decision placed", script: totalFailure("decided", "b#1:1,a#1:1")},
		{name: "replay keeps the order of messages every member knew", script: totalFailure("", "a#1:1,b#1:1")},
		{name: "replay reorders messages every member knew", want: "across a total failure", script: totalFailure("", "b#1:1,a#1:1")},
		{name: "restart epoch members disagree", want: "b#2 delivers safe a#1:1 before safe b#1:1", script: totalFailure("decided", "b#1:1,a#1:1") + `
			view 3 a#2,b#2
			d b#2 3 a#1:1,b#1:1 safe`},
	})
}

// totalFailure is a history of a total failure: view 1's members logged a#1:1 and b#1:1 and c#1
// delivered them (with the given "decided" mark), everyone crashed, and a#2 restarted the group alone
// and replayed them in the order replay.
func totalFailure(decided, replay string) string {
	return fmt.Sprintf(`
			view 1 a#1,b#1,c#1
			log a#1 1 a#1:1
			log b#1 1 a#1:1
			log c#1 1 a#1:1
			log a#1 1 b#1:1
			log b#1 1 b#1:1
			log c#1 1 b#1:1
			d c#1 1 a#1:1,b#1:1 safe %s
			crash a#1 all
			crash b#1 all
			crash c#1 all
			restart a#2
			view 2 a#2
			d a#2 2 %s safe`, decided, replay)
}

func TestFIFOPerSender(t *testing.T) {
	runCheckerCases(t, FIFOPerSender, NameFIFOPerSender, []checkerCase{
		{name: "flavours are separate streams", script: `
			view 1 a,s
			d a 1 s:1 send
			d a 1 s:3 ordered
			d a 1 s:2 send
			d s 1 s:1,s:2 send
			d s 1 s:3 ordered`},
		{name: "gap across a view where the sender failed", script: `
			view 1 a,b,s
			d s 1 s:1,s:2 send
			d a 1 s:1 send
			crash s
			d b 1 s:1 send
			view 2 a,b`},
		{name: "out of order", want: "after s:2", script: `
			view 1 a,s
			d a 1 s:2,s:1 send`},
		{name: "duplicate", want: "twice", script: `
			view 1 a,s
			d a 1 s:1,s:1 ordered`},
		{name: "gap within a view", want: "delivered s:2 but not send s:1", script: `
			view 1 a,b,s
			d a 1 s:1,s:2 send
			d b 1 s:2 send`},
	})
}

func TestNoDeliveryFromOutsideView(t *testing.T) {
	runCheckerCases(t, NoDeliveryFromOutsideView, NameNoDeliveryFromOutsideView, []checkerCase{
		{name: "members only", script: `
			view 1 a,b
			d a 1 b:1 send
			d b 1 b:1 send`},
		{name: "replay after total failure", script: `
			view 1 a#1,b#1
			log a#1 1 a#1:1
			d a#1 1 a#1:1 safe
			d b#1 1 a#1:1 safe
			crash a#1 all
			crash b#1 all
			restart a#2
			restart b#2
			view 2 a#2,b#2
			d a#2 2 a#1:1 safe
			d b#2 2 a#1:1 safe
			view 3 a#2,b#2`},
		{name: "stranger", want: "not a member of that view", script: `
			view 1 a,b
			d a 1 z:1 send`},
		{name: "excluded member's message after the view change", want: "not a member of that view", script: `
			view 1 a,b,c
			view 2 a,b
			d a 2 c:4 ordered`},
		{name: "unlogged safe from outside is no replay", want: "not a member of that view", script: `
			view 1 a,b
			d a 1 z:1 safe`},
		{name: "before any view", want: "before installing any view", script: `
			d a 1 a:1 send
			view 1 a`},
		{name: "delivery tagged with an old view", want: "while its current view is 2", script: `
			view 1 a,b
			view 2 a,b
			d a 1 b:1 send`},
	})
}

func TestSafeSendDurability(t *testing.T) {
	runCheckerCases(t, SafeSendDurability, NameSafeSendDurability, []checkerCase{
		{name: "logged then delivered by all", script: `
			view 1 a,b,c
			log a 1 c:1
			log b 1 c:1
			d a,b,c 1 c:1 safe
			view 2 a,b,c`},
		{name: "lost with every log", script: `
			view 1 a#1,b#1
			log a#1 1 a#1:1
			d a#1 1 a#1:1 safe
			d b#1 1 a#1:1 safe
			crash a#1 all
			crash b#1 all
			restart b#2
			view 2 b#2,c#1
			view 3 b#2,c#1`},
		{name: "every acceptor failed with the deliverer (phi < n)", script: `
			view 1 a,b,c
			log a 1 a:1
			d c 1 a:1 safe
			crash c all
			crash a all
			view 2 b`},
		{name: "the only log entry was forgotten before the total failure", script: `
			view 1 a#1,b#1
			log a#1 1 a#1:1
			d a#1,b#1 1 a#1:1 safe
			forget a#1 1 a#1:1
			crash a#1 all
			crash b#1 all
			restart a#2
			restart b#2
			view 2 a#2,b#2
			view 3 a#2,b#2`},
		{name: "delivered before logged", want: "before any acceptor logged it", script: `
			view 1 a,b
			d a 1 a:1 safe
			log a 1 a:1
			d b 1 a:1 safe`},
		{name: "crashed deliverer obliges the survivors", want: "b survived that view without delivering it", script: `
			view 1 a,b,c
			log a 1 a:1
			d c 1 a:1 safe
			crash c all
			view 2 a,b`},
		{name: "total failure without replay", want: "holds its log", script: `
			view 1 a#1,b#1
			log a#1 1 a#1:1
			d a#1 1 a#1:1 safe
			d b#1 1 a#1:1 safe
			crash a#1 all
			crash b#1 all
			restart a#2
			restart b#2
			view 2 a#2,b#2
			view 3 a#2,b#2`},
	})
	// The same crash pattern with Send is legal (Send is not uniform), so only SafeSend catches it.
	h := parseHistory(t, `
		view 1 a,b,c
		d c 1 a:1 send
		crash c all
		view 2 a,b`)
	if vs := CheckAll(h); len(vs) != 0 {
		t.Fatalf("non-uniform Send loss reported: %v", vs)
	}
	// A safe message lost by every survivor is also a virtual-synchrony violation when another
	// survivor delivered it.
	h = parseHistory(t, `
		view 1 a,b
		log a 1 a:1
		d a 1 a:1 safe
		view 2 a,b`)
	if vs := SameDeliveredSetBetweenViews(h); len(vs) == 0 {
		t.Fatal("VS should also see the lost safe message")
	}
}

func TestFlushSemantics(t *testing.T) {
	runCheckerCases(t, FlushSemantics, NameFlushSemantics, []checkerCase{
		{name: "flush then sender crash", script: `
			view 1 a,b,c
			d a,b,c 1 a:1 send
			flush a 1 0 1
			crash a all
			view 2 b,c`},
		{name: "Flush(1) counts only the sender", script: `
			view 1 a,b,c
			d a 1 a:1 ordered
			flush a 1 1 1
			crash a all
			view 2 b,c`},
		{name: "Flush(2) and both holders crash", script: `
			view 1 a,b,c
			d a 1 a:1 send
			flush a 1 2 1
			crash a all
			crash b all
			view 2 c`},
		{name: "Flush(2) counted a holder that crashed before the return", script: `
			view 1 a,b,c
			d a 1 a:1 send
			crash b all
			flush a 1 2 1
			crash a all
			view 2 c`},
		{name: "history ends in the view", script: `
			view 1 a,b
			flush a 1 0 1`},
		{name: "Flush() then the sender crashes and the message is lost", want: "b survived the view without delivering it", script: `
			view 1 a,b,c
			d a 1 a:1 send
			flush a 1 0 1
			crash a all
			view 2 b,c`},
		{name: "Flush(2) and one crash", want: "survived the view without delivering it", script: `
			view 1 a,b,c
			d a 1 a:1 send
			flush a 1 2 1
			crash a all
			view 2 b,c`},
		{name: "covered message delivered only later", want: "only in later view 2", script: `
			view 1 a,b
			flush a 1 0 1
			view 2 a,b
			d a,b 2 a:1 send`},
		{name: "covered message of an earlier view the sender never delivered", want: "sender never delivered", script: `
			view 1 a,b
			d b 1 a:1 send
			view 2 a,b
			flush a 2 0 1`},
	})
}

func TestHistoryWellFormed(t *testing.T) {
	ok := parseHistory(t, `
		view 1 a#1,b#1
		crash a#1 all
		restart a#2
		view 2 b#1,a#2`)
	if vs := HistoryWellFormed(ok); len(vs) != 0 {
		t.Fatalf("well-formed history reported: %v", vs)
	}
	cases := []struct {
		name string
		h    []Event
		want string
	}{
		{"steps go back", []Event{
			{Step: 5, Member: "a", Group: "g", Kind: ViewInstalled, ViewID: 1, Members: []string{"a"}},
			{Step: 4, Member: "a", Group: "g", Kind: ViewInstalled, ViewID: 2, Members: []string{"a"}},
		}, "after step 5"},
		{"unknown kind", []Event{{Step: 1, Member: "a", Group: "g"}}, "unknown kind"},
		{"no group", []Event{{Step: 1, Member: "a", Kind: Delivered, Sender: "a", SenderSeq: 1, Flavour: "send"}}, "no group"},
		{"bad flavour", parseHistory(t, "view 1 a\nd a 1 a:1 fifo"), "unknown flavour"},
		{"seq zero", parseHistory(t, "view 1 a\nd a 1 a:0 send"), "sequence number"},
		{"flavour mismatch", parseHistory(t, "view 1 a,b\nd a 1 a:1 send\nd b 1 a:1 ordered"), "as \"ordered\" at b"},
		{"acts after crash", parseHistory(t, "view 1 a,b\ncrash a all\nd a 1 b:1 send"), "acts after its crash"},
		{"group crash only stops that group", parseHistory(t, "view 1 a\nview 1 a @h\ncrash a\nd a 1 a:1 send @h\nd a 1 a:1 send"), "acts after its crash"},
		{"restart reuses an incarnation", parseHistory(t, "view 1 a#1\ncrash a#1 all\nrestart a#1"), "already appeared"},
		{"duplicate member", parseHistory(t, "view 1 a,a by a"), "twice"},
		{"negative k", parseHistory(t, "view 1 a\nflush a 1 -1 1"), "negative k"},
		{"flush outside the current view", parseHistory(t, "view 1 a\nview 2 a\nflush a 1 0 1"), "not the member's current view"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := HistoryWellFormed(tc.h)
			if len(vs) == 0 {
				t.Fatalf("not caught")
			}
			for _, v := range vs {
				if strings.Contains(v.Detail, tc.want) {
					return
				}
			}
			t.Fatalf("no violation mentions %q: %v", tc.want, vs)
		})
	}
	// A group-specific crash leaves the process's other groups running.
	h := parseHistory(t, "view 1 a\nview 1 a @h\ncrash a\nd a 1 a:1 send @h")
	if vs := HistoryWellFormed(h); len(vs) != 0 {
		t.Fatalf("other group's events after a group crash reported: %v", vs)
	}
}

func TestViolationCap(t *testing.T) {
	var script strings.Builder
	script.WriteString("view 1 a,b\n")
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&script, "d a 1 z:%d send\n", i)
	}
	vs := NoDeliveryFromOutsideView(parseHistory(t, script.String()))
	if len(vs) != MaxViolationsPerChecker+1 || !strings.Contains(vs[len(vs)-1].Detail, "and 30 more") {
		t.Fatalf("got %d violations, last %v", len(vs), vs[len(vs)-1])
	}
}
