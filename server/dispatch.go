package server

import (
	"strings"
	"time"

	"github.com/tidwall/redcon"
	"github.com/vsdb/vsdb/protocol"
)

// handlerFunc runs one command on its connection and appends the reply to c.out.
type handlerFunc func(c *conn, args [][]byte)

// serverHandlers are the commands the server answers itself (connection state, introspection,
// transactions). Everything else in the command table goes to the data plane.
var serverHandlers = map[string]handlerFunc{
	"ping": cmdPing, "echo": cmdEcho, "quit": cmdQuit, "reset": cmdReset, "select": cmdSelect,
	"auth": cmdAuth, "hello": cmdHello, "time": cmdTime, "info": cmdInfo, "wait": cmdWait,
	"multi": cmdMulti, "exec": cmdExec, "discard": cmdDiscard, "watch": cmdWatch, "unwatch": cmdUnwatch,
	"readonly": cmdReadMode, "readwrite": cmdReadMode, "cluster": cmdCluster,

	"client|id": cmdClientID, "client|setname": cmdClientSetName, "client|getname": cmdClientGetName,
	"client|list": cmdClientList, "client|info": cmdClientInfo, "client|kill": cmdClientKill,
	"client|setinfo": cmdClientSetInfo, "client|no-evict": cmdClientOnOff, "client|no-touch": cmdClientOnOff,
	"client|reply": cmdClientReply, "client|help": cmdClientHelp,

	"command": cmdCommand, "command|count": cmdCommandCount, "command|info": cmdCommandInfo,
	"command|docs": cmdCommandDocs, "command|list": cmdCommandList, "command|getkeys": cmdCommandGetKeys,
	"command|help": cmdCommandHelp,

	"config|get": cmdConfigGet, "config|set": cmdConfigSet, "config|resetstat": cmdConfigResetStat,
	"config|help": cmdConfigHelp,
}

// route is how one command is run: by its handler; data says the handler is the data plane's.
type route struct {
	h    handlerFunc
	data bool
}

// dispatchTable maps a command's dense Spec.ID to its route, built once per node.
type dispatchTable []route

func buildDispatch(data dataPlane) dispatchTable {
	maxID := 0
	var walk func(specs []*protocol.Spec, f func(*protocol.Spec))
	walk = func(specs []*protocol.Spec, f func(*protocol.Spec)) {
		for _, s := range specs {
			f(s)
			walk(s.Subcommands, f)
		}
	}
	walk(protocol.All(), func(s *protocol.Spec) { maxID = max(maxID, s.ID) })
	t := make(dispatchTable, maxID+1)
	walk(protocol.All(), func(s *protocol.Spec) {
		parent, _, isSub := strings.Cut(s.Name, "|")
		if h, ok := serverHandlers[s.Name]; ok {
			t[s.ID] = route{h: h}
		} else if h, ok := serverHandlers[parent]; ok && isSub {
			t[s.ID] = route{h: h} // the parent answers all of its subcommands (CLUSTER on a single node)
		} else if data.Handles([]byte(parent)) {
			t[s.ID] = route{h: cmdData, data: true}
		}
	})
	return t
}

// arityOK applies Redis's arity convention: positive is exact, negative is a minimum.
func arityOK(arity, argc int) bool {
	if arity >= 0 {
		return argc == arity
	}
	return argc >= -arity
}

// lookup resolves args to a command spec, descending into subcommands the way Redis 7 does. It
// returns the spec, or an error reply text.
func lookup(args [][]byte) (*protocol.Spec, string) {
	spec := protocol.Lookup(args[0])
	if spec == nil {
		return nil, protocol.UnknownCommand(args)
	}
	if len(spec.Subcommands) > 0 && len(args) >= 2 {
		sub := protocol.LookupSub(spec, args[1])
		if sub == nil {
			return nil, protocol.UnknownSubcommand(spec.Name, string(args[1]))
		}
		spec = sub
	}
	if !arityOK(spec.Arity, len(args)) {
		return nil, protocol.WrongArity(spec.Name)
	}
	return spec, ""
}

// dispatch runs one command: lookup and arity, the authentication gate, MULTI queueing, then the
// handler; it also applies CLIENT REPLY and records the command's metrics.
func (c *conn) dispatch(args [][]byte) {
	// One command in latencySampleEvery is timed for the latency histogram: reading the clock twice per
	// command costs more than the whole store operation of a GET.
	c.sampleSeq++
	timed := c.sampleSeq%latencySampleEvery == 0
	var start time.Time
	if timed {
		start = time.Now()
	}
	mark := len(c.out)
	if ext := extensionCommand(args); ext != nil {
		// vsdb's own commands (not in Redis's table): the same authentication gate, not queued by MULTI
		// (they refuse to run inside one), and answered in order.
		switch {
		case !c.authenticated:
			c.reject("NOAUTH Authentication required.")
		case c.multi != nil:
			c.reject("ERR " + string(args[0]) + " is not allowed inside MULTI")
		default:
			ext(c, args)
		}
		c.applyReplyMode(mark)
		return
	}
	spec, errText := lookup(args)
	switch {
	case spec == nil:
		c.reject(errText)
	case !c.authenticated && spec.Flags&protocol.NoAuth == 0:
		c.reject("NOAUTH Authentication required.")
	case c.n.dispatch[spec.ID].h == nil: // in the table, not implemented by this build
		c.reject(protocol.UnknownCommand(args))
	case c.multi != nil && !multiControl[spec.Name]:
		c.queue(spec, args)
	default:
		c.n.dispatch[spec.ID].h(c, args)
		c.n.metrics.count(spec)
		if timed {
			c.n.metrics.observeLatency(spec, time.Since(start))
		}
		c.lastCmd.Store(spec)
	}
	c.applyReplyMode(mark)
}

// extensionCommand returns the handler of a vsdb extension command (CLIENT CONSISTENCY, VSDB.QUERY),
// or nil.
func extensionCommand(args [][]byte) func(*conn, [][]byte) {
	switch {
	case len(args) >= 2 && isClientConsistency(args):
		return cmdClientConsistency
	case isVsdbQuery(args):
		return cmdVsdbQuery
	}
	return nil
}

// latencySampleEvery: one command in this many per connection is timed for
// vsdb_command_duration_seconds.
const latencySampleEvery = 8

// reject answers a command that was refused before running; inside MULTI it also dooms the
// transaction (Redis's flagTransaction), so that EXEC answers EXECABORT.
func (c *conn) reject(msg string) {
	c.n.metrics.rejected.Inc()
	if c.multi != nil {
		c.multi.aborted = true
	}
	c.out = redcon.AppendError(c.out, msg)
}

// applyReplyMode drops the reply just produced when CLIENT REPLY OFF or SKIP says so.
func (c *conn) applyReplyMode(mark int) {
	switch c.replyMode {
	case replyOff:
		c.out = c.out[:mark]
	case replySkipThis:
		c.out = c.out[:mark]
		c.replyMode = replyOn
	case replySkipNext:
		c.replyMode = replySkipThis
	}
}

// cmdData sends a data command to the data plane (the DHT) and appends its reply.
func cmdData(c *conn, args [][]byte) {
	var out []byte
	var err error
	if c.soft && c.n.cluster != nil {
		out, err = c.n.cluster.doSoft(c.n.ctx, c.out, args)
	} else {
		out, err = c.n.data.Do(c.n.ctx, c.out, args)
	}
	if err != nil {
		c.out = redcon.AppendError(c.out, errorReply(err))
		return
	}
	c.out = out
}

// errorReply turns a data-plane error into a RESP error text: errors that already carry a Redis error
// code keep it, anything else is an ERR.
func errorReply(err error) string {
	msg := err.Error()
	if i := indexByte(msg, ' '); i > 0 && isUpper(msg[:i]) {
		return msg
	}
	return "ERR " + msg
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
