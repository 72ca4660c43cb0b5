//go:build !unix

package peer

import (
	"net"
	"syscall"
)

// rawConn returns nil: inline writes are implemented on Unix systems only; elsewhere every frame goes
// through the owner loop.
func rawConn(net.Conn) syscall.RawConn { return nil }

// writeNonBlocking is never called without a raw connection.
func writeNonBlocking(syscall.RawConn, []byte) (int, error) {
	panic("peer: inline write without a raw connection")
}
