package difftest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
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
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("SKIPPED: redis-server is not on PATH; the differential test against Redis did not run")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--daemonize", "no", "--logfile", "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	var log []string
	ready := false
	for sc.Scan() {
		log = append(log, sc.Text())
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			ready = true
			break
		}
	}
	if !ready {
		tb.Fatalf("redis-server did not start:\n%s", strings.Join(log, "\n"))
	}
	go func() { // drain the log so the server never blocks writing it
		for sc.Scan() {
		}
	}()
	addr := "127.0.0.1:" + strconv.Itoa(port)
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
