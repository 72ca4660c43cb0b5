package shard

import (
	"github.com/tidwall/redcon"

	"github.com/vsdb/vsdb/protocol"
)

// Reply texts shared by several commands (Redis 7.0's exact wording).
const (
	errSyntax      = "ERR syntax error"
	errWrongType   = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNotInt      = "ERR value is not an integer or out of range"
	errOutOfRange  = "ERR value is out of range"
	errNotFloat    = "ERR value is not a valid float"
	errOverflow    = "ERR increment or decrement would overflow"
	errNaNInf      = "ERR increment would produce NaN or Infinity"
	errNoKey       = "ERR no such key"
	errSameObject  = "ERR source and destination objects are the same"
	errOOM         = "OOM command not allowed when used memory > 'maxmemory'."
	errTooBig      = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errInvalidCurs = "ERR invalid cursor"
)

// protoMaxBulkLen is Redis's default proto-max-bulk-len, the largest string SETRANGE/APPEND may build.
const protoMaxBulkLen = 512 << 20

type cmdFunc func(s *Store, dst []byte, args [][]byte, nowMs int64) []byte

// command describes one data command: its lower-case name, Redis arity (n = exactly n arguments counting
// the name, -n = at least n), whether it can modify data, and whether it is refused when over maxmemory.
type command struct {
	name    string
	arity   int
	write   bool
	denyOOM bool
	fn      cmdFunc
}

var commands map[string]*command

func init() {
	list := []command{
		// strings
		{"get", 2, false, false, cmdGet},
		{"set", -3, true, true, cmdSet},
		{"setnx", 3, true, true, cmdSetNX},
		{"setex", 4, true, true, cmdSetEX},
		{"psetex", 4, true, true, cmdPSetEX},
		{"getset", 3, true, true, cmdGetSet},
		{"getdel", 2, true, false, cmdGetDel},
		{"getex", -2, true, false, cmdGetEx},
		{"mget", -2, false, false, cmdMGet},
		{"mset", -3, true, true, cmdMSet},
		{"msetnx", -3, true, true, cmdMSetNX},
		{"append", 3, true, true, cmdAppend},
		{"strlen", 2, false, false, cmdStrlen},
		{"getrange", 4, false, false, cmdGetRange},
		{"substr", 4, false, false, cmdGetRange},
		{"setrange", 4, true, true, cmdSetRange},
		{"incr", 2, true, true, cmdIncr},
		{"decr", 2, true, true, cmdDecr},
		{"incrby", 3, true, true, cmdIncrBy},
		{"decrby", 3, true, true, cmdDecrBy},
		{"incrbyfloat", 3, true, true, cmdIncrByFloat},
		// keys
		{"del", -2, true, false, cmdDel},
		{"unlink", -2, true, false, cmdDel},
		{"exists", -2, false, false, cmdExists},
		{"touch", -2, false, false, cmdTouch},
		{"type", 2, false, false, cmdType},
		{"expire", -3, true, false, cmdExpire},
		{"pexpire", -3, true, false, cmdPExpire},
		{"expireat", -3, true, false, cmdExpireAt},
		{"pexpireat", -3, true, false, cmdPExpireAt},
		{"expiretime", 2, false, false, cmdExpireTime},
		{"pexpiretime", 2, false, false, cmdPExpireTime},
		{"ttl", 2, false, false, cmdTTL},
		{"pttl", 2, false, false, cmdPTTL},
		{"persist", 2, true, false, cmdPersist},
		{"rename", 3, true, false, cmdRename},
		{"renamenx", 3, true, false, cmdRenameNX},
		{"keys", 2, false, false, cmdKeys},
		{"scan", -2, false, false, cmdScan},
		{"randomkey", 1, false, false, cmdRandomKey},
		{"copy", -3, true, true, cmdCopy},
		{"dbsize", 1, false, false, cmdDBSize},
		{"flushall", -1, true, false, cmdFlush},
		{"flushdb", -1, true, false, cmdFlush},
		{"object", -2, false, false, cmdObject},
		// hashes
		{"hset", -4, true, true, cmdHSet},
		{"hsetnx", 4, true, true, cmdHSetNX},
		{"hget", 3, false, false, cmdHGet},
		{"hmget", -3, false, false, cmdHMGet},
		{"hmset", -4, true, true, cmdHSet},
		{"hdel", -3, true, false, cmdHDel},
		{"hlen", 2, false, false, cmdHLen},
		{"hstrlen", 3, false, false, cmdHStrlen},
		{"hexists", 3, false, false, cmdHExists},
		{"hkeys", 2, false, false, cmdHKeys},
		{"hvals", 2, false, false, cmdHVals},
		{"hgetall", 2, false, false, cmdHGetAll},
		{"hincrby", 4, true, true, cmdHIncrBy},
		{"hincrbyfloat", 4, true, true, cmdHIncrByFloat},
		{"hrandfield", -2, false, false, cmdHRandField},
		{"hscan", -3, false, false, cmdHScan},
	}
	commands = make(map[string]*command, len(list))
	for i := range list {
		commands[list[i].name] = &list[i]
	}
}

func lookupCommand(name []byte) *command { return protocol.LookupLower(commands, name) }

// Handles reports whether Exec implements the command (case-insensitive; no allocation).
func (s *Store) Handles(name []byte) bool { return lookupCommand(name) != nil }

// IsWrite reports whether the command can modify data (it must then be ordered and replicated).
func (s *Store) IsWrite(name []byte) bool {
	c := lookupCommand(name)
	return c != nil && c.write
}

// Exec applies one data command at time nowMs (Unix ms, taken from the ordered operation — shard never
// reads a clock) and appends its RESP2 reply to dst. args[0] is the command name in any case. Arity is
// checked here with Redis's error text; a command over maxmemory is refused with Redis's OOM error after
// eviction per the configured policy.
func (s *Store) Exec(dst []byte, args [][]byte, nowMs int64) []byte {
	return s.exec(dst, args, nowMs, true)
}

func (s *Store) exec(dst []byte, args [][]byte, nowMs int64, checkMemory bool) []byte {
	if len(args) == 0 {
		return redcon.AppendError(dst, "ERR empty command")
	}
	c := lookupCommand(args[0])
	if c == nil {
		return appendUnknownCommand(dst, args)
	}
	if (c.arity > 0 && len(args) != c.arity) || (c.arity < 0 && len(args) < -c.arity) {
		return appendArityError(dst, c.name)
	}
	if checkMemory && c.denyOOM && s.cfg.MaxMemoryBytes > 0 && s.usedBytes > s.cfg.MaxMemoryBytes {
		s.evict(args, nowMs)
		if s.usedBytes > s.cfg.MaxMemoryBytes {
			return redcon.AppendError(dst, errOOM)
		}
	}
	return c.fn(s, dst, args, nowMs)
}

func appendArityError(dst []byte, name string) []byte {
	return redcon.AppendError(dst, "ERR wrong number of arguments for '"+name+"' command")
}

// cstr is the C-string view of an argument: Redis formats arguments with %s, which stops at a NUL.
func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// trunc is %.Ns.
func trunc(b []byte, n int) []byte {
	b = cstr(b)
	if len(b) > n {
		return b[:n]
	}
	return b
}

// eqFold is strcasecmp(arg, s) == 0 with C-string semantics.
func eqFold(arg []byte, s string) bool { return eqFoldASCII(cstr(arg), s) }

func appendUnknownCommand(dst []byte, args [][]byte) []byte {
	msg := []byte("ERR unknown command '")
	msg = append(msg, trunc(args[0], 128)...)
	msg = append(msg, "', with args beginning with: "...)
	var a []byte
	for _, x := range args[1:] {
		if len(a) >= 128 {
			break
		}
		n := 128 - len(a)
		a = append(a, '\'')
		a = append(a, trunc(x, n)...)
		a = append(a, '\'', ' ')
	}
	msg = append(msg, a...)
	return redcon.AppendError(dst, string(msg))
}

func appendExpireTimeError(dst []byte, name string) []byte {
	return redcon.AppendError(dst, "ERR invalid expire time in '"+name+"' command")
}

func appendBulkString(dst []byte, s string) []byte { return redcon.AppendBulkString(dst, s) }

// ExecMulti runs cmds as one transaction at nowMs, as Redis's EXEC does, appending one reply:
//   - if any command is refused over maxmemory (DenyOOM) and the store is still over the limit after
//     eviction, the OOM error (the whole transaction is refused, as Redis refuses the EXEC);
//   - else, if abort is non-nil and returns true (WATCH: a watched key changed), a null array `*-1`;
//   - else an array with every command's reply; inside the transaction no further memory checks are made
//     (Redis checks memory once, before EXEC).
func (s *Store) ExecMulti(dst []byte, cmds [][][]byte, nowMs int64, abort func() bool) []byte {
	if s.cfg.MaxMemoryBytes > 0 {
		for _, args := range cmds {
			if len(args) == 0 {
				continue
			}
			if c := lookupCommand(args[0]); c != nil && c.denyOOM {
				if s.usedBytes > s.cfg.MaxMemoryBytes {
					s.evict(args, nowMs)
				}
				if s.usedBytes > s.cfg.MaxMemoryBytes {
					return redcon.AppendError(dst, errOOM)
				}
				break
			}
		}
	}
	if abort != nil && abort() {
		return append(dst, "*-1\r\n"...)
	}
	dst = redcon.AppendArray(dst, len(cmds))
	for _, args := range cmds {
		dst = s.exec(dst, args, nowMs, false)
	}
	return dst
}
