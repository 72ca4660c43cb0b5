package difftest

import (
	"bufio"

	"github.com/vsdb/vsdb/protocol"
)

// AppendCommand appends args as a RESP multibulk request.
func AppendCommand(dst []byte, args [][]byte) []byte { return protocol.AppendCommand(dst, args...) }

// ReadReply reads one complete RESP2 reply from r and returns its raw bytes (re-encoded from the
// parsed value, which for RESP2 is byte-identical to what the server sent).
func ReadReply(r *bufio.Reader) ([]byte, error) {
	v, err := protocol.ReadReply(r)
	if err != nil {
		return nil, err
	}
	return protocol.AppendValue(nil, v), nil
}
