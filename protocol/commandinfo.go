package protocol

import "github.com/tidwall/redcon"

// AppendCommandInfo appends one entry of a COMMAND / COMMAND INFO reply in Redis 7's RESP2 form
// (server.c addReplyCommandInfo): an array of 10 — name, arity, flags (status replies), first key,
// last key, step, ACL categories (status replies), tips, key specs (maps as flat arrays), and the
// subcommands' own entries. A nil s appends a null bulk, as Redis does for an unknown name.
func AppendCommandInfo(dst []byte, s *Spec) []byte {
	if s == nil {
		return redcon.AppendNull(dst)
	}
	dst = redcon.AppendArray(dst, 10)
	dst = redcon.AppendBulkString(dst, s.Name)
	dst = redcon.AppendInt(dst, int64(s.Arity))
	names := s.Flags.Names()
	dst = redcon.AppendArray(dst, len(names))
	for _, n := range names {
		dst = redcon.AppendString(dst, n)
	}
	dst = redcon.AppendInt(dst, int64(s.FirstKey))
	dst = redcon.AppendInt(dst, int64(s.LastKey))
	dst = redcon.AppendInt(dst, int64(s.Step))
	dst = redcon.AppendArray(dst, len(s.ACLCategories))
	for _, c := range s.ACLCategories {
		dst = redcon.AppendString(dst, c)
	}
	dst = redcon.AppendArray(dst, len(s.Tips))
	for _, t := range s.Tips {
		dst = redcon.AppendBulkString(dst, t)
	}
	dst = redcon.AppendArray(dst, len(s.KeySpecs))
	for i := range s.KeySpecs {
		dst = appendKeySpec(dst, &s.KeySpecs[i])
	}
	dst = redcon.AppendArray(dst, len(s.Subcommands))
	for _, sub := range s.Subcommands {
		dst = AppendCommandInfo(dst, sub)
	}
	return dst
}

// appendKeySpec follows server.c addReplyCommandKeySpecs.
func appendKeySpec(dst []byte, ks *KeySpec) []byte {
	n := 3
	if ks.Notes != "" {
		n++
	}
	dst = redcon.AppendArray(dst, 2*n)
	if ks.Notes != "" {
		dst = redcon.AppendBulkString(dst, "notes")
		dst = redcon.AppendBulkString(dst, ks.Notes)
	}
	dst = redcon.AppendBulkString(dst, "flags")
	dst = redcon.AppendArray(dst, len(ks.Flags))
	for _, f := range ks.Flags {
		dst = redcon.AppendString(dst, f)
	}
	dst = redcon.AppendBulkString(dst, "begin_search")
	dst = redcon.AppendArray(dst, 4)
	dst = redcon.AppendBulkString(dst, "type")
	dst = redcon.AppendBulkString(dst, ks.BSType)
	dst = redcon.AppendBulkString(dst, "spec")
	switch ks.BSType {
	case "index":
		dst = redcon.AppendArray(dst, 2)
		dst = appendBulkInt(dst, "index", ks.BSIndex)
	case "keyword":
		dst = redcon.AppendArray(dst, 4)
		dst = redcon.AppendBulkString(dst, "keyword")
		dst = redcon.AppendBulkString(dst, ks.BSKeyword)
		dst = appendBulkInt(dst, "startfrom", ks.BSStartFrom)
	case "unknown":
		dst = redcon.AppendArray(dst, 0)
	default:
		panic("protocol: key spec of " + ks.BSType + " begin_search")
	}
	dst = redcon.AppendBulkString(dst, "find_keys")
	dst = redcon.AppendArray(dst, 4)
	dst = redcon.AppendBulkString(dst, "type")
	dst = redcon.AppendBulkString(dst, ks.FKType)
	dst = redcon.AppendBulkString(dst, "spec")
	switch ks.FKType {
	case "range":
		dst = redcon.AppendArray(dst, 6)
		dst = appendBulkInt(dst, "lastkey", ks.FKLastKey)
		dst = appendBulkInt(dst, "keystep", ks.FKKeyStep)
		dst = appendBulkInt(dst, "limit", ks.FKLimit)
	case "keynum":
		dst = redcon.AppendArray(dst, 6)
		dst = appendBulkInt(dst, "keynumidx", ks.FKKeynumIdx)
		dst = appendBulkInt(dst, "firstkey", ks.FKFirstKey)
		dst = appendBulkInt(dst, "keystep", ks.FKKeyStep)
	case "unknown":
		dst = redcon.AppendArray(dst, 0)
	default:
		panic("protocol: key spec of " + ks.FKType + " find_keys")
	}
	return dst
}

func appendBulkInt(dst []byte, key string, v int) []byte {
	dst = redcon.AppendBulkString(dst, key)
	return redcon.AppendInt(dst, int64(v))
}

// AppendCommandDocs appends the documentation map of one command for COMMAND DOCS, in Redis 7's
// RESP2 form (a map as a flat array; server.c addReplyCommandDocs): summary, since, group,
// complexity, then doc_flags, deprecated_since, replaced_by, history when set, then subcommands (a
// map of full name → docs). The caller writes the command's name before it (COMMAND DOCS replies
// name, docs, name, docs, …). The "arguments" entry Redis also returns is not produced.
func AppendCommandDocs(dst []byte, s *Spec) []byte {
	n := 1 // group is always present
	for _, v := range []string{s.Summary, s.Since, s.Complexity, s.DeprecatedSince, s.ReplacedBy} {
		if v != "" {
			n++
		}
	}
	if len(s.DocFlags) > 0 {
		n++
	}
	if len(s.History) > 0 {
		n++
	}
	if len(s.Subcommands) > 0 {
		n++
	}
	dst = redcon.AppendArray(dst, 2*n)
	pair := func(k, v string) {
		if v != "" {
			dst = redcon.AppendBulkString(dst, k)
			dst = redcon.AppendBulkString(dst, v)
		}
	}
	pair("summary", s.Summary)
	pair("since", s.Since)
	dst = redcon.AppendBulkString(dst, "group")
	dst = redcon.AppendBulkString(dst, s.Group)
	pair("complexity", s.Complexity)
	if len(s.DocFlags) > 0 {
		dst = redcon.AppendBulkString(dst, "doc_flags")
		dst = redcon.AppendArray(dst, len(s.DocFlags))
		for _, f := range s.DocFlags {
			dst = redcon.AppendString(dst, f)
		}
	}
	pair("deprecated_since", s.DeprecatedSince)
	pair("replaced_by", s.ReplacedBy)
	if len(s.History) > 0 {
		dst = redcon.AppendBulkString(dst, "history")
		dst = redcon.AppendArray(dst, len(s.History))
		for _, h := range s.History {
			dst = redcon.AppendArray(dst, 2)
			dst = redcon.AppendBulkString(dst, h.Since)
			dst = redcon.AppendBulkString(dst, h.Change)
		}
	}
	if len(s.Subcommands) > 0 {
		dst = redcon.AppendBulkString(dst, "subcommands")
		dst = redcon.AppendArray(dst, 2*len(s.Subcommands))
		for _, sub := range s.Subcommands {
			dst = redcon.AppendBulkString(dst, sub.Name)
			dst = AppendCommandDocs(dst, sub)
		}
	}
	return dst
}
