package check

import (
	"fmt"
	"strings"
)

// EventKind says what happened in one history Event.
type EventKind uint8

// The event kinds a simulator emits. The zero value is not a valid kind, so an Event that was never
// filled in is reported by HistoryWellFormed.
const (
	// ViewInstalled: Member installed view ViewID of Group, whose members in rank order are Members.
	ViewInstalled EventKind = iota + 1
	// Delivered: Member delivered, in view ViewID of Group, the message (Sender, SenderSeq) of Flavour.
	Delivered
	// Crashed: Member (one incarnation) crashed; Group "" means every group the process was in.
	Crashed
	// Restarted: the process came back as the fresh incarnation Member (e.g. "n2#2"); informational.
	Restarted
	// SafeLogged: the acceptor Member durably logged the SafeSend (Sender, SenderSeq) of Group.
	SafeLogged
	// FlushReturned: Flush(K) returned at Member, in view ViewID of Group, covering its own messages
	// FlushWaitedFor (sender sequence numbers).
	FlushReturned
	// SafeForgotten (optional): the acceptor Member removed (garbage-collected) its log entry for the
	// SafeSend (Sender, SenderSeq) of Group. A simulator whose storage truncates logs emits it, so that
	// SafeSendDurability does not expect a replay of an entry that no longer exists.
	SafeForgotten
)

// String returns the kind's name, e.g. "Delivered".
func (k EventKind) String() string {
	switch k {
	case ViewInstalled:
		return "ViewInstalled"
	case Delivered:
		return "Delivered"
	case Crashed:
		return "Crashed"
	case Restarted:
		return "Restarted"
	case SafeLogged:
		return "SafeLogged"
	case FlushReturned:
		return "FlushReturned"
	case SafeForgotten:
		return "SafeForgotten"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// The multicast flavours, as they appear in Event.Flavour.
const (
	FlavourSend    = "send"    // Send: FIFO per sender
	FlavourOrdered = "ordered" // OrderedSend: one total order per group
	FlavourSafe    = "safe"    // SafeSend: total order, logged by acceptors before delivery
)

// Event is one entry of a simulator history. The history is a slice of events in the order they
// happened; see the package documentation for what each field means for each Kind.
type Event struct {
	Step           int64     // global simulator step (monotonic, non-decreasing) of the event
	Member         string    // process+incarnation, e.g. "n2#1"
	Group          string    // group name ("" on Crashed/Restarted means the whole process)
	Kind           EventKind // what happened
	ViewID         uint64    // the view the event happens in (for ViewInstalled: the new view)
	Members        []string  // ViewInstalled: the members in rank order
	Sender         string    // Delivered, SafeLogged, SafeForgotten: the original sender (member string)
	SenderSeq      uint64    // Delivered, SafeLogged, SafeForgotten: the sender's per-group sequence number (1,2,3…)
	Flavour        string    // Delivered: FlavourSend, FlavourOrdered or FlavourSafe
	FlushWaitedFor []uint64  // FlushReturned: the flushing member's own SenderSeqs the flush covered
	K              int       // FlushReturned: Flush(k)'s k (0 = all)
	// Decided (Delivered): the message was delivered by a flush decision, after its view wedged, in an
	// order only that flush's survivors learned (see TotalOrderAgreement).
	Decided bool
}

// String renders the event compactly for violation details and test failures.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step=%d %s %s g=%s v=%d", e.Step, e.Kind, e.Member, e.Group, e.ViewID)
	switch e.Kind {
	case ViewInstalled:
		fmt.Fprintf(&b, " members=%v", e.Members)
	case Delivered, SafeLogged:
		fmt.Fprintf(&b, " msg=%s:%d %s", e.Sender, e.SenderSeq, e.Flavour)
	case FlushReturned:
		fmt.Fprintf(&b, " k=%d seqs=%v", e.K, e.FlushWaitedFor)
	}
	return b.String()
}

// Violation is one broken property. Checker is the name of the exported checker function that found
// it; Detail names the members, view and message involved.
type Violation struct {
	Checker string
	Detail  string
}

// String renders the violation as "Checker: Detail".
func (v Violation) String() string { return v.Checker + ": " + v.Detail }

// Checker names, as they appear in Violation.Checker.
const (
	NameHistoryWellFormed            = "HistoryWellFormed"
	NameViewAgreement                = "ViewAgreement"
	NameSameDeliveredSetBetweenViews = "SameDeliveredSetBetweenViews"
	NameTotalOrderAgreement          = "TotalOrderAgreement"
	NameFIFOPerSender                = "FIFOPerSender"
	NameNoDeliveryFromOutsideView    = "NoDeliveryFromOutsideView"
	NameSafeSendDurability           = "SafeSendDurability"
	NameFlushSemantics               = "FlushSemantics"
)

// MaxViolationsPerChecker bounds the violations one checker reports for one history; the rest are
// summarised in one final violation ("… and N more"), so that a badly broken run stays readable.
const MaxViolationsPerChecker = 20

// CheckAll runs every checker on history and returns their violations, checker by checker in a fixed
// order (HistoryWellFormed first). An empty result means the history passed every check.
func CheckAll(history []Event) []Violation {
	ix := buildIndex(history)
	var out []Violation
	out = append(out, historyWellFormed(ix)...)
	out = append(out, viewAgreement(ix)...)
	out = append(out, sameDeliveredSet(ix)...)
	out = append(out, totalOrderAgreement(ix)...)
	out = append(out, fifoPerSender(ix)...)
	out = append(out, noDeliveryFromOutsideView(ix)...)
	out = append(out, safeSendDurability(ix)...)
	out = append(out, flushSemantics(ix)...)
	return out
}

// collector gathers one checker's violations, keeping at most MaxViolationsPerChecker.
type collector struct {
	name    string
	out     []Violation
	dropped int
}

func (c *collector) addf(format string, args ...any) {
	if len(c.out) >= MaxViolationsPerChecker {
		c.dropped++
		return
	}
	c.out = append(c.out, Violation{Checker: c.name, Detail: fmt.Sprintf(format, args...)})
}

func (c *collector) result() []Violation {
	if c.dropped > 0 {
		c.out = append(c.out, Violation{Checker: c.name,
			Detail: fmt.Sprintf("… and %d more violations of this checker", c.dropped)})
	}
	return c.out
}
