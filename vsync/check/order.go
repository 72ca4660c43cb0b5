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

Exemptions: a SafeSend replayed from an acceptor log after a total failure (a safe delivery from a
sender outside the delivery view, logged earlier; see SafeSendDurability) is delivered in the restart
view, so it is exempt from the one-view rule, but it takes part in the order check (the replay must
keep the original order). A member's second delivery of the same message is ignored here
(FIFOPerSender reports duplicates).
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
	checkOrderGraph(ix, c)
	for _, mi := range ix.msgList {
		if mi.flavour == FlavourOrdered || mi.flavour == FlavourSafe {
			checkSingleView(ix, c, mi)
		}
	}
	return c.result()
}

// checkOrderGraph builds one graph over every group (edges never cross groups, since a member's
// delivery sequence is per group), removes the acyclic part, and reports one cycle per group that
// has any.
func checkOrderGraph(ix *index, c *collector) {
	// Nodes are the message ids of the index; only ordered/safe messages get edges.
	nodes := len(ix.msgList)
	succ := make([][]orderEdge, nodes)
	pred := make([][]orderEdge, nodes)
	indeg := make([]int, nodes)
	inGraph := make([]bool, nodes)
	seen := make([]int, nodes) // last member number that delivered the node, +1
	for mn, mk := range ix.memberOrder {
		prev := -1
		for _, i := range ix.deliveries[mk] {
			e := &ix.h[i]
			if e.Flavour != FlavourOrdered && e.Flavour != FlavourSafe {
				continue
			}
			n := int(ix.evMsg[i])
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
	// Kahn's algorithm: whatever is left has a cycle through it.
	queue := make([]int, 0, nodes)
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
			left[ix.msgList[n].key.group]++
		}
	}
	for _, g := range ix.groups {
		if left[g] == 0 {
			continue
		}
		for n, d := range indeg {
			if d > 0 && ix.msgList[n].key.group == g {
				reportCycle(ix, c, pred, indeg, n, left[g])
				break
			}
		}
	}
}

// reportCycle walks predecessors from start among the nodes Kahn's algorithm left (each has a left
// predecessor) until a node repeats, and reports that cycle.
func reportCycle(ix *index, c *collector, pred [][]orderEdge, indeg []int, start, left int) {
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
		parts = append(parts, fmt.Sprintf("%s delivers %s before %s", m, ix.describeMsg(ix.msgList[from].key), ix.describeMsg(ix.msgList[to].key)))
	}
	c.addf("no single total order of ordered/safe messages in group %s (%d messages on or after cycles): %s",
		ix.msgList[start].key.group, left, strings.Join(parts, "; "))
}
