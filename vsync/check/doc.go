// Package check holds the history checkers of the virtual-synchrony simulator, and a porcupine-based
// linearizability checker for single-key register histories. It imports nothing of vsdb: the
// simulator (in vsync/) records a history of Events and calls CheckAll, or one checker at a time.
//
// # The history contract
//
// A history is a []Event in the order the simulator executed the events; Step is the simulator's
// global step, non-decreasing along the slice (several events may share a step). "Before" and "after"
// always mean positions in the slice. Fields per Kind:
//
//   - ViewInstalled: Member installs view ViewID of Group; Members is the full member list in rank
//     order. Emit it when the member installs the view (after state transfer, for a joiner), after
//     its last delivery of the previous view and before its first delivery in this one. A member
//     installs only views that list it (a member dropped from a view installs nothing more).
//   - Delivered: Member delivers, in its current view ViewID of Group, the message SenderSeq of
//     Sender, of Flavour "send", "ordered" or "safe". Sender is the original sender's member string,
//     also for a SafeSend replayed from a log after a total failure. Self-deliveries are Delivered
//     events too. SenderSeq is the sender's per-group counter starting at 1; it may be one counter for
//     all flavours or one per flavour.
//   - Crashed: the incarnation Member crashed; Group "" means the whole process (all its groups), a
//     group name means only that group. The incarnation emits nothing afterwards.
//   - Restarted: the process restarted as the fresh incarnation Member (e.g. "n2#2" after "n2#1").
//     The process is the member string up to its last '#'; an acceptor's log survives into the
//     process's later incarnations.
//   - SafeLogged: the acceptor Member durably logged SafeSend (Sender, SenderSeq) of Group (ViewID: the
//     view it was logged in; Flavour "safe" or ""). Emit it when the write would survive a crash.
//   - FlushReturned: Flush(K) (K = 0 for Flush()) returned at Member in view ViewID of Group; the
//     flush covered Member's own messages with sender sequence numbers FlushWaitedFor.
//   - SafeForgotten (optional, an extension of the six kinds above): the acceptor Member removed its
//     log entry for (Sender, SenderSeq) of Group. Emit it if logs are garbage-collected, so that
//     SafeSendDurability does not expect a replay of a removed entry after a total failure.
//
// # The checkers
//
// Each checker states its property and exemptions in a block comment beside it:
// HistoryWellFormed (the contract above), ViewAgreement, SameDeliveredSetBetweenViews,
// TotalOrderAgreement, FIFOPerSender, NoDeliveryFromOutsideView, SafeSendDurability and
// FlushSemantics. Each reports at most MaxViolationsPerChecker violations per history. They share one
// index built in a single pass (messages and streams interned to small integers), and their cost is
// linear in the history size plus sorting, except SafeSendDurability's restart rule, which costs
// (restart views × safe messages of the group). CheckAll on a 102,000-event history takes about
// 0.2 s of CPU on the development machine (BenchmarkCheckAll).
//
// A violation means the history breaks a property; the order of violations is deterministic for a
// given history, so a failing seed prints the same report every time it is replayed.
//
// # Linearizability
//
// CheckLinearizable checks a history of get/put operations on single-key registers (KVOp) with
// github.com/anishathalye/porcupine, partitioned by key.
package check
