package check

/*
NoDeliveryFromOutsideView checks virtually synchronous addressing (DESIGN §2, seed-model §12.2–12.3):

  - A delivery in view v of group g is from a sender that is a member of view (g, v): messages of a
    member excluded from the view (firewalled) or of a stranger are never delivered.
  - The delivering member is in view v when it delivers: it has installed v, v is its latest installed
    view of g, and view (g, v) was installed by someone (so its member list is known).

Exemption: a SafeSend replayed from an acceptor log after a total failure keeps its original sender,
which is not in the restart view; a "safe" delivery from a sender outside the view is accepted when an
acceptor logged that message (SafeLogged) earlier in the history. SafeSendDurability checks replays.
*/

// NoDeliveryFromOutsideView checks that every delivery in view v comes from a member of v and happens
// while the delivering member is in v.
func NoDeliveryFromOutsideView(history []Event) []Violation {
	return noDeliveryFromOutsideView(buildIndex(history))
}

func noDeliveryFromOutsideView(ix *index) []Violation {
	c := &collector{name: NameNoDeliveryFromOutsideView}
	for _, mk := range ix.memberOrder {
		ins := ix.installs[mk]
		j := -1 // index into ins of the member's current view
		for _, i := range ix.deliveries[mk] {
			for j+1 < len(ins) && ins[j+1].idx < i {
				j++
			}
			e := &ix.h[i]
			k := msgKey{e.Group, e.Sender, e.SenderSeq}
			vi := ix.views[viewKey{e.Group, e.ViewID}]
			switch {
			case j < 0:
				c.addf("%s delivered %s in view %d of %s before installing any view of it",
					e.Member, ix.describeMsg(k), e.ViewID, e.Group)
			case ins[j].id != e.ViewID:
				c.addf("%s delivered %s tagged view %d of %s while its current view is %d",
					e.Member, ix.describeMsg(k), e.ViewID, e.Group, ins[j].id)
			}
			if vi == nil {
				c.addf("%s delivered %s in view %d of %s, which nobody installed",
					e.Member, ix.describeMsg(k), e.ViewID, e.Group)
				continue
			}
			if !vi.memberSet[e.Sender] && !ix.isReplay(i) {
				c.addf("%s delivered %s in view %d of %s, but the sender is not a member of that view %v",
					e.Member, ix.describeMsg(k), e.ViewID, e.Group, vi.members)
			}
		}
	}
	return c.result()
}
