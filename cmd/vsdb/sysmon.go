package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// sysmonAwakeSetting is the GODEBUG setting the vsdb binary runs with (see keepSysmonAwake).
// 2147483647 ms (24.8 days) is schedtrace's largest period: the runtime prints one scheduler line
// to stderr per period of machine uptime, so at most one line every 24.8 days.
const sysmonAwakeSetting = "schedtrace=2147483647"

/*
keepSysmonAwake re-executes the binary (same PID, arguments and environment) with
GODEBUG=schedtrace=2147483647 added, unless GODEBUG already sets schedtrace (GODEBUG=schedtrace=0
keeps the runtime's default behaviour).

Why: Go's system monitor thread (sysmon) parks whenever every P is idle, and the next goroutine that
enters a system call wakes it and resets its sleep to 20 µs, after which it sleeps in 20 µs steps
for at least 50 rounds (runtime/proc.go, sysmon). A vsdb node alternates between idle and busy
every few hundred microseconds (every frame from a peer, every client request), so sysmon ran
almost continuously in 20 µs naps on the other CPU: on this 2-vCPU VM, `perf` put 21 % of a replica's
CPU in sysmon's sleeps and wake-ups (nanosleep, futex, and the paravirtual context-switch cost).
With schedtrace set, sysmon never parks (the runtime keeps it polling for the trace); its sleep then
backs off to 10 ms while nothing needs retaking, and nothing has to wake it. Measured on the same
machine (docs/benchmarks.md §3.00 and §4.4): the 3-node cluster's CPU per strict SET fell from
69–81 µs to 51–55 µs, and the group layer's one-sender OrderedSend p50 from 151–189 µs to 112–122 µs.

schedtrace is read only at process start, which is why this re-executes rather than calling
os.Setenv. Processes that vsdb starts (vsdb dev's nodes, the chaos and benchmark clusters) inherit
the setting. A program that embeds vsdb sets GODEBUG itself (docs/configuration.md).
*/
func keepSysmonAwake() {
	godebug := os.Getenv("GODEBUG")
	for _, kv := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(kv), "schedtrace=") {
			return
		}
	}
	self, err := os.Executable()
	if err != nil {
		return // run as we are: the setting is an optimisation
	}
	if godebug != "" {
		godebug += ","
	}
	env := []string{"GODEBUG=" + godebug + sysmonAwakeSetting}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(self, os.Args, env) // returns only on failure
	fmt.Fprintf(os.Stderr, "vsdb: could not re-execute with GODEBUG=%s (running without it): %v\n", sysmonAwakeSetting, err)
}
