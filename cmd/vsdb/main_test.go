package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the vsdb binary: with VSDB_TEST_RUN_MAIN=1 it runs main() with
// the arguments after "--", so tests can drive a real vsdb process.
func TestMain(m *testing.M) {
	if os.Getenv("VSDB_TEST_RUN_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"vsdb"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServerGracefulShutdownOnSIGTERM runs `vsdb server` as a process, uses it, sends SIGTERM, and
// expects a clean exit (status 0) after "shutting down".
func TestServerGracefulShutdownOnSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "server", "--port", "0", "--http-port", "0")
	cmd.Env = append(os.Environ(), "VSDB_TEST_RUN_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatal("no start line")
	}
	line := sc.Text() // "vsdb X: RESP on 127.0.0.1:P, HTTP on 127.0.0.1:Q"
	addr := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "RESP on ")+len("RESP on "):])[0], ",")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v (start line %q)", addr, err, line)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("SET k v\r\nGET k\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"+OK\r\n", "$1\r\n", "v\r\n"} {
		if got, err := br.ReadString('\n'); err != nil || got != want {
			t.Fatalf("reply %q, %v; want %q", got, err, want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vsdb exited with %v after SIGTERM; output %q", err, rest)
	}
	if len(rest) == 0 || rest[0] != "vsdb: shutting down" {
		t.Fatalf("output after SIGTERM = %q", rest)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("client connection still open after shutdown")
	}
}
