package check

/*
FlushSemantics checks what Flush() and Flush(k) promise, in terms a history of deliveries can judge.

Stability in vsdb is receive-based (DESIGN §3.1: members piggyback receive frontiers; a message is
stable once every frontier covers it), and the history has no receive events. So when Flush(k) returns
at member s at history position t, the covered messages are known to have *reached* k members
(counting s; k = 0: every member of the view that had not crashed by t), not to have been delivered
there: an OrderedSend can be received and still wait for its order. Counting deliveries with position
≤ t would therefore reject a correct implementation. What the history can judge is the consequence the
manual promises (seed-model §3.5, seed-groups §5): once Flush has returned, the covered messages are
"delivered to the application and hence durable" — a crash of the sender, or of any set of members
that cannot contain all the holders, does not erase them from the survivors.

The exact rule, for a FlushReturned event of member s in view vf of group g with k and covered
sequence numbers Q, and each q in Q, message m = (g, s, q) delivered in view V (V = vf if nobody
delivered it):
 1. V ≤ vf: a message covered by a flush in vf cannot first be delivered in a later view.
 2. V < vf: s survived V, so s itself delivered m (in V).
 3. V = vf: let members = the member list of vf, alive = those with no crash before t, survivors =
    members that install a later view of g (a survivor is necessarily alive at t).
      - k = 0: every member alive at t holds m, so every survivor holds it.
      - k ≥ 1: some k' = min(k, |alive|) members of vf hold m (possibly members that acknowledged
        and crashed before t). If fewer than k' members of vf fail to survive vf, a holder survives.
    When a holder survives, every survivor delivered m in vf (the view-change flush hands every
    message any survivor received to all survivors).
Exemptions: when no member of vf survives vf (the history ends in vf, or everyone crashed) rule 3
obliges nobody. "Survive" counts a graceful leave as a failure, which only weakens the rule.
The covered sequence numbers are taken as given: the history cannot tell which of s's messages were
pending when Flush was called.
*/

// FlushSemantics checks that messages covered by a returned Flush()/Flush(k) are delivered by every
// survivor of their view whenever the crashes that followed could not have removed all the members
// holding them (see the block comment above for the exact rule).
func FlushSemantics(history []Event) []Violation { return flushSemantics(buildIndex(history)) }

func flushSemantics(ix *index) []Violation {
	c := &collector{name: NameFlushSemantics}
	for _, t := range ix.flushes {
		f := &ix.h[t]
		vf := ix.views[viewKey{f.Group, f.ViewID}]
		for _, q := range f.FlushWaitedFor {
			k := msgKey{f.Group, f.Member, q}
			mi := ix.msgs[k]
			V := f.ViewID
			delivered := make(map[string]bool) // members that delivered m in V
			if mi != nil {
				for _, i := range mi.deliveries {
					if !ix.isReplay(i) {
						V = ix.h[i].ViewID
						break
					}
				}
				for _, i := range mi.deliveries {
					if e := &ix.h[i]; e.ViewID == V {
						delivered[e.Member] = true
					}
				}
			}
			switch {
			case V > f.ViewID:
				c.addf("Flush(%d) returned at %s in view %d of %s covering %s, which is delivered only in later view %d",
					f.K, f.Member, f.ViewID, f.Group, ix.describeMsg(k), V)
			case V < f.ViewID:
				if !delivered[f.Member] {
					c.addf("Flush(%d) returned at %s in view %d of %s covering %s of view %d, which the sender never delivered",
						f.K, f.Member, f.ViewID, f.Group, ix.describeMsg(k), V)
				}
			case vf != nil:
				checkFlushInView(ix, c, t, vf, k, delivered)
			}
		}
	}
	return c.result()
}

func checkFlushInView(ix *index, c *collector, t int, vf *viewInfo, k msgKey, delivered map[string]bool) {
	f := &ix.h[t]
	var survivors []string
	alive, failures := 0, 0
	for _, m := range vf.members {
		if ci := ix.crashIdx(f.Group, m); ci < 0 || ci > t {
			alive++
		}
		if ix.survives(f.Group, m, f.ViewID) {
			survivors = append(survivors, m)
		} else {
			failures++
		}
	}
	if f.K > 0 && failures >= min(f.K, alive) {
		return // every holder may be among the failed members
	}
	for _, m := range survivors {
		if !delivered[m] {
			c.addf("Flush(%d) returned at %s (step %d) in view %d of %s covering %s, but %s survived the view without delivering it (members %v, %d did not survive)",
				f.K, f.Member, f.Step, f.ViewID, f.Group, ix.describeMsg(k), m, vf.members, failures)
		}
	}
}
