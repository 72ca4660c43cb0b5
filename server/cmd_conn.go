package server

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

// Version is the vsdb version reported by INFO, HELLO and `vsdb version`; set at build time with
// -ldflags "-X github.com/vsdb/vsdb/server.Version=…".
var Version = "0.1.0-dev"

// redisCompatVersion is the Redis version vsdb presents to clients (redis_version in INFO, HELLO's
// version): the Redis whose commands and replies it follows.
const redisCompatVersion = "7.0.15"

func cmdPing(c *conn, args [][]byte) {
	if len(args) == 1 {
		c.out = redcon.AppendString(c.out, "PONG")
		return
	}
	c.out = redcon.AppendBulk(c.out, args[1])
}

func cmdEcho(c *conn, args [][]byte) { c.out = redcon.AppendBulk(c.out, args[1]) }

func cmdQuit(c *conn, _ [][]byte) {
	c.out = redcon.AppendOK(c.out)
	c.closeAfter = true
}

// cmdReset returns the connection to its initial state (Redis 6.2+): no transaction, no watches,
// replies on, no name, and unauthenticated again when a password is set.
func cmdReset(c *conn, _ [][]byte) {
	c.multi = nil
	c.watches = nil
	c.replyMode = replyOn
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	if c.n.requirePass() != "" {
		c.authenticated = false
		c.rd.SetAuthenticated(false)
	}
	c.out = redcon.AppendString(c.out, "RESET")
}

// cmdSelect accepts database 0 only: vsdb has one keyspace (as Redis Cluster does).
func cmdSelect(c *conn, args [][]byte) {
	idx, err := strconv.ParseInt(string(args[1]), 10, 64)
	switch {
	case err != nil || !isRedisInteger(args[1]):
		c.out = redcon.AppendError(c.out, "ERR value is not an integer or out of range")
	case idx != 0:
		c.out = redcon.AppendError(c.out, "ERR DB index is out of range")
	default:
		c.out = redcon.AppendOK(c.out)
	}
}

// isRedisInteger applies Redis's string2ll shape rules that strconv accepts and Redis does not
// (a leading '+', leading zeros).
func isRedisInteger(b []byte) bool {
	if len(b) == 0 || b[0] == '+' {
		return false
	}
	d := b
	if d[0] == '-' {
		d = d[1:]
	}
	return len(d) > 0 && (d[0] != '0' || len(d) == 1)
}

const (
	errWrongPass  = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPassword = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
)

// checkPassword compares in constant time; only the "default" user exists.
func (c *conn) checkPassword(user, pass []byte) bool {
	want := c.n.requirePass()
	if user != nil && string(user) != "default" {
		return false
	}
	if want == "" {
		return true // the default user has nopass
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

func cmdAuth(c *conn, args [][]byte) {
	if len(args) > 3 {
		c.out = redcon.AppendError(c.out, "ERR syntax error")
		return
	}
	var user, pass []byte
	if len(args) == 2 {
		if c.n.requirePass() == "" {
			c.out = redcon.AppendError(c.out, errNoPassword)
			return
		}
		pass = args[1]
	} else {
		user, pass = args[1], args[2]
	}
	if !c.checkPassword(user, pass) {
		c.n.metrics.authFailures.Inc()
		c.out = redcon.AppendError(c.out, errWrongPass)
		return
	}
	c.setAuthenticated()
	c.out = redcon.AppendOK(c.out)
}

// cmdHello implements HELLO for RESP2 only: HELLO 3 answers NOPROTO so that RESP3-first clients
// (go-redis v9, redis-py 5 with protocol=3) fall back to RESP2.
func cmdHello(c *conn, args [][]byte) {
	i := 1
	if len(args) >= 2 {
		ver, err := strconv.ParseInt(string(args[1]), 10, 64)
		if err != nil || !isRedisInteger(args[1]) {
			c.out = redcon.AppendError(c.out, "ERR Protocol version is not an integer or out of range")
			return
		}
		if ver < 2 || ver > 3 {
			c.out = redcon.AppendError(c.out, "NOPROTO unsupported protocol version")
			return
		}
		i = 2
		var name []byte
		haveName := false
		for ; i < len(args); i++ {
			opt := strings.ToLower(string(args[i]))
			switch {
			case opt == "auth" && i+2 < len(args):
				if !c.checkPassword(args[i+1], args[i+2]) {
					c.n.metrics.authFailures.Inc()
					c.out = redcon.AppendError(c.out, errWrongPass)
					return
				}
				c.setAuthenticated()
				i += 2
			case opt == "setname" && i+1 < len(args):
				name, haveName = args[i+1], true
				i++
			default:
				c.out = redcon.AppendError(c.out, "ERR Syntax error in HELLO option '"+string(args[i])+"'")
				return
			}
		}
		if !c.authenticated {
			c.out = redcon.AppendError(c.out, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
			return
		}
		if ver == 3 {
			c.out = redcon.AppendError(c.out, "NOPROTO unsupported protocol version")
			return
		}
		if haveName {
			if msg := validClientName(name); msg != "" {
				c.out = redcon.AppendError(c.out, msg)
				return
			}
			c.mu.Lock()
			c.name = string(name)
			c.mu.Unlock()
		}
	} else if !c.authenticated {
		c.out = redcon.AppendError(c.out, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.out = redcon.AppendArray(c.out, 14)
	c.out = redcon.AppendBulkString(c.out, "server")
	c.out = redcon.AppendBulkString(c.out, "redis")
	c.out = redcon.AppendBulkString(c.out, "version")
	c.out = redcon.AppendBulkString(c.out, redisCompatVersion)
	c.out = redcon.AppendBulkString(c.out, "proto")
	c.out = redcon.AppendInt(c.out, 2)
	c.out = redcon.AppendBulkString(c.out, "id")
	c.out = redcon.AppendInt(c.out, c.id)
	c.out = redcon.AppendBulkString(c.out, "mode")
	c.out = redcon.AppendBulkString(c.out, "standalone")
	c.out = redcon.AppendBulkString(c.out, "role")
	c.out = redcon.AppendBulkString(c.out, "master")
	c.out = redcon.AppendBulkString(c.out, "modules")
	c.out = redcon.AppendArray(c.out, 0)
}

func cmdTime(c *conn, _ [][]byte) {
	now := time.Now()
	c.out = redcon.AppendArray(c.out, 2)
	c.out = redcon.AppendBulkInt(c.out, now.Unix())
	c.out = redcon.AppendBulkInt(c.out, int64(now.Nanosecond()/1000))
}

// cmdWait: a single node has no replicas, so WAIT answers 0 at once, as a Redis master with no
// replicas does. In a cluster WAIT becomes Flush(k) of the group layer.
func cmdWait(c *conn, args [][]byte) {
	if _, err := strconv.ParseInt(string(args[1]), 10, 64); err != nil || !isRedisInteger(args[1]) {
		c.out = redcon.AppendError(c.out, "ERR value is not an integer or out of range")
		return
	}
	timeout, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil || !isRedisInteger(args[2]) {
		c.out = redcon.AppendError(c.out, "ERR timeout is not an integer or out of range")
		return
	}
	if timeout < 0 {
		c.out = redcon.AppendError(c.out, "ERR timeout is negative")
		return
	}
	if c.n.cluster == nil {
		c.out = redcon.AppendInt(c.out, 0)
		return
	}
	want, _ := strconv.ParseInt(string(args[1]), 10, 64)
	c.out = redcon.AppendInt(c.out, c.n.cluster.wait(c.n.ctx, int(want), time.Duration(timeout)*time.Millisecond))
}

// isClientConsistency reports whether args is CLIENT CONSISTENCY (a vsdb extension, not in Redis's
// command table, so it is answered before the table lookup).
func isClientConsistency(args [][]byte) bool {
	return strings.EqualFold(string(args[0]), "client") && strings.EqualFold(string(args[1]), "consistency")
}

// cmdClientConsistency: CLIENT CONSISTENCY [strict|soft] sets this connection's write mode (no argument:
// reports it). Soft writes are acknowledged once one replica of their shard applied them; strict
// writes once every replica did (docs/cluster.md).
func cmdClientConsistency(c *conn, args [][]byte) {
	switch {
	case len(args) == 2:
		mode := "strict"
		if c.soft {
			mode = "soft"
		}
		c.out = redcon.AppendBulkString(c.out, mode)
	case len(args) == 3 && strings.EqualFold(string(args[2]), "strict"):
		c.soft = false
		c.out = redcon.AppendOK(c.out)
	case len(args) == 3 && strings.EqualFold(string(args[2]), "soft"):
		c.soft = true
		c.out = redcon.AppendOK(c.out)
	case len(args) == 3:
		c.out = redcon.AppendError(c.out, "ERR CLIENT CONSISTENCY takes strict or soft")
	default:
		c.out = redcon.AppendError(c.out, "ERR wrong number of arguments for 'client|consistency' command")
	}
}

// cmdClusterDisabled answers the cluster-only commands on a single node, as Redis does with
// cluster-enabled no.
func cmdClusterDisabled(c *conn, _ [][]byte) {
	c.out = redcon.AppendError(c.out, "ERR This instance has cluster support disabled")
}
