package check

/*
SafeSendDurability checks SafeSend's Paxos-like guarantees (DESIGN §3.1 "SafeSend", seed-groups §10,
seed-model §12.4). Acceptors log a SafeSend durably before acknowledging it (the simulator emits
SafeLogged when the write is durable); the sequencer orders it only after Φ acknowledgements; a
SafeSend any surviving acceptor logged is part of the flush; after a total failure the acceptor logs
are replayed, in order, as deliveries in the restart view with their original tags (sender, seq).

Rules, for each "safe" message m of group g:
 1. Logged before delivered: some member SafeLogged m before its first delivery anywhere.
 2. Uniform agreement: if any member delivered m in view v (even one that crashed the instant it
    delivered) and an acceptor that logged m survives v (installs a later view of g), then every
    member of view v that survives v delivered m in v. Unlike Send/OrderedSend, a crashed deliverer
    is not exempt: its delivery obliges the survivors. With the default Φ (all members) every
    survivor is such an acceptor; with Φ < n, if every acceptor of m fails, the survivors cannot know
    m and are exempt (DESIGN §3.1: "a SafeSend any surviving acceptor logged is part of the flush").
 3. Total-failure recovery: call a view w of g a restart view when g had earlier views and no member of
    w installed any earlier view of g (every member of the previous views is gone). If m was delivered
    before w was first installed, was SafeLogged (before that) by an incarnation of a process that has
    an incarnation in w and did not forget it since (no SafeForgotten by that process before w: its
    log entry survived the restart), and one such log holder survives w, then every member of w that
    survives w delivered m in w (the replay happens in the restart view).

Exemptions: members that crash (or otherwise do not install a later view) are not obliged by rules 2
and 3, nor is anyone when no holder of m's log survives; a history that ends inside a view obliges
nobody in that view. Log truncation is visible only through the optional SafeForgotten event, so rule
3 assumes an acceptor keeps a logged entry until it reports forgetting it. Replayed deliveries are
recognised as in NoDeliveryFromOutsideView.
*/

// SafeSendDurability checks that safe messages are logged before delivery, are delivered by every
// survivor of their view once anyone delivered them, and are replayed in a restart view after a total
// failure when an acceptor's log survived.
func SafeSendDurability(history []Event) []Violation { return safeSendDurability(buildIndex(history)) }

func safeSendDurability(ix *index) []Violation {
	c := &collector{name: NameSafeSendDurability}
	var safe []*msgInfo
	safeByGroup := make(map[string][]*msgInfo)
	for _, mi := range ix.msgList {
		if mi.flavour == FlavourSafe && len(mi.deliveries) > 0 {
			safe = append(safe, mi)
			safeByGroup[mi.key.group] = append(safeByGroup[mi.key.group], mi)
		}
	}
	// deliveredIn returns the (member, view) pairs in which the message was delivered.
	deliveredIn := func(mi *msgInfo) map[memberView]bool {
		out := make(map[memberView]bool, len(mi.deliveries))
		for _, i := range mi.deliveries {
			out[memberView{ix.h[i].Member, ix.h[i].ViewID}] = true
		}
		return out
	}
	byMsg := make(map[msgKey]map[memberView]bool, len(safe))
	for _, mi := range safe {
		d0 := &ix.h[mi.deliveries[0]]
		if len(mi.logs) == 0 || mi.logs[0] > mi.deliveries[0] {
			c.addf("%s delivered %s in view %d of %s (step %d) before any acceptor logged it",
				d0.Member, ix.describeMsg(mi.key), d0.ViewID, d0.Group, d0.Step)
		}
		dm := deliveredIn(mi)
		byMsg[mi.key] = dm
		done := make(map[uint64]bool)
		for _, i := range mi.deliveries {
			e := &ix.h[i]
			if done[e.ViewID] || ix.isReplay(i) {
				continue
			}
			done[e.ViewID] = true
			vi := ix.views[viewKey{e.Group, e.ViewID}]
			if vi == nil {
				continue // NoDeliveryFromOutsideView reports it
			}
			acceptorSurvives := false
			for _, li := range mi.logs {
				if ix.survives(e.Group, ix.h[li].Member, e.ViewID) {
					acceptorSurvives = true
					break
				}
			}
			if !acceptorSurvives {
				continue
			}
			for _, m := range vi.members {
				if ix.survives(e.Group, m, e.ViewID) && !dm[memberView{m, e.ViewID}] {
					c.addf("%s delivered %s in view %d of %s, but %s survived that view without delivering it",
						e.Member, ix.describeMsg(mi.key), e.ViewID, e.Group, m)
				}
			}
		}
	}
	// Rule 3: restart views.
	for _, g := range ix.groups {
		ids := ix.groupIDs[g]
		for n, w := range ids {
			if n == 0 {
				continue
			}
			vw := ix.views[viewKey{g, w}]
			if !isRestartView(ix, g, w, vw) {
				continue
			}
			procs := make(map[string]string) // process -> its member in w
			for _, m := range vw.members {
				procs[process(m)] = m
			}
			for _, mi := range safeByGroup[g] {
				if mi.deliveries[0] > vw.firstIdx {
					continue
				}
				holderSurvives := false
				var holder string
				for _, li := range mi.logs {
					if li > vw.firstIdx {
						break
					}
					p := process(ix.h[li].Member)
					if m, ok := procs[p]; ok && ix.survives(g, m, w) && !forgotten(ix, mi, p, li, vw.firstIdx) {
						holderSurvives, holder = true, m
						break
					}
				}
				if !holderSurvives {
					continue
				}
				dm := byMsg[mi.key]
				for _, m := range vw.members {
					if ix.survives(g, m, w) && !dm[memberView{m, w}] {
						c.addf("%s was delivered before the total failure and %s holds its log, but %s survived restart view %d of %s without delivering it",
							ix.describeMsg(mi.key), holder, m, w, g)
					}
				}
			}
		}
	}
	return c.result()
}

// forgotten reports whether an incarnation of process p removed its log entry of mi (SafeForgotten)
// between history positions from and to.
func forgotten(ix *index, mi *msgInfo, p string, from, to int) bool {
	for _, fi := range mi.forgets {
		if fi > from && fi < to && process(ix.h[fi].Member) == p {
			return true
		}
	}
	return false
}

// memberView is one member in one view.
type memberView struct {
	member string
	view   uint64
}

// isRestartView reports whether no member of view w of g installed an earlier view of g.
func isRestartView(ix *index, g string, w uint64, vw *viewInfo) bool {
	for _, m := range vw.members {
		ins := ix.installs[memberKey{g, m}]
		if len(ins) > 0 && ins[0].id < w {
			return false
		}
	}
	return true
}
