package server

import (
	"bufio"
	"bytes"

	"github.com/tidwall/redcon"
	"github.com/vsdb/vsdb/protocol"
)

// multiControl are the commands that run at once inside MULTI instead of being queued (Redis 7).
var multiControl = map[string]bool{"exec": true, "discard": true, "multi": true, "watch": true, "quit": true, "reset": true}

// maxQueuedCommands bounds a transaction; the bytes are already bounded by the reader's query-buffer
// limit, this bounds the count (and so the per-command overhead).
const maxQueuedCommands = 1 << 20

// multiState is a transaction being queued. The queued arguments are copies: the reader's buffer is
// reused by the next command.
type multiState struct {
	cmds    [][][]byte
	specs   []*protocol.Spec
	aborted bool // a command was rejected while queueing: EXEC answers EXECABORT
}

func (c *conn) queue(spec *protocol.Spec, args [][]byte) {
	if spec.Flags&protocol.NoMulti != 0 {
		c.reject("ERR Command not allowed inside a transaction")
		return
	}
	if len(c.multi.cmds) >= maxQueuedCommands {
		c.reject("ERR too many commands queued in this transaction")
		return
	}
	cp := make([][]byte, len(args))
	size := 0
	for _, a := range args {
		size += len(a)
	}
	buf := make([]byte, 0, size)
	for i, a := range args {
		buf = append(buf, a...)
		cp[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	c.multi.cmds = append(c.multi.cmds, cp)
	c.multi.specs = append(c.multi.specs, spec)
	c.out = redcon.AppendString(c.out, "QUEUED")
}

func cmdMulti(c *conn, _ [][]byte) {
	if c.multi != nil {
		c.out = redcon.AppendError(c.out, "ERR MULTI calls can not be nested")
		return
	}
	c.multi = &multiState{}
	c.out = redcon.AppendOK(c.out)
}

func cmdDiscard(c *conn, _ [][]byte) {
	if c.multi == nil {
		c.out = redcon.AppendError(c.out, "ERR DISCARD without MULTI")
		return
	}
	c.multi = nil
	c.watches = nil
	c.out = redcon.AppendOK(c.out)
}

func cmdWatch(c *conn, args [][]byte) {
	if c.multi != nil {
		c.out = redcon.AppendError(c.out, "ERR WATCH inside MULTI is not allowed")
		return
	}
	for _, key := range args[1:] {
		w, err := c.n.data.Watch(c.n.ctx, key)
		if err != nil {
			c.out = redcon.AppendError(c.out, errorReply(err))
			return
		}
		w.Key = append([]byte(nil), key...)
		c.watches = append(c.watches, w)
	}
	c.out = redcon.AppendOK(c.out)
}

func cmdUnwatch(c *conn, _ [][]byte) {
	c.watches = nil
	c.out = redcon.AppendOK(c.out)
}

// cmdExec runs the queued commands. The data commands run as one atomic operation of the data plane
// (nothing interleaves, and in a cluster they are one ordered multicast); server-level commands queued
// among them (PING, ECHO, TIME…) touch no data and are answered in their place around it.
func cmdExec(c *conn, _ [][]byte) {
	m := c.multi
	if m == nil {
		c.out = redcon.AppendError(c.out, "ERR EXEC without MULTI")
		return
	}
	c.multi = nil
	watches := c.watches
	c.watches = nil
	if m.aborted {
		c.out = redcon.AppendError(c.out, "EXECABORT Transaction discarded because of previous errors.")
		return
	}
	var dataCmds [][][]byte
	allData := true
	for i, spec := range m.specs {
		r := c.n.dispatch[spec.ID]
		if r.h == nil {
			panic("server: queued command without a handler: " + spec.Name)
		}
		if r.data {
			dataCmds = append(dataCmds, m.cmds[i])
		} else {
			allData = false
		}
	}
	if allData {
		out, err := c.n.data.DoAtomic(c.n.ctx, c.out, dataCmds, watches)
		if err != nil {
			c.out = redcon.AppendError(c.out, errorReply(err))
			return
		}
		c.out = out
		return
	}
	// Mixed transaction: run the data part atomically, then splice its replies between the replies of
	// the server-level commands, in queue order.
	reply, err := c.n.data.DoAtomic(c.n.ctx, nil, dataCmds, watches)
	if err != nil {
		c.out = redcon.AppendError(c.out, errorReply(err))
		return
	}
	br := bufio.NewReader(bytes.NewReader(reply))
	head, err := protocol.ReadReply(br)
	if err != nil {
		panic("server: data plane returned a malformed EXEC reply: " + err.Error())
	}
	if head.Kind == protocol.NullArray {
		c.out = append(c.out, reply...)
		return
	}
	c.out = redcon.AppendArray(c.out, len(m.cmds))
	next := 0
	for i, spec := range m.specs {
		if r := c.n.dispatch[spec.ID]; r.data {
			c.out = protocol.AppendValue(c.out, head.Array[next])
			next++
		} else {
			r.h(c, m.cmds[i])
		}
	}
}
