//go:build unix

package peer

import (
	"net"
	"syscall"
)

// rawConn returns nc's raw connection when nc supports non-blocking writes of its descriptor; nil
// otherwise (then every frame goes through the owner loop).
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeNonBlocking makes one write system call of buf to rc's descriptor, which Go's poller keeps in
// non-blocking mode. A full socket buffer writes 0 bytes without error.
func writeNonBlocking(rc syscall.RawConn, buf []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), buf)
			if werr != syscall.EINTR {
				break
			}
		}
		if werr == syscall.EAGAIN {
			n, werr = 0, nil
		}
		if n < 0 {
			n = 0
		}
		return true // never wait for the socket to become writable
	})
	if werr == nil {
		werr = err
	}
	return n, werr
}
