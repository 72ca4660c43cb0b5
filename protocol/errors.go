package protocol

import "errors"

// ProtocolError is a malformed request. Its Error() is exactly the reply Redis 7 writes before it
// closes the connection ("ERR Protocol error: invalid bulk length"); the server should write it as an
// error reply and close. The Reader returns it as *ProtocolError; errors.As works with a target of
// type *ProtocolError or **ProtocolError.
type ProtocolError struct {
	// Msg is the text after "Protocol error: ", as in networking.c.
	Msg string
}

// Error returns "ERR Protocol error: " + Msg.
func (e ProtocolError) Error() string { return "ERR Protocol error: " + e.Msg }

// As lets errors.As fill a ProtocolError value target from a *ProtocolError.
func (e *ProtocolError) As(target any) bool {
	if t, ok := target.(*ProtocolError); ok {
		*t = *e
		return true
	}
	return false
}

// The protocol error messages of Redis 7.0 networking.c.
const (
	msgInvalidMultibulkLen = "invalid multibulk length"
	msgInvalidBulkLen      = "invalid bulk length"
	msgUnbalancedQuotes    = "unbalanced quotes in request"
	msgTooBigInline        = "too big inline request"
	msgTooBigMbulkCount    = "too big mbulk count string"
	msgTooBigBulkCount     = "too big bulk count string"
	msgUnauthMultibulkLen  = "unauthenticated multibulk length"
	msgUnauthBulkLen       = "unauthenticated bulk length"
)

// ErrQueryBufferLimit means one incomplete command grew past the query buffer limit
// (client-query-buffer-limit, or 1 MiB before authentication). Redis closes such a client without
// a reply; so should the server.
var ErrQueryBufferLimit = errors.New("protocol: query buffer limit reached")
