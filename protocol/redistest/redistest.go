package redistest

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Start starts redis-server on a free loopback port with no persistence (--save "" --appendonly no)
// and returns its address. It waits for the "Ready to accept connections" log line (no sleeping) and
// kills the server when tb ends. When redis-server is not on PATH the test is skipped with a visible
// message.
func Start(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("SKIPPED: redis-server is not on PATH (apt-get install redis-server); the comparison with real Redis did not run")
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
	for sc.Scan() {
		log = append(log, sc.Text())
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			go func() { // drain the log so the server never blocks writing it
				for sc.Scan() {
				}
			}()
			return "127.0.0.1:" + strconv.Itoa(port)
		}
	}
	tb.Fatalf("redis-server did not start:\n%s", strings.Join(log, "\n"))
	return ""
}
