package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchVsyncSmoke runs `vsdb bench vsync` small (three child processes on loopback) and checks
// that it completes and prints its table with a throughput and a latency figure.
func TestBenchVsyncSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "bench", "vsync", "--only", "throughput,latency",
		"--count", "2000", "--latency-count", "50", "--warmup", "500")
	cmd.Env = append(os.Environ(), "VSDB_TEST_RUN_MAIN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench vsync: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"| OrderedSend (3 senders, batched) |", "| OrderedSend (1 sender, light load) | — |", " µs |"} {
		if !strings.Contains(s, want) {
			t.Fatalf("output lacks %q:\n%s", want, s)
		}
	}
	t.Log("\n" + s)
}
