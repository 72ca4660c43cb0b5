package check

import "slices"

/*
FIFOPerSender checks per-sender FIFO delivery, for each flavour separately (Send is FIFO per sender;
OrderedSend and SafeSend orders are consistent with each sender's FIFO order; nothing orders a
sender's Send relative to its own OrderedSend, so flavours are not compared with each other):

  - Order, no duplicates: along a member's whole history in a group, the SenderSeqs it delivers from
    one sender in one flavour strictly increase.
  - No gaps within a view: the history has no send events, so a gap is judged against what the group
    delivered. If any member delivered message (s, q) of flavour f in view v, then every member that
    delivered a later message (s, q' > q) of flavour f in view v also delivered (s, q) in view v.

A gap across a view change is allowed (messages of a sender that failed can be lost with it, and a
member that joins in view w starts from the state transferred to it); SameDeliveredSetBetweenViews
judges what survivors of a view must have delivered in it. SenderSeq is the sender's per-group counter;
it may be shared by all flavours (so one flavour's numbers have holes) or kept per flavour: either way
the rules above hold.
*/

// FIFOPerSender checks that each member delivers each sender's messages of each flavour in SenderSeq
// order, without duplicates, and without gaps within a view relative to what any member delivered.
func FIFOPerSender(history []Event) []Violation { return fifoPerSender(buildIndex(history)) }

type streamKey struct {
	group, sender, flavour string
}

// streamView is one stream (group, sender, flavour), by interned id, in one view.
type streamView struct {
	stream int32
	view   uint64
}

type fifoMember struct {
	member string
	seqs   []uint64 // delivered seqs of the stream in the view (sorted and deduplicated before use)
	max    uint64
}

func fifoPerSender(ix *index) []Violation {
	c := &collector{name: NameFIFOPerSender}
	streamID := make(map[streamKey]int32)
	var streams []streamKey
	// Union of delivered seqs per stream and view, and each member's delivered seqs there.
	union := make(map[streamView][]uint64)
	var unionOrder []streamView
	members := make(map[streamView][]*fifoMember)
	for _, mk := range ix.memberOrder {
		last := make(map[int32]uint64)
		mine := make(map[streamView]*fifoMember)
		for _, i := range ix.deliveries[mk] {
			e := &ix.h[i]
			sk := streamKey{e.Group, e.Sender, e.Flavour}
			sid, ok := streamID[sk]
			if !ok {
				sid = int32(len(streams))
				streamID[sk] = sid
				streams = append(streams, sk)
			}
			if l, ok := last[sid]; ok {
				switch {
				case e.SenderSeq == l:
					c.addf("%s delivered %s twice (view %d of %s)", mk.member,
						ix.describeMsg(msgKey{e.Group, e.Sender, e.SenderSeq}), e.ViewID, e.Group)
				case e.SenderSeq < l:
					c.addf("%s delivered %s after %s:%d (out of FIFO order, view %d of %s)", mk.member,
						ix.describeMsg(msgKey{e.Group, e.Sender, e.SenderSeq}), e.Sender, l, e.ViewID, e.Group)
				}
			}
			if e.SenderSeq > last[sid] {
				last[sid] = e.SenderSeq
			}
			vk := streamView{sid, e.ViewID}
			if _, ok := union[vk]; !ok {
				unionOrder = append(unionOrder, vk)
			}
			union[vk] = append(union[vk], e.SenderSeq)
			pm := mine[vk]
			if pm == nil {
				pm = &fifoMember{member: mk.member}
				mine[vk] = pm
				members[vk] = append(members[vk], pm)
			}
			pm.seqs = append(pm.seqs, e.SenderSeq)
			pm.max = max(pm.max, e.SenderSeq)
		}
	}
	for _, vk := range unionOrder {
		seqs := union[vk]
		slices.Sort(seqs)
		seqs = slices.Compact(seqs)
		sk := streams[vk.stream]
		for _, pm := range members[vk] {
			slices.Sort(pm.seqs)
			pm.seqs = slices.Compact(pm.seqs)
			// pm.seqs ⊆ seqs, so pm has no gap iff exactly len(pm.seqs)-1 union members lie below pm.max.
			below, _ := slices.BinarySearch(seqs, pm.max)
			if below == len(pm.seqs)-1 {
				continue
			}
			for _, q := range seqs[:below] {
				if _, found := slices.BinarySearch(pm.seqs, q); !found {
					c.addf("%s delivered %s:%d but not %s in view %d of %s (a gap: another member delivered it in that view)",
						pm.member, sk.sender, pm.max, ix.describeMsg(msgKey{sk.group, sk.sender, q}), vk.view, sk.group)
					break
				}
			}
		}
	}
	return c.result()
}
