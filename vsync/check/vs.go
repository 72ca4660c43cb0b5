package check

import (
	"fmt"
	"slices"
	"strings"
)

/*
SameDeliveredSetBetweenViews checks virtual synchrony proper (DESIGN §2 "flushed", seed-model §12.3):

  - If two members both install view v of a group and then both install the same next view w, they
    delivered exactly the same set of messages in view v (the Delivered events tagged ViewID v).
    "Next" is per member: the view it installed right after v. Joiners of w are not compared for v
    (they were not in it); members that crashed in v never install w and are exempt after their crash,
    so a crashed member may have delivered messages that the survivors never deliver (Send and
    OrderedSend are not uniform; SafeSendDurability checks the uniform case).
  - Sending-view delivery for FIFO messages: one "send" message is delivered in one view everywhere.
    (TotalOrderAgreement checks the same for "ordered" and "safe".)
*/

// SameDeliveredSetBetweenViews checks that members that install the same two consecutive views
// delivered the same set of messages in the first, and that a "send" message is delivered in a single
// view everywhere.
func SameDeliveredSetBetweenViews(history []Event) []Violation {
	return sameDeliveredSet(buildIndex(history))
}

type viewPair struct {
	group string
	v, w  uint64
}

type memberSet struct {
	member string
	ids    []int32 // message ids delivered in the view, sorted, without duplicates
}

func sameDeliveredSet(ix *index) []Violation {
	c := &collector{name: NameSameDeliveredSetBetweenViews}
	pairs := make(map[viewPair][]memberSet)
	var pairOrder []viewPair
	for _, mk := range ix.memberOrder {
		ins := ix.installs[mk]
		if len(ins) < 2 {
			continue
		}
		byView := make(map[uint64][]int32)
		for _, i := range ix.deliveries[mk] {
			v := ix.h[i].ViewID
			byView[v] = append(byView[v], ix.evMsg[i])
		}
		for j := 0; j+1 < len(ins); j++ {
			p := viewPair{mk.group, ins[j].id, ins[j+1].id}
			if _, ok := pairs[p]; !ok {
				pairOrder = append(pairOrder, p)
			}
			ids := byView[p.v]
			slices.Sort(ids)
			pairs[p] = append(pairs[p], memberSet{mk.member, slices.Compact(ids)})
		}
	}
	for _, p := range pairOrder {
		ms := pairs[p]
		ref := ms[0]
		for _, o := range ms[1:] {
			if slices.Equal(ref.ids, o.ids) {
				continue
			}
			onlyRef, onlyO := idDiff(ref.ids, o.ids), idDiff(o.ids, ref.ids)
			c.addf("%s and %s both went from view %d to view %d of %s but delivered different sets in view %d: only %s: %s; only %s: %s",
				ref.member, o.member, p.v, p.w, p.group, p.v,
				ref.member, listMsgs(ix, onlyRef), o.member, listMsgs(ix, onlyO))
		}
	}
	for _, mi := range ix.msgList {
		if mi.flavour != FlavourSend {
			continue
		}
		checkSingleView(ix, c, mi)
	}
	return c.result()
}

// checkSingleView reports a message whose (non-replay) deliveries are tagged with different views.
func checkSingleView(ix *index, c *collector, mi *msgInfo) {
	first := -1
	for _, i := range mi.deliveries {
		if ix.isReplay(i) {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		if a, b := &ix.h[first], &ix.h[i]; a.ViewID != b.ViewID {
			c.addf("%s of %s is delivered in view %d at %s but in view %d at %s",
				ix.describeMsg(mi.key), mi.key.group, a.ViewID, a.Member, b.ViewID, b.Member)
			return
		}
	}
}

// idDiff returns the ids in sorted a that are not in sorted b.
func idDiff(a, b []int32) []int32 {
	var out []int32
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			out = append(out, x)
		}
	}
	return out
}

// listMsgs renders up to five messages, then a count.
func listMsgs(ix *index, ids []int32) string {
	if len(ids) == 0 {
		return "none"
	}
	var parts []string
	for i, id := range ids {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("(+%d more)", len(ids)-5))
			break
		}
		parts = append(parts, ix.describeMsg(ix.msgList[id].key))
	}
	return strings.Join(parts, ", ")
}
