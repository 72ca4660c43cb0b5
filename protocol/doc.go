// Package protocol holds the byte-level codecs of vsdb: a hardened RESP2 request reader that
// enforces Redis's limits and error texts, reply encoders, a RESP reply reader, and the command table
// (name, arity, flags, key positions) that drives dispatch, COMMAND INFO/DOCS and cluster routing.
//
// protocol imports nothing else of vsdb; every other package may import it.
package protocol
