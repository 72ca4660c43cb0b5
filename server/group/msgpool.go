package group

import (
	"sync"

	"github.com/vsdb/vsdb/vsync"
)

/*
msgArrays recycles the arrays received messages are decoded into. A frame under load carries hundreds
of messages (each vsync.Message is a few hundred bytes), so a fresh array per frame was a large
allocation, cleared and soon garbage, per frame. The transport's reader takes an array (get), decodes
into it and hands it to a driver's inbox; the driver returns it (put) once it has stepped every
message. vsync.Member.Step takes a Message by value and keeps no pointer into the array, so the array
is free again after the step.

Invariants: an array is owned by one goroutine at a time (the reader until the inbox send, then the
driver; a dropped batch goes back at once); put clears the elements, so a recycled array pins no
payload and the decoder never reuses a slice a member kept (Unmarshal into a zeroed Message allocates
its own). Arrays above maxPooledMessages are not kept.
*/
var msgArrays sync.Pool

// maxPooledMessages bounds the arrays msgArrays keeps (larger frames allocate their own).
const maxPooledMessages = 4096

// getMsgs returns an array of n zeroed messages.
func getMsgs(n int) []vsync.Message {
	if n <= maxPooledMessages {
		if p, ok := msgArrays.Get().(*[]vsync.Message); ok && cap(*p) >= n {
			return (*p)[:n] // zero: see putMsgs
		}
	}
	return make([]vsync.Message, n, max(n, 64))
}

// putMsgs gives msgs back for reuse; the caller must not use it afterwards. Only msgs[:len(msgs)] may
// be non-zero (the elements past it were zeroed when the array was last put, and users keep it so: a
// failed decode zeroes its element), so only those are cleared — a light-load frame of one message
// does not clear an array sized for a burst.
func putMsgs(msgs []vsync.Message) {
	if cap(msgs) > maxPooledMessages {
		return
	}
	clear(msgs)
	msgs = msgs[:0]
	msgArrays.Put(&msgs)
}
