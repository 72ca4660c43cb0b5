package shard_test

import (
	"bufio"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/shard/difftest"
)

// startRedis starts a throwaway redis-server on a free port and returns a connection to it. It waits for
// the "Ready to accept connections" log line (no sleeping), and kills the server at the end of the test.
func startRedis(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("SKIPPED: redis-server is not on PATH; the differential test against Redis did not run")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--daemonize", "no", "--loglevel", "notice", "--logfile", "")
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
	sc := bufio.NewScanner(out)
	ready := false
	var log []string
	for sc.Scan() {
		line := sc.Text()
		log = append(log, line)
		if strings.Contains(line, "Ready to accept connections") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatalf("redis-server did not start:\n%s", strings.Join(log, "\n"))
	}
	go func() { // keep draining the log so the server never blocks on its stdout
		for sc.Scan() {
		}
	}()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, bufio.NewReader(conn)
}

func redisDo(t *testing.T, conn net.Conn, r *bufio.Reader, args [][]byte) []byte {
	t.Helper()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(difftest.AppendCommand(nil, args)); err != nil {
		t.Fatal(err)
	}
	reply, err := difftest.ReadReply(r)
	if err != nil {
		t.Fatalf("reading the reply of redis to %q: %v", args, err)
	}
	return reply
}

// diffSeeds returns the seeds to run: VSDB_DIFF_SEED replays one seed, otherwise 1..4.
func diffSeeds(t *testing.T) []int64 {
	if s := os.Getenv("VSDB_DIFF_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("VSDB_DIFF_SEED=%q: %v", s, err)
		}
		return []int64{n}
	}
	return []int64{1, 2, 3, 4}
}

func diffCount(t *testing.T) int {
	if s := os.Getenv("VSDB_DIFF_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("VSDB_DIFF_N=%q: %v", s, err)
		}
		return n
	}
	return 3000
}

// ttlClose allows the raw TTL/PTTL replies of both servers to differ by the clock skew between the two
// executions (a little over one second, as TTL rounds).
func ttlClose(args [][]byte, a, b []byte) bool {
	name := strings.ToLower(string(args[0]))
	if name != "ttl" && name != "pttl" {
		return true
	}
	x, err1 := strconv.ParseInt(strings.TrimSpace(string(a[1:])), 10, 64)
	y, err2 := strconv.ParseInt(strings.TrimSpace(string(b[1:])), 10, 64)
	if err1 != nil || err2 != nil || x < 0 || y < 0 {
		return true
	}
	tol := int64(2)
	if name == "pttl" {
		tol = 2000
	}
	return x-y <= tol && y-x <= tol
}

// TestDifferentialAgainstRedis runs generated commands against redis-server and a Store and fails on the
// first differing (normalized) reply. Replay one seed with VSDB_DIFF_SEED=<n> (and VSDB_DIFF_N=<count>).
func TestDifferentialAgainstRedis(t *testing.T) {
	conn, r := startRedis(t)
	n := diffCount(t)
	total := 0
	for _, seed := range diffSeeds(t) {
		if got := redisDo(t, conn, r, [][]byte{[]byte("FLUSHALL")}); string(got) != "+OK\r\n" {
			t.Fatalf("FLUSHALL: %q", got)
		}
		st := shard.NewStore(shard.Config{})
		cmds := difftest.Generate(rand.New(rand.NewSource(seed)), n)
		for i, args := range cmds {
			want := redisDo(t, conn, r, args)
			got := st.Exec(nil, args, time.Now().UnixMilli())
			nw, ng := difftest.Normalize(args, want), difftest.Normalize(args, got)
			if string(nw) != string(ng) || !ttlClose(args, want, got) {
				var ctx strings.Builder
				for j := max(0, i-15); j < i; j++ {
					fmt.Fprintf(&ctx, "  #%d %q\n", j, cmds[j])
				}
				t.Fatalf("seed %d (replay: VSDB_DIFF_SEED=%d VSDB_DIFF_N=%d), command #%d differs:\n%s  #%d %q\nredis: %q\nvsdb:  %q\n(normalized: redis %q, vsdb %q)",
					seed, seed, n, i, ctx.String(), i, args, want, got, nw, ng)
			}
			total++
		}
	}
	t.Logf("%d commands matched redis-server", total)
}
