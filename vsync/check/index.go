package check

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
)

/*
The index is one pass over the history that every checker shares. Invariants it keeps:

  - "Before" and "after" are positions in the history slice, never Step values: several events can
    share a Step (one Ready delivers many messages), and the slice order is the order the simulator
    executed them in. HistoryWellFormed separately reports Steps that go backwards.
  - Every map that a checker iterates has a companion slice in first-appearance order, so the
    violations of a history come out in the same order on every run.
  - A message is identified by (group, sender, sender sequence number); the sender string carries the
    incarnation, so a restarted process never reuses a message identity.
*/

// msgKey identifies one multicast: its group, original sender and the sender's sequence number.
type msgKey struct {
	group  string
	sender string
	seq    uint64
}

// String renders the message as "sender:seq"; details name the group separately.
func (k msgKey) String() string { return fmt.Sprintf("%s:%d", k.sender, k.seq) }

// viewKey identifies one view of one group.
type viewKey struct {
	group string
	id    uint64
}

// memberKey identifies one member incarnation within one group.
type memberKey struct {
	group  string
	member string
}

// viewInfo is what the history says about one view: its member list as first installed, the set of
// those members, the position of the first install and who installed it.
type viewInfo struct {
	members    []string
	memberSet  map[string]bool
	firstIdx   int
	installers []int // history positions of every ViewInstalled event for this view
}

// install is one ViewInstalled event of one member.
type install struct {
	id  uint64
	idx int
}

// msgInfo is what the history says about one message.
type msgInfo struct {
	id         int32 // position in index.msgList
	key        msgKey
	flavour    string // flavour of its first delivery (or "safe" if only logged)
	deliveries []int  // history positions of its Delivered events
	logs       []int  // history positions of its SafeLogged events
	forgets    []int  // history positions of its SafeForgotten events
}

type index struct {
	h []Event

	views     map[viewKey]*viewInfo
	viewOrder []viewKey           // first-install order
	groupIDs  map[string][]uint64 // per group: the ids of installed views, sorted
	groups    []string            // first-appearance order

	installs    map[memberKey][]install // per member incarnation, in history order
	unsorted    map[memberKey]bool      // members whose install list is not strictly increasing
	deliveries  map[memberKey][]int     // per member incarnation, Delivered positions in history order
	memberOrder []memberKey             // first-appearance order

	crashAll   map[string]int    // member -> position of its first process-wide Crashed event
	crashGroup map[memberKey]int // (group, member) -> position of its first group-specific Crashed

	msgs    map[msgKey]*msgInfo
	msgList []*msgInfo // by message id, in first-appearance order
	evMsg   []int32    // per history position: the message id of a Delivered/SafeLogged event, else -1

	flushes []int // positions of FlushReturned events

	viewEpoch map[viewKey]int // per view: how many restart views of its group come at or before it
	restarts  []viewKey       // restart views: no member in common with the view installed before
}

func buildIndex(h []Event) *index {
	ix := &index{
		h:          h,
		views:      make(map[viewKey]*viewInfo),
		groupIDs:   make(map[string][]uint64),
		installs:   make(map[memberKey][]install),
		deliveries: make(map[memberKey][]int),
		crashAll:   make(map[string]int),
		crashGroup: make(map[memberKey]int),
		unsorted:   make(map[memberKey]bool),
		msgs:       make(map[msgKey]*msgInfo),
		evMsg:      make([]int32, len(h)),
	}
	seenMember := make(map[memberKey]bool)
	seenGroup := make(map[string]bool)
	for i := range h {
		e := &h[i]
		ix.evMsg[i] = -1
		if e.Group != "" && !seenGroup[e.Group] {
			seenGroup[e.Group] = true
			ix.groups = append(ix.groups, e.Group)
		}
		mk := memberKey{e.Group, e.Member}
		if e.Group != "" && e.Member != "" && !seenMember[mk] &&
			(e.Kind == ViewInstalled || e.Kind == Delivered || e.Kind == FlushReturned) {
			seenMember[mk] = true
			ix.memberOrder = append(ix.memberOrder, mk)
		}
		switch e.Kind {
		case ViewInstalled:
			vk := viewKey{e.Group, e.ViewID}
			vi := ix.views[vk]
			if vi == nil {
				vi = &viewInfo{members: e.Members, memberSet: make(map[string]bool, len(e.Members)), firstIdx: i}
				for _, m := range e.Members {
					vi.memberSet[m] = true
				}
				ix.views[vk] = vi
				ix.viewOrder = append(ix.viewOrder, vk)
				ix.groupIDs[e.Group] = append(ix.groupIDs[e.Group], e.ViewID)
			}
			vi.installers = append(vi.installers, i)
			if ins := ix.installs[mk]; len(ins) > 0 && ins[len(ins)-1].id >= e.ViewID {
				ix.unsorted[mk] = true
			}
			ix.installs[mk] = append(ix.installs[mk], install{id: e.ViewID, idx: i})
		case Delivered:
			ix.deliveries[mk] = append(ix.deliveries[mk], i)
			mi := ix.msg(msgKey{e.Group, e.Sender, e.SenderSeq}, e.Flavour)
			mi.deliveries = append(mi.deliveries, i)
			ix.evMsg[i] = mi.id
		case SafeLogged:
			mi := ix.msg(msgKey{e.Group, e.Sender, e.SenderSeq}, FlavourSafe)
			mi.logs = append(mi.logs, i)
			ix.evMsg[i] = mi.id
		case SafeForgotten:
			mi := ix.msg(msgKey{e.Group, e.Sender, e.SenderSeq}, FlavourSafe)
			mi.forgets = append(mi.forgets, i)
			ix.evMsg[i] = mi.id
		case Crashed:
			if e.Group == "" {
				if _, ok := ix.crashAll[e.Member]; !ok {
					ix.crashAll[e.Member] = i
				}
			} else if _, ok := ix.crashGroup[mk]; !ok {
				ix.crashGroup[mk] = i
			}
		case FlushReturned:
			ix.flushes = append(ix.flushes, i)
		}
	}
	for g, ids := range ix.groupIDs {
		sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
		ix.groupIDs[g] = ids
	}
	ix.viewEpoch = make(map[viewKey]int, len(ix.views))
	for _, g := range ix.groups {
		epoch := 0
		var prev *viewInfo
		for _, id := range ix.groupIDs[g] {
			vk := viewKey{g, id}
			vi := ix.views[vk]
			if prev != nil && !slices.ContainsFunc(vi.members, func(m string) bool { return prev.memberSet[m] }) {
				epoch++
				ix.restarts = append(ix.restarts, vk)
			}
			ix.viewEpoch[vk] = epoch
			prev = vi
		}
	}
	return ix
}

// epochs returns every member's epoch: that of the first view it installed (0 if it installed none).
// A restart view (see restarts) starts a new epoch of its group.
func (ix *index) epochs() map[memberKey]int {
	out := make(map[memberKey]int, len(ix.installs))
	for mk, ins := range ix.installs {
		if len(ins) > 0 {
			out[mk] = ix.viewEpoch[viewKey{mk.group, ins[0].id}]
		}
	}
	return out
}

func (ix *index) msg(k msgKey, flavour string) *msgInfo {
	mi := ix.msgs[k]
	if mi == nil {
		mi = &msgInfo{id: int32(len(ix.msgList)), key: k, flavour: flavour}
		ix.msgs[k] = mi
		ix.msgList = append(ix.msgList, mi)
	} else if len(mi.deliveries) == 0 && flavour != "" && mi.flavour == FlavourSafe && flavour != FlavourSafe {
		mi.flavour = flavour // first delivery decides; a SafeLogged-only entry defaulted to safe
	}
	return mi
}

// crashIdx returns the position of the first crash of member that affects group, or -1.
func (ix *index) crashIdx(group, member string) int {
	c := -1
	if i, ok := ix.crashAll[member]; ok {
		c = i
	}
	if i, ok := ix.crashGroup[memberKey{group, member}]; ok && (c < 0 || i < c) {
		c = i
	}
	return c
}

// installPos returns the position, in the member's install list, of its install of view id of
// group, or -1. Install lists are sorted by view id in a well-formed history (ViewAgreement checks
// it); an unsorted one is searched linearly.
func (ix *index) installPos(group, member string, id uint64) int {
	mk := memberKey{group, member}
	ins := ix.installs[mk]
	if !ix.unsorted[mk] {
		j, found := slices.BinarySearchFunc(ins, id, func(in install, id uint64) int { return cmp.Compare(in.id, id) })
		if found {
			return j
		}
		return -1
	}
	for j, in := range ins {
		if in.id == id {
			return j
		}
	}
	return -1
}

// survives reports whether member installed view id of group and later installed another view of it.
func (ix *index) survives(group, member string, id uint64) bool {
	j := ix.installPos(group, member, id)
	return j >= 0 && j+1 < len(ix.installs[memberKey{group, member}])
}

// nextView returns the view the member installed right after view id of group, if any.
func (ix *index) nextView(group, member string, id uint64) (uint64, bool) {
	j := ix.installPos(group, member, id)
	ins := ix.installs[memberKey{group, member}]
	if j < 0 || j+1 >= len(ins) {
		return 0, false
	}
	return ins[j+1].id, true
}

// isReplay reports whether the Delivered event at position i is a replay of a logged SafeSend after a
// total failure: a safe message from a sender outside the delivery view that some acceptor logged
// earlier in the history.
func (ix *index) isReplay(i int) bool {
	e := &ix.h[i]
	if e.Kind != Delivered || e.Flavour != FlavourSafe {
		return false
	}
	mi := ix.msgList[ix.evMsg[i]]
	if len(mi.logs) == 0 || mi.logs[0] > i {
		return false
	}
	vi := ix.views[viewKey{e.Group, e.ViewID}]
	return vi == nil || !vi.memberSet[e.Sender]
}

// process returns the process part of a member string: everything before the last '#'.
func process(member string) string {
	if j := strings.LastIndexByte(member, '#'); j >= 0 {
		return member[:j]
	}
	return member
}

// describeMsg names a message with its flavour for violation details.
func (ix *index) describeMsg(k msgKey) string {
	if mi := ix.msgs[k]; mi != nil && mi.flavour != "" {
		return mi.flavour + " " + k.String()
	}
	return k.String()
}
