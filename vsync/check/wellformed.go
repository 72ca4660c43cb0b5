package check

/*
HistoryWellFormed checks that the history is a history the other checkers can judge. It is not a
virtual-synchrony property; a violation here is a bug in the emitter (the simulator) or in the
member's bookkeeping, and the other checkers' findings on such a history may be consequences of it.

Rules:
  - every event has a known Kind and a Member; every event but Crashed/Restarted has a Group;
  - Step never decreases along the slice;
  - Delivered, SafeLogged and SafeForgotten name a Sender and a SenderSeq ≥ 1; Delivered has a known Flavour,
    SafeLogged has Flavour "safe" or "";
  - ViewInstalled has at least one member and no member twice; FlushReturned has K ≥ 0 and happens
    in the member's current view (the last view of the group it installed);
  - one message (group, sender, seq) is delivered with one flavour everywhere;
  - a crashed incarnation does nothing afterwards: no event of Member after its Crashed event (in any
    group if the crash has Group "", in that group otherwise);
  - Restarted names a fresh incarnation: a member string that has not appeared before (as a Member,
    in a view's member list or as a Sender).
*/

// HistoryWellFormed checks the shape of the history itself (see the block comment above): known
// kinds, non-decreasing steps, required fields, one flavour per message, nothing after a crash, fresh
// incarnations on restart.
func HistoryWellFormed(history []Event) []Violation { return historyWellFormed(buildIndex(history)) }

func historyWellFormed(ix *index) []Violation {
	c := &collector{name: NameHistoryWellFormed}
	seen := make(map[string]bool)
	var lastStep int64
	current := make(map[memberKey]uint64)
	for i := range ix.h {
		e := &ix.h[i]
		if i > 0 && e.Step < lastStep {
			c.addf("event %d (%s) has step %d after step %d", i, e, e.Step, lastStep)
		}
		lastStep = e.Step
		switch {
		case e.Kind < ViewInstalled || e.Kind > SafeForgotten:
			c.addf("event %d has unknown kind %d", i, uint8(e.Kind))
			continue
		case e.Member == "":
			c.addf("event %d (%s) names no member", i, e)
			continue
		case e.Group == "" && e.Kind != Crashed && e.Kind != Restarted:
			c.addf("event %d (%s) names no group", i, e)
			continue
		}
		if ci := ix.crashIdx(e.Group, e.Member); ci >= 0 && ci < i {
			c.addf("%s acts after its crash at step %d: %s", e.Member, ix.h[ci].Step, e)
		}
		switch e.Kind {
		case Delivered, SafeLogged, SafeForgotten:
			if e.Sender == "" || e.SenderSeq == 0 {
				c.addf("event %d (%s) lacks a sender or a sender sequence number ≥ 1", i, e)
			}
			if e.Kind == SafeForgotten {
				break
			}
			if e.Kind == SafeLogged {
				if e.Flavour != "" && e.Flavour != FlavourSafe {
					c.addf("event %d (%s) logs a non-safe message", i, e)
				}
				break
			}
			if e.Flavour != FlavourSend && e.Flavour != FlavourOrdered && e.Flavour != FlavourSafe {
				c.addf("event %d (%s) has unknown flavour %q", i, e, e.Flavour)
			}
			mi := ix.msgList[ix.evMsg[i]]
			if f := ix.h[mi.deliveries[0]].Flavour; f != e.Flavour {
				c.addf("%s of %s is delivered as %q at %s but as %q elsewhere", mi.key, e.Group, e.Flavour, e.Member, f)
			}
		case ViewInstalled:
			current[memberKey{e.Group, e.Member}] = e.ViewID
			if len(e.Members) == 0 {
				c.addf("%s installs view %d of %s with no members", e.Member, e.ViewID, e.Group)
			}
			dup := make(map[string]bool, len(e.Members))
			for _, m := range e.Members {
				if dup[m] {
					c.addf("view %d of %s installed by %s lists %s twice: %v", e.ViewID, e.Group, e.Member, m, e.Members)
				}
				dup[m] = true
			}
		case FlushReturned:
			if e.K < 0 {
				c.addf("event %d (%s) has negative k", i, e)
			}
			if v, ok := current[memberKey{e.Group, e.Member}]; !ok || v != e.ViewID {
				c.addf("%s: Flush returned in view %d of %s, which is not the member's current view", e.Member, e.ViewID, e.Group)
			}
		case Restarted:
			if seen[e.Member] {
				c.addf("%s restarts as an incarnation that already appeared", e.Member)
			}
		}
		seen[e.Member] = true
		for _, m := range e.Members {
			seen[m] = true
		}
		if e.Sender != "" {
			seen[e.Sender] = true
		}
	}
	return c.result()
}
