package protocol

import (
	"bufio"
	"net"
	"testing"

	"github.com/vsdb/vsdb/protocol/redistest"
)

// redisConn is a connection to a real redis-server started for one test.
type redisConn struct {
	conn net.Conn
	br   *bufio.Reader
}

// startRedis starts redis-server on a free loopback port and returns a connection to it, or skips
// the test (visibly) when redis-server is not installed. The server is killed at cleanup.
func startRedis(t *testing.T) *redisConn {
	t.Helper()
	conn, err := net.Dial("tcp", redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &redisConn{conn: conn, br: bufio.NewReader(conn)}
}

// do sends one command and reads its reply.
func (c *redisConn) do(t *testing.T, args ...string) Value {
	t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := c.conn.Write(AppendCommand(nil, bs...)); err != nil {
		t.Fatal(err)
	}
	v, err := ReadReply(c.br)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
