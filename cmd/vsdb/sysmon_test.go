package main

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestBinaryKeepsSysmonAwake starts `vsdb server` as a process and reads its environment from /proc
// once it serves: the binary re-executed itself with GODEBUG=schedtrace=… added to what was there,
// and left a GODEBUG that already sets schedtrace as it was.
func TestBinaryKeepsSysmonAwake(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc")
	}
	for _, tc := range []struct{ godebug, want string }{
		{"", "GODEBUG=" + sysmonAwakeSetting},
		{"madvdontneed=1", "GODEBUG=madvdontneed=1," + sysmonAwakeSetting},
		{"schedtrace=0", "GODEBUG=schedtrace=0"},
	} {
		env := []string{"VSDB_TEST_RUN_MAIN=1"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GODEBUG=") {
				env = append(env, kv)
			}
		}
		if tc.godebug != "" {
			env = append(env, "GODEBUG="+tc.godebug)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "server", "--port", "0", "--http-port", "0")
		cmd.Env = env
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		if !sc.Scan() { // the start line: the process serves, so any re-execution happened
			_ = cmd.Process.Kill()
			t.Fatalf("GODEBUG=%q: no start line", tc.godebug)
		}
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/environ")
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, kv := range strings.Split(string(raw), "\x00") {
			if strings.HasPrefix(kv, "GODEBUG=") {
				got = append(got, kv)
			}
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("GODEBUG=%q at start: the server runs with %q, want [%q]", tc.godebug, got, tc.want)
		}
	}
}
