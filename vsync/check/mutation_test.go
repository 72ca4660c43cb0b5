package check

import (
	"slices"
	"testing"
)

/*
Mutation tests: take correct histories from the naive model, break them in one place, and require
the checkers to notice. Each mutation is applied only where the property makes the breakage
detectable in principle (for example a dropped delivery is only wrong when the member survived the
view and another survivor delivered the message), and every such place found is tested.
*/

// mutationSites lists, for one history, where each mutation applies.
type mutationSites struct {
	drop [][2]int // delivery to drop, and another survivor's delivery of the same message
	swap [][2]int // two consecutive ordered/safe deliveries of one member, both delivered elsewhere in that order
	out  []int    // a delivery after which to insert a delivery from a stranger
	// lose: a flushed message whose sender crashed in the view while another member survived it: the
	// survivors' deliveries of it, to remove together.
	lose [][]int
	// unreplayed: every replay delivery of one message in a restart view where a surviving member's
	// process still holds the message's log entry, to remove together.
	unreplayed [][]int
}

func findSites(h []Event) mutationSites {
	ix := buildIndex(h)
	var s mutationSites
	for _, mk := range ix.memberOrder {
		prev := -1
		for _, i := range ix.deliveries[mk] {
			e := &h[i]
			if ix.isReplay(i) {
				prev = -1
				continue
			}
			s.out = append(s.out, i)
			if w, ok := ix.nextView(e.Group, e.Member, e.ViewID); ok {
				for _, j := range ix.msgs[msgKey{e.Group, e.Sender, e.SenderSeq}].deliveries {
					o := &h[j]
					if w2, ok2 := ix.nextView(o.Group, o.Member, o.ViewID); o.Member != e.Member && ok2 && w2 == w {
						s.drop = append(s.drop, [2]int{i, j})
						break
					}
				}
			}
			if e.Flavour == FlavourSend {
				continue
			}
			if prev >= 0 && h[prev].ViewID == e.ViewID && deliveredInOrderElsewhere(ix, h, prev, i) {
				s.swap = append(s.swap, [2]int{prev, i})
			}
			prev = i
		}
	}
	for _, t := range ix.flushes {
		f := &h[t]
		if f.K != 0 || ix.survives(f.Group, f.Member, f.ViewID) {
			continue
		}
		vf := ix.views[viewKey{f.Group, f.ViewID}]
		for _, q := range f.FlushWaitedFor {
			mi := ix.msgs[msgKey{f.Group, f.Member, q}]
			if mi == nil {
				continue
			}
			var del []int
			for _, j := range mi.deliveries {
				if o := &h[j]; o.ViewID == f.ViewID && ix.survives(o.Group, o.Member, o.ViewID) {
					del = append(del, j)
				}
			}
			if len(del) > 0 && vf != nil {
				s.lose = append(s.lose, del)
				break
			}
		}
	}
	for _, vk := range ix.viewOrder {
		vw := ix.views[vk]
		if vk.id == ix.groupIDs[vk.group][0] || !isRestartView(ix, vk.group, vk.id, vw) {
			continue
		}
		byMsg := map[int32][]int{}
		var order []int32
		for i := vw.firstIdx; i < len(h); i++ {
			if e := &h[i]; e.Kind == Delivered && e.Group == vk.group && e.ViewID == vk.id && ix.isReplay(i) {
				id := ix.evMsg[i]
				if byMsg[id] == nil {
					order = append(order, id)
				}
				byMsg[id] = append(byMsg[id], i)
			}
		}
		for _, id := range order {
			mi := ix.msgList[id]
			if mi.deliveries[0] < vw.firstIdx && heldBySurvivor(ix, mi, vk, vw) {
				s.unreplayed = append(s.unreplayed, byMsg[id])
				break
			}
		}
	}
	return s
}

// heldBySurvivor reports whether a member of restart view vk that survives it belongs to a process
// that logged mi before the view and did not forget it.
func heldBySurvivor(ix *index, mi *msgInfo, vk viewKey, vw *viewInfo) bool {
	for _, m := range vw.members {
		if !ix.survives(vk.group, m, vk.id) {
			continue
		}
		for _, li := range mi.logs {
			if li < vw.firstIdx && process(ix.h[li].Member) == process(m) && !forgotten(ix, mi, process(m), li, vw.firstIdx) {
				return true
			}
		}
	}
	return false
}

// acceptorSurvives reports whether a member that logged the message delivered at position i survives
// the delivery's view (then SafeSendDurability owes the message to every survivor).
func acceptorSurvives(h []Event, i int) bool {
	ix := buildIndex(h)
	e := &h[i]
	for _, li := range ix.msgs[msgKey{e.Group, e.Sender, e.SenderSeq}].logs {
		if ix.survives(e.Group, h[li].Member, e.ViewID) {
			return true
		}
	}
	return false
}

// deliveredInOrderElsewhere reports whether another member delivered both messages, a first.
func deliveredInOrderElsewhere(ix *index, h []Event, a, b int) bool {
	ea, eb := &h[a], &h[b]
	at := map[string]int{}
	for _, j := range ix.msgs[msgKey{ea.Group, ea.Sender, ea.SenderSeq}].deliveries {
		at[h[j].Member] = j
	}
	for _, j := range ix.msgs[msgKey{eb.Group, eb.Sender, eb.SenderSeq}].deliveries {
		if i, ok := at[h[j].Member]; ok && h[j].Member != ea.Member && i < j {
			return true
		}
	}
	return false
}

func TestMutationsAreCaught(t *testing.T) {
	const sample = 10 // test every 10th site of a kind: each site is the same kind of breakage
	counts := map[string]int{}
	for seed := int64(1); seed <= 60; seed++ {
		h := newNaiveGroup(seed, 2+int(seed%4)).run(300)
		sites := findSites(h)
		for n, d := range sites.drop {
			if n%sample != 0 {
				continue
			}
			m := slices.Delete(slices.Clone(h), d[0], d[0]+1)
			expectCaught(t, seed, "drop "+h[d[0]].String(), m, NameSameDeliveredSetBetweenViews)
			if h[d[0]].Flavour == FlavourSafe && acceptorSurvives(h, d[0]) {
				expectCaught(t, seed, "drop "+h[d[0]].String(), m, NameSafeSendDurability)
				counts["drop safe"]++
			}
			counts["drop"]++
		}
		for n, sw := range sites.swap {
			if n%sample != 0 {
				continue
			}
			m := slices.Clone(h)
			a, b := sw[0], sw[1]
			m[a], m[b] = m[b], m[a]
			m[a].Step, m[b].Step = h[a].Step, h[b].Step
			expectCaught(t, seed, "swap "+h[a].String()+" / "+h[b].String(), m, NameTotalOrderAgreement)
			counts["swap"]++
		}
		for n, i := range sites.out {
			if n%sample != 0 {
				continue
			}
			m := slices.Insert(slices.Clone(h), i+1, h[i])
			m[i+1].Sender, m[i+1].SenderSeq = "stranger#1", 1
			expectCaught(t, seed, "outside sender after "+h[i].String(), m, NameNoDeliveryFromOutsideView)
			counts["outside"]++
		}
		for _, del := range sites.lose {
			m := slices.Clone(h)
			for j := len(del) - 1; j >= 0; j-- {
				m = slices.Delete(m, del[j], del[j]+1)
			}
			expectCaught(t, seed, "lose flushed "+h[del[0]].String(), m, NameFlushSemantics)
			counts["lose flushed"]++
		}
		for _, del := range sites.unreplayed {
			m := slices.Clone(h)
			for j := len(del) - 1; j >= 0; j-- {
				m = slices.Delete(m, del[j], del[j]+1)
			}
			expectCaught(t, seed, "skip replay "+h[del[0]].String(), m, NameSafeSendDurability)
			counts["skip replay"]++
		}
	}
	t.Logf("mutations caught: %v", counts)
	for _, k := range []string{"drop", "drop safe", "swap", "outside", "lose flushed", "skip replay"} {
		if counts[k] < 20 {
			t.Fatalf("too few %s mutation sites (%d): the generator is too tame", k, counts[k])
		}
	}
}

func expectCaught(t *testing.T, seed int64, what string, h []Event, checker string) {
	t.Helper()
	for _, v := range CheckAll(h) {
		if v.Checker == checker {
			return
		}
	}
	t.Fatalf("seed %d: mutation %q not caught by %s; all violations: %v", seed, what, checker, CheckAll(h))
}
