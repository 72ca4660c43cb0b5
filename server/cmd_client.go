package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

func cmdClientID(c *conn, _ [][]byte) { c.out = redcon.AppendInt(c.out, c.id) }

// validClientName applies Redis's rule: no spaces, newlines or other characters outside '!'..'~'.
func validClientName(name []byte) string {
	for _, b := range name {
		if b < '!' || b > '~' {
			return "ERR Client names cannot contain spaces, newlines or special characters."
		}
	}
	return ""
}

func cmdClientSetName(c *conn, args [][]byte) {
	if msg := validClientName(args[2]); msg != "" {
		c.out = redcon.AppendError(c.out, msg)
		return
	}
	c.mu.Lock()
	c.name = string(args[2])
	c.mu.Unlock()
	c.out = redcon.AppendOK(c.out)
}

func cmdClientGetName(c *conn, _ [][]byte) {
	c.mu.Lock()
	name := c.name
	c.mu.Unlock()
	if name == "" {
		c.out = redcon.AppendNull(c.out)
		return
	}
	c.out = redcon.AppendBulkString(c.out, name)
}

// describe renders one CLIENT LIST line in Redis 7's field order (fields vsdb has no notion of, such
// as pub/sub counts, are reported as Redis reports an idle client).
// running is the command this connection is running now ("" for another connection, whose last
// completed command is shown).
func (c *conn) describe(sb *strings.Builder, running string) {
	c.mu.Lock()
	name, libName, libVer := c.name, c.libName, c.libVer
	c.mu.Unlock()
	lastCmd := "NULL"
	if s := c.lastCmd.Load(); s != nil {
		lastCmd = s.Name
	}
	self := running != ""
	if self {
		lastCmd = running
	}
	now := time.Now()
	multi := -1
	flags := "N"
	if self && c.multi != nil {
		multi, flags = len(c.multi.cmds), "x"
	}
	fmt := func(k, v string) {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(v)
		sb.WriteByte(' ')
	}
	fmt("id", strconv.FormatInt(c.id, 10))
	fmt("addr", c.nc.RemoteAddr().String())
	fmt("laddr", c.nc.LocalAddr().String())
	fmt("fd", "-1")
	fmt("name", name)
	fmt("age", strconv.FormatInt(int64(now.Sub(c.born)/time.Second), 10))
	fmt("idle", strconv.FormatInt((now.UnixNano()-c.lastUsed.Load())/int64(time.Second), 10))
	fmt("flags", flags)
	fmt("db", "0")
	fmt("sub", "0")
	fmt("psub", "0")
	fmt("ssub", "0")
	fmt("multi", strconv.Itoa(multi))
	fmt("obl", "0")
	fmt("oll", "0")
	fmt("events", "r")
	fmt("cmd", lastCmd)
	fmt("user", "default")
	fmt("redir", "-1")
	fmt("resp", "2")
	fmt("lib-name", libName)
	sb.WriteString("lib-ver=")
	sb.WriteString(libVer)
	sb.WriteByte('\n')
}

func cmdClientList(c *conn, args [][]byte) {
	var ids map[int64]bool
	if len(args) > 2 {
		if len(args) >= 4 && strings.EqualFold(string(args[2]), "id") {
			ids = make(map[int64]bool)
			for _, a := range args[3:] {
				id, err := strconv.ParseInt(string(a), 10, 64)
				if err != nil || id <= 0 {
					c.out = redcon.AppendError(c.out, "ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		} else if len(args) == 4 && strings.EqualFold(string(args[2]), "type") {
			switch strings.ToLower(string(args[3])) {
			case "normal":
			case "master", "replica", "slave", "pubsub":
				c.out = redcon.AppendBulkString(c.out, "")
				return
			default:
				c.out = redcon.AppendError(c.out, "ERR Unknown client type '"+string(args[3])+"'")
				return
			}
		} else {
			c.out = redcon.AppendError(c.out, "ERR syntax error")
			return
		}
	}
	var sb strings.Builder
	for _, other := range c.n.clients.snapshot() {
		if ids == nil || ids[other.id] {
			running := ""
			if other == c {
				running = "client|list"
			}
			other.describe(&sb, running)
		}
	}
	c.out = redcon.AppendBulkString(c.out, sb.String())
}

func cmdClientInfo(c *conn, _ [][]byte) {
	var sb strings.Builder
	c.describe(&sb, "client|info")
	c.out = redcon.AppendBulkString(c.out, sb.String())
}

// cmdClientKill supports both forms: CLIENT KILL addr:port (old, answers OK) and
// CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [USER name] [SKIPME yes|no] (answers the count).
func cmdClientKill(c *conn, args [][]byte) {
	if len(args) == 3 {
		addr := string(args[2])
		for _, other := range c.n.clients.snapshot() {
			if other.nc.RemoteAddr().String() == addr {
				c.kill(other)
				c.out = redcon.AppendOK(c.out)
				return
			}
		}
		c.out = redcon.AppendError(c.out, "ERR No such client")
		return
	}
	if len(args)%2 != 0 {
		c.out = redcon.AppendError(c.out, "ERR syntax error")
		return
	}
	var id int64
	var addr, laddr, user string
	skipMe := true
	for i := 2; i < len(args); i += 2 {
		v := string(args[i+1])
		switch strings.ToLower(string(args[i])) {
		case "id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				c.out = redcon.AppendError(c.out, "ERR client-id should be greater than 0")
				return
			}
			id = n
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "user":
			user = v
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.out = redcon.AppendError(c.out, "ERR syntax error")
				return
			}
		case "type":
			if t := strings.ToLower(v); t != "normal" && t != "master" && t != "replica" && t != "slave" && t != "pubsub" {
				c.out = redcon.AppendError(c.out, "ERR Unknown client type '"+v+"'")
				return
			}
		default:
			c.out = redcon.AppendError(c.out, "ERR syntax error")
			return
		}
	}
	killed := int64(0)
	for _, other := range c.n.clients.snapshot() {
		if (id != 0 && other.id != id) || (addr != "" && other.nc.RemoteAddr().String() != addr) ||
			(laddr != "" && other.nc.LocalAddr().String() != laddr) || (user != "" && user != "default") ||
			(skipMe && other == c) {
			continue
		}
		c.kill(other)
		killed++
	}
	c.out = redcon.AppendInt(c.out, killed)
}

// kill closes another connection at once (its goroutine sees the read fail), or this one after the
// reply.
func (c *conn) kill(other *conn) {
	other.killed.Store(true)
	if other != c {
		_ = other.nc.Close()
	}
}

func cmdClientSetInfo(c *conn, args [][]byte) {
	if len(args) != 4 {
		c.out = redcon.AppendError(c.out, "ERR wrong number of arguments for 'client|setinfo' command")
		return
	}
	attr, val := strings.ToLower(string(args[2])), string(args[3])
	if attr != "lib-name" && attr != "lib-ver" {
		c.out = redcon.AppendError(c.out, "ERR Unrecognized option '"+string(args[2])+"'")
		return
	}
	for _, b := range []byte(val) {
		if b < '!' || b > '~' {
			c.out = redcon.AppendError(c.out, "ERR "+attr+" cannot contain spaces, newlines or special characters.")
			return
		}
	}
	c.mu.Lock()
	if attr == "lib-name" {
		c.libName = val
	} else {
		c.libVer = val
	}
	c.mu.Unlock()
	c.out = redcon.AppendOK(c.out)
}

// cmdClientOnOff answers CLIENT NO-EVICT / NO-TOUCH: accepted, with no effect on a store whose
// eviction sampling is deterministic across replicas and does not depend on the client.
func cmdClientOnOff(c *conn, args [][]byte) {
	switch strings.ToLower(string(args[2])) {
	case "on", "off":
		c.out = redcon.AppendOK(c.out)
	default:
		c.out = redcon.AppendError(c.out, "ERR syntax error")
	}
}

func cmdClientReply(c *conn, args [][]byte) {
	switch strings.ToLower(string(args[2])) {
	case "on":
		c.replyMode = replyOn
		c.out = redcon.AppendOK(c.out)
	case "off":
		c.replyMode = replyOff
	case "skip":
		if c.replyMode != replyOff {
			c.replyMode = replySkipNext
		}
	default:
		c.out = redcon.AppendError(c.out, "ERR syntax error")
	}
}

func appendHelp(dst []byte, lines ...string) []byte {
	dst = redcon.AppendArray(dst, len(lines))
	for _, l := range lines {
		dst = redcon.AppendString(dst, l)
	}
	return dst
}

func cmdClientHelp(c *conn, _ [][]byte) {
	c.out = appendHelp(c.out,
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, USER, SKIPME.",
		"LIST [TYPE <type>] [ID <id> [<id> ...]]", "    Return information about client connections.",
		"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
		"NO-EVICT (ON|OFF)", "    Accepted; no effect.",
		"NO-TOUCH (ON|OFF)", "    Accepted; no effect.",
		"HELP", "    Print this help.")
}
