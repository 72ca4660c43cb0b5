package protocol

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
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
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("SKIPPED: redis-server not on PATH; the comparison with real Redis did not run")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--logfile", "", "--daemonize", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Wait for the log line that says the server listens (no sleeping, no polling).
	sc := bufio.NewScanner(out)
	ready := false
	var log []string
	for sc.Scan() {
		log = append(log, sc.Text())
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatalf("redis-server did not start:\n%s", strings.Join(log, "\n"))
	}
	go func() { // keep draining the log so the server never blocks on it
		for sc.Scan() {
		}
	}()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
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
