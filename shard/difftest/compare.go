package difftest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Seeds returns the seeds a differential test runs: VSDB_DIFF_SEED replays one seed, otherwise 1..4.
func Seeds(tb testing.TB) []int64 {
	if s := os.Getenv("VSDB_DIFF_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			tb.Fatalf("VSDB_DIFF_SEED=%q: %v", s, err)
		}
		return []int64{n}
	}
	return []int64{1, 2, 3, 4}
}

// Count returns the commands per seed: VSDB_DIFF_N, or 3000.
func Count(tb testing.TB) int {
	if s := os.Getenv("VSDB_DIFF_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			tb.Fatalf("VSDB_DIFF_N=%q: %v", s, err)
		}
		return n
	}
	return 3000
}

// Equivalent says whether two raw replies to args agree: equal once normalized (Normalize), and for
// TTL/PTTL within the clock skew between the two executions (a little over one second, as TTL rounds).
func Equivalent(args [][]byte, want, got []byte) bool {
	if string(Normalize(args, want)) != string(Normalize(args, got)) {
		return false
	}
	name := strings.ToLower(string(args[0]))
	if name != "ttl" && name != "pttl" {
		return true
	}
	x, err1 := strconv.ParseInt(strings.TrimSpace(string(want[1:])), 10, 64)
	y, err2 := strconv.ParseInt(strings.TrimSpace(string(got[1:])), 10, 64)
	if err1 != nil || err2 != nil || x < 0 || y < 0 {
		return true
	}
	tol := int64(2)
	if name == "pttl" {
		tol = 2000
	}
	return x-y <= tol && y-x <= tol
}
