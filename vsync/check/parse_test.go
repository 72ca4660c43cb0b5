package check

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// parseHistory builds a history from a compact script, one command per line, each line one step.
// Group "g" unless a token "@G" ends the line. Commands:
//
//	view ID M1,M2,… [by X,Y,…]      ViewInstalled by each installer (default: every member)
//	d X[,Y…] V S:Q[,S:Q…] FLAVOUR [decided]
//	                                Delivered at X (then Y…) in view V, in the listed order (decided: by a
//	                                flush decision)
//	log X V S:Q                     SafeLogged at X
//	forget X V S:Q                  SafeForgotten at X
//	crash X [all]                   Crashed (group-specific, or process-wide with "all")
//	restart X                       Restarted (new incarnation X)
//	flush X V K Q1,Q2,…             FlushReturned at X
func parseHistory(t testing.TB, script string) []Event {
	t.Helper()
	var h []Event
	for n, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		group := "g"
		if last := f[len(f)-1]; strings.HasPrefix(last, "@") {
			group = last[1:]
			f = f[:len(f)-1]
		}
		step := int64(n + 1)
		fail := func(msg string) { t.Fatalf("script line %d %q: %s", n+1, line, msg) }
		u := func(s string) uint64 {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				fail(err.Error())
			}
			return v
		}
		msg := func(s string) (string, uint64) {
			j := strings.LastIndexByte(s, ':')
			if j < 0 {
				fail("want S:Q, got " + s)
			}
			return s[:j], u(s[j+1:])
		}
		switch f[0] {
		case "view":
			members := strings.Split(f[2], ",")
			installers := members
			if len(f) == 5 && f[3] == "by" {
				installers = strings.Split(f[4], ",")
			}
			for _, x := range installers {
				h = append(h, Event{Step: step, Member: x, Group: group, Kind: ViewInstalled, ViewID: u(f[1]), Members: members})
			}
		case "d":
			for _, x := range strings.Split(f[1], ",") {
				for _, m := range strings.Split(f[3], ",") {
					s, q := msg(m)
					h = append(h, Event{Step: step, Member: x, Group: group, Kind: Delivered, ViewID: u(f[2]), Sender: s,
						SenderSeq: q, Flavour: f[4], Decided: len(f) > 5 && f[5] == "decided"})
				}
			}
		case "log":
			s, q := msg(f[3])
			h = append(h, Event{Step: step, Member: f[1], Group: group, Kind: SafeLogged, ViewID: u(f[2]), Sender: s, SenderSeq: q, Flavour: FlavourSafe})
		case "forget":
			s, q := msg(f[3])
			h = append(h, Event{Step: step, Member: f[1], Group: group, Kind: SafeForgotten, ViewID: u(f[2]), Sender: s, SenderSeq: q})
		case "crash":
			g := group
			if len(f) == 3 && f[2] == "all" {
				g = ""
			}
			h = append(h, Event{Step: step, Member: f[1], Group: g, Kind: Crashed})
		case "restart":
			h = append(h, Event{Step: step, Member: f[1], Kind: Restarted})
		case "flush":
			var qs []uint64
			for _, q := range strings.Split(f[4], ",") {
				qs = append(qs, u(q))
			}
			k, err := strconv.Atoi(f[3])
			if err != nil {
				fail(err.Error())
			}
			h = append(h, Event{Step: step, Member: f[1], Group: group, Kind: FlushReturned, ViewID: u(f[2]), K: k, FlushWaitedFor: qs})
		default:
			fail(fmt.Sprintf("unknown command %q", f[0]))
		}
	}
	return h
}
