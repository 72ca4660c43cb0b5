package difftest

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/vsdb/vsdb/protocol/redistest"
)

// replyTimeout bounds one round trip to the reference server (a hung server fails the test, never
// hangs it).
const replyTimeout = 10 * time.Second

// Redis is a throwaway redis-server started for one test, with one raw RESP connection to it.
type Redis struct {
	Addr string
	conn net.Conn
	r    *bufio.Reader
}

// StartRedis starts redis-server with --port (a free one), --save "" and --appendonly no and connects to it. It waits
// for the "Ready to accept connections" log line (no sleeping) and stops the server when tb ends. If
// redis-server is not on PATH, the test is skipped with a visible message.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	addr := redistest.Start(tb)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &Redis{Addr: addr, conn: conn, r: bufio.NewReader(conn)}
}

// Do sends one command and returns the raw bytes of its reply.
func (r *Redis) Do(args [][]byte) ([]byte, error) {
	if err := r.conn.SetDeadline(time.Now().Add(replyTimeout)); err != nil {
		return nil, err
	}
	if _, err := r.conn.Write(AppendCommand(nil, args)); err != nil {
		return nil, err
	}
	reply, err := ReadReply(r.r)
	if err != nil {
		return nil, fmt.Errorf("difftest: reading the reply to %q: %w", args, err)
	}
	return reply, nil
}
