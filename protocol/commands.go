package protocol

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// Flag is a Redis command flag (server.h CMD_*).
type Flag uint32

// Command flags, in the order COMMAND INFO lists them. MayReplicate is never shown (as in Redis).
const (
	Write Flag = 1 << iota
	ReadOnly
	DenyOOM
	Module
	Admin
	PubSub
	NoScript
	Blocking
	Loading
	Stale
	SkipMonitor
	SkipSlowlog
	Asking
	Fast
	NoAuth
	MayReplicate
	NoMandatoryKeys
	NoAsyncLoading
	NoMulti
	MovableKeys
	AllowBusy
)

// flagNames are the COMMAND INFO names, in Redis's output order (server.c addReplyFlagsForCommand).
var flagNames = []struct {
	f    Flag
	name string
}{
	{Write, "write"}, {ReadOnly, "readonly"}, {DenyOOM, "denyoom"}, {Module, "module"},
	{Admin, "admin"}, {PubSub, "pubsub"}, {NoScript, "noscript"}, {Blocking, "blocking"},
	{Loading, "loading"}, {Stale, "stale"}, {SkipMonitor, "skip_monitor"},
	{SkipSlowlog, "skip_slowlog"}, {Asking, "asking"}, {Fast, "fast"}, {NoAuth, "no_auth"},
	{NoMandatoryKeys, "no_mandatory_keys"}, {NoAsyncLoading, "no_async_loading"},
	{NoMulti, "no_multi"}, {MovableKeys, "movablekeys"}, {AllowBusy, "allow_busy"},
}

// Names returns the flags' COMMAND INFO names in Redis's order (MayReplicate is hidden).
func (f Flag) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// KeySpec is one Redis 7 key specification (COMMAND INFO's eighth field).
type KeySpec struct {
	Notes string   // optional
	Flags []string // "RO", "RW", "OW", "RM", "access", "update", "insert", "delete", …
	// BeginSearch: BSType "index" (BSIndex), "keyword" (BSKeyword, BSStartFrom) or "unknown".
	BSType      string
	BSIndex     int
	BSKeyword   string
	BSStartFrom int
	// FindKeys: FKType "range" (FKLastKey, FKKeyStep, FKLimit), "keynum" (FKKeynumIdx, FKFirstKey,
	// FKKeyStep) or "unknown".
	FKType      string
	FKLastKey   int
	FKKeyStep   int
	FKLimit     int
	FKKeynumIdx int
	FKFirstKey  int
}

// HistoryEntry is one line of a command's COMMAND DOCS history.
type HistoryEntry struct{ Since, Change string }

// Spec describes one command or subcommand, with Redis 7's values.
type Spec struct {
	Name                    string // lower case, e.g. "get", or "client|setname" for a subcommand
	Arity                   int    // Redis convention: >0 exact, <0 minimum (counts the name)
	Flags                   Flag
	FirstKey, LastKey, Step int      // legacy key range as COMMAND INFO shows it; LastKey -1 = last arg
	ACLCategories           []string // e.g. "@read", "@string", "@fast", in Redis's order
	Tips                    []string // command tips, e.g. "nondeterministic_output"
	KeySpecs                []KeySpec
	Group, Since, Summary   string // for COMMAND DOCS
	Complexity              string
	DocFlags                []string // "deprecated", "syscmd"
	DeprecatedSince         string
	ReplacedBy              string
	History                 []HistoryEntry
	Subcommands             []*Spec // sorted by name
	ID                      int     // dense index over all specs and subcommands, for metric arrays

	parent  *Spec
	subName string // the part after '|' for a subcommand
}

// Parent returns the container of a subcommand, or nil.
func (s *Spec) Parent() *Spec { return s.parent }

// IsSubcommand reports whether s is a subcommand ("client|setname").
func (s *Spec) IsSubcommand() bool { return s.parent != nil }

// CheckArity reports whether argc arguments (the command name, and for a subcommand the
// subcommand name, included) satisfy s.Arity.
func (s *Spec) CheckArity(argc int) bool {
	if s.Arity >= 0 {
		return argc == s.Arity
	}
	return argc >= -s.Arity
}

// MaxCommandNameBytes bounds LookupLower's stack buffer; every command name in the table is shorter.
const MaxCommandNameBytes = 32

var (
	byName  map[string]*Spec
	sorted  []*Spec
	byID    []*Spec
	numSubs int
)

func init() {
	byName = make(map[string]*Spec, len(commandTable))
	sorted = slices.Clone(commandTable)
	slices.SortFunc(sorted, func(a, b *Spec) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range sorted {
		if _, dup := byName[s.Name]; dup || len(s.Name) > MaxCommandNameBytes || s.Name != strings.ToLower(s.Name) {
			panic("protocol: bad command table entry " + s.Name)
		}
		byName[s.Name] = s
		s.ID = len(byID)
		byID = append(byID, s)
		slices.SortFunc(s.Subcommands, func(a, b *Spec) int { return strings.Compare(a.Name, b.Name) })
		for _, sub := range s.Subcommands {
			parent, name, ok := strings.Cut(sub.Name, "|")
			if !ok || parent != s.Name || len(name) > MaxCommandNameBytes {
				panic("protocol: bad subcommand name " + sub.Name)
			}
			sub.parent, sub.subName = s, name
			sub.ID = len(byID)
			byID = append(byID, sub)
		}
	}
}

// Lookup finds a top-level command by name, case-insensitively, without allocating. It returns nil
// for an unknown name.
func Lookup(name []byte) *Spec { return LookupLower(byName, name) }

// LookupLower returns m's value for name lower-cased (ASCII), without allocating: the zero value for
// a name of more than MaxCommandNameBytes bytes or one m lacks. m's keys must be lower case. It is the
// one case-insensitive command-name lookup of the code base (commands, data commands, keyless ones).
func LookupLower[V any](m map[string]V, name []byte) V {
	if len(name) > MaxCommandNameBytes {
		var zero V
		return zero
	}
	var lower [MaxCommandNameBytes]byte
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return m[string(lower[:len(name)])] // the conversion in a map index does not allocate
}

// LookupSub finds a subcommand of parent by its name (without the "parent|" prefix),
// case-insensitively, without allocating. It returns nil if parent has no such subcommand.
func LookupSub(parent *Spec, sub []byte) *Spec {
	if parent == nil {
		return nil
	}
	for _, s := range parent.Subcommands {
		if equalFoldASCII(s.subName, sub) {
			return s
		}
	}
	return nil
}

func equalFoldASCII(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// All returns the top-level specs sorted by name. The slice is shared: do not modify it.
func All() []*Spec { return sorted }

// ByID returns the spec with the given ID (commands and subcommands), or nil.
func ByID(id int) *Spec {
	if id < 0 || id >= len(byID) {
		return nil
	}
	return byID[id]
}

// NumIDs returns the number of IDs: size a per-command metrics array with it.
func NumIDs() int { return len(byID) }

// KeyIndexes returns the positions of the keys in args (args[0] is the command name) from the legacy
// FirstKey/LastKey/Step range, as Redis's getKeysUsingLegacyRangeSpec does: none when FirstKey is 0,
// or when args are too few for a variadic command. The result is a new slice.
func (s *Spec) KeyIndexes(args [][]byte) []int { return s.AppendKeyIndexes(nil, args) }

// AppendKeyIndexes is KeyIndexes appending to dst, for callers that reuse a slice.
func (s *Spec) AppendKeyIndexes(dst []int, args [][]byte) []int {
	if s.FirstKey <= 0 || s.Step <= 0 {
		return dst
	}
	last := s.LastKey
	if last < 0 {
		last += len(args)
	}
	base := len(dst)
	for j := s.FirstKey; j <= last; j += s.Step {
		if j >= len(args) {
			return dst[:base] // too few arguments: the command reports the arity or syntax error
		}
		dst = append(dst, j)
	}
	return dst
}

// WrongArity is Redis's arity error: "ERR wrong number of arguments for 'get' command" (for a
// subcommand, its full name: 'client|setname').
func WrongArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// Truncation in unknown-command errors (server.c processCommand).
const (
	unknownArgMaxBytes  = 128 // each argument is cut to this many bytes
	unknownArgsMaxBytes = 128 // arguments are listed while the list is shorter than this
)

// UnknownCommand is Redis 7's error for an unknown command: "ERR unknown command 'foo', with args
// beginning with: 'a' 'b' ". Each argument is cut to 128 bytes, and arguments are added while the
// list so far is shorter than 128 bytes, exactly as server.c does. The command name is cut to 128
// bytes as well; newlines become spaces (addReplyErrorFormat does that).
func UnknownCommand(args [][]byte) string {
	if len(args) == 0 {
		return "ERR unknown command '', with args beginning with: "
	}
	var sb strings.Builder
	sb.WriteString("ERR unknown command '")
	sb.Write(truncate(args[0], unknownArgMaxBytes))
	sb.WriteString("', with args beginning with: ")
	listed := 0
	for _, a := range args[1:] {
		if listed >= unknownArgsMaxBytes {
			break
		}
		a = truncate(a, unknownArgMaxBytes-listed)
		before := sb.Len()
		sb.WriteByte('\'')
		sb.Write(a)
		sb.WriteString("' ")
		listed += sb.Len() - before
	}
	return mapNewlines(sb.String())
}

// truncate is C's "%.*s": the bytes up to the first NUL, at most n of them.
func truncate(b []byte, n int) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > n {
		return b[:n]
	}
	return b
}

// mapNewlines replaces '\r' and '\n' by spaces, as addReplyErrorFormat does.
func mapNewlines(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// UnknownSubcommand is Redis's error for an unknown subcommand: "ERR unknown subcommand 'foo'. Try
// CLIENT HELP." (the subcommand is cut to 128 bytes and at a NUL; cmd is upper-cased, ASCII only).
func UnknownSubcommand(cmd, sub string) string {
	subB := truncate([]byte(sub), unknownArgMaxBytes)
	cmdB := truncate([]byte(cmd), len(cmd))
	for i, c := range cmdB {
		if c >= 'a' && c <= 'z' {
			cmdB[i] = c - ('a' - 'A')
		}
	}
	return mapNewlines("ERR unknown subcommand '" + string(subB) + "'. Try " + string(cmdB) + " HELP.")
}

// String returns the spec's name and arity, for debugging.
func (s *Spec) String() string { return s.Name + "/" + strconv.Itoa(s.Arity) }
