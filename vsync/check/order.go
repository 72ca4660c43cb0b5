package check

import (
	"fmt"
	"strings"
)

/*
TotalOrderAgreement checks the total order of OrderedSend and SafeSend (one order per group; the
sequencer orders both flavours, so "ordered" and "safe" messages share it):

  - There is one total order of the group's ordered and safe messages that every member's delivery
    sequence follows. Checked as: the graph whose edges are "member x delivered a, then (next ordered
    or safe message) b" is acyclic. This implies the pairwise property (any two members deliver their
    common messages in the same relative order) and is the exact "one total order" of the manual: it
    also rejects a cycle spread over three members that each miss one message.
  - Sending-view delivery: an ordered or safe message is delivered in one view everywhere.

Total failure. A restart view (one that shares no member with the view before it) starts a new epoch
of the group: its founders replay SafeSends from their logs as new deliveries under the original tags
(the manual's DiskLogger replays "as new multicasts delivered in the new view, but with the same ct
values"), and a member belongs to the epoch of the first view it installed. The order is checked twice:

  - Within one epoch, over every ordered and safe delivery of its members, replays included: one
    total order.
  - Across epochs, over the messages whose position was known to every member of their view before
    anyone delivered them (some original delivery has Event.Decided false): one total order, which
    makes every replay keep the original order of those messages. A message delivered only by a flush
    decision (Decided) has an order only that flush's survivors logged; a restart whose founders all
    missed that flush cannot know it, so across epochs its replayed place is not checked (docs/vsync.md,
    "Total failure").

Exemptions: a SafeSend replayed from an acceptor log after a total failure (a safe delivery from a
sender outside the delivery view, logged earlier; see SafeSendDurability) is delivered in the restart
view, so it is exempt from the one-view rule. A member's second delivery of the same message is
ignored here (FIFOPerSender reports duplicates).
*/

// TotalOrderAgreement checks that all members deliver the ordered and safe messages of a group in one
// total order, and each such message in a single view.
func TotalOrderAgreement(history []Event) []Violation {
	return totalOrderAgreement(buildIndex(history))
}

type orderEdge struct {
	from, to int // node numbers
	member   string
}

func totalOrderAgreement(ix *index) []Violation {
	c := &collector{name: NameTotalOrderAgreement}
	epochs := ix.epochs()
	// Within an epoch: nodes are (message, epoch).
	type node struct {
		msg   int32
		epoch int
	}
	nodeIDs := map[node]int{}
	var nodes []node
	checkOrderGraph(ix, c, "", func(mk memberKey, i int) int {
		n := node{ix.evMsg[i], epochs[mk]}
		id, ok := nodeIDs[n]
		if !ok {
			id = len(nodes)
			nodeIDs[n] = id
			nodes = append(nodes, n)
		}
		return id
	}, func() int { return len(nodes) }, func(n int) *msgInfo { return ix.msgList[nodes[n].msg] })
	// Across epochs: nodes are messages some member delivered in the order every member knew.
	if len(ix.restarts) > 0 {
		certain := make([]bool, len(ix.msgList))
		for _, mi := range ix.msgList {
			for _, i := range mi.deliveries {
				if !ix.h[i].Decided && !ix.isReplay(i) {
					certain[mi.id] = true
					break
				}
			}
		}
		checkOrderGraph(ix, c, " across a total failure", func(_ memberKey, i int) int {
			if !certain[ix.evMsg[i]] {
				return -1
			}
			return int(ix.evMsg[i])
		}, func() int { return len(ix.msgList) }, func(n int) *msgInfo { return ix.msgList[n] })
	}
	for _, mi := range ix.msgList {
		if mi.flavour == FlavourOrdered || mi.flavour == FlavourSafe {
			checkSingleView(ix, c, mi)
		}
	}
	return c.result()
}

// checkOrderGraph builds one graph over every group (edges never cross groups, since a member's
// delivery sequence is per group) from each member's ordered and safe deliveries mapped to nodes by
// nodeOf (-1: left out), removes the acyclic part, and reports one cycle per group that has any.
func checkOrderGraph(ix *index, c *collector, what string, nodeOf func(memberKey, int) int, count func() int,
	msgOf func(int) *msgInfo) {
	var succ, pred [][]orderEdge
	var indeg []int
	var inGraph []bool
	var seen []int // last member number that delivered the node, +1
	grow := func(n int) {
		for len(succ) <= n {
			succ, pred = append(succ, nil), append(pred, nil)
			indeg, inGraph, seen = append(indeg, 0), append(inGraph, false), append(seen, 0)
		}
	}
	for mn, mk := range ix.memberOrder {
		prev := -1
		for _, i := range ix.deliveries[mk] {
			e := &ix.h[i]
			if e.Flavour != FlavourOrdered && e.Flavour != FlavourSafe {
				continue
			}
			n := nodeOf(mk, i)
			if n < 0 {
				continue
			}
			grow(n)
			if seen[n] == mn+1 {
				continue
			}
			seen[n] = mn + 1
			inGraph[n] = true
			if prev >= 0 {
				ed := orderEdge{from: prev, to: n, member: mk.member}
				succ[prev] = append(succ[prev], ed)
				pred[n] = append(pred[n], ed)
				indeg[n]++
			}
			prev = n
		}
	}
	grow(count() - 1)
	// Kahn's algorithm: whatever is left has a cycle through it.
	queue := make([]int, 0, len(indeg))
	total := 0
	for n, d := range indeg {
		if inGraph[n] {
			total++
			if d == 0 {
				queue = append(queue, n)
			}
		}
	}
	removed := 0
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		removed++
		for _, ed := range succ[n] {
			indeg[ed.to]--
			if indeg[ed.to] == 0 {
				queue = append(queue, ed.to)
			}
		}
	}
	if removed == total {
		return
	}
	left := make(map[string]int) // group -> messages on or behind cycles
	for n, d := range indeg {
		if d > 0 {
			left[msgOf(n).key.group]++
		}
	}
	for _, g := range ix.groups {
		if left[g] == 0 {
			continue
		}
		for n, d := range indeg {
			if d > 0 && msgOf(n).key.group == g {
				reportCycle(ix, c, what, pred, indeg, n, left[g], msgOf)
				break
			}
		}
	}
}

// reportCycle walks predecessors from start among the nodes Kahn's algorithm left (each has a left
// predecessor) until a node repeats, and reports that cycle.
func reportCycle(ix *index, c *collector, what string, pred [][]orderEdge, indeg []int, start, left int,
	msgOf func(int) *msgInfo) {
	pos := make(map[int]int)
	var walk []orderEdge
	n := start
	for {
		if p, ok := pos[n]; ok {
			walk = walk[p:]
			break
		}
		pos[n] = len(walk)
		var in orderEdge
		for _, ed := range pred[n] {
			if indeg[ed.from] > 0 {
				in = ed
				break
			}
		}
		walk = append(walk, in)
		n = in.from
	}
	// walk holds the cycle's edges backwards; render it forwards, merging runs of one member.
	var parts []string
	for j := len(walk) - 1; j >= 0; {
		m := walk[j].member
		from := walk[j].from
		for j >= 0 && walk[j].member == m {
			j--
		}
		to := walk[j+1].to
		parts = append(parts, fmt.Sprintf("%s delivers %s before %s", m, ix.describeMsg(msgOf(from).key), ix.describeMsg(msgOf(to).key)))
	}
	c.addf("no single total order of ordered/safe messages in group %s%s (%d messages on or after cycles): %s",
		msgOf(start).key.group, what, left, strings.Join(parts, "; "))
}
