package bench

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// MachineInfo describes where a benchmark ran.
type MachineInfo struct {
	NProc                 int    // CPUs usable by the driver (what nproc prints)
	CPUModel              string // "model name" from /proc/cpuinfo
	Kernel                string // /proc/sys/kernel/osrelease
	GoVersion             string // Go that built the driver
	TargetGoVersion       string // Go that built the target binary, when it is a Go binary
	RedisVersion          string // first line of `redis-server --version`
	RedisBenchmarkVersion string // first line of `redis-benchmark --version`
	LoadAvg               string // the 1, 5 and 15 minute load averages from /proc/loadavg at the start
}

// Load1 is the one-minute load average, or NaN when unknown.
func (m MachineInfo) Load1() float64 {
	f := strings.Fields(m.LoadAvg)
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// String is a one-line description.
func (m MachineInfo) String() string {
	s := fmt.Sprintf("nproc=%d; cpu=%s; kernel=%s; go=%s", m.NProc, orUnknown(m.CPUModel), orUnknown(m.Kernel), orUnknown(m.GoVersion))
	if m.TargetGoVersion != "" && m.TargetGoVersion != m.GoVersion {
		s += "; target built with " + m.TargetGoVersion
	}
	return s + fmt.Sprintf("; redis=%s; redis-benchmark=%s; loadavg=%s",
		orUnknown(m.RedisVersion), orUnknown(m.RedisBenchmarkVersion), orUnknown(m.LoadAvg))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// versionTimeout bounds each `--version` call.
const versionTimeout = 5 * time.Second

// DescribeMachine gathers MachineInfo; anything it cannot find is left empty. targetBinary may be "".
func DescribeMachine(redisServer, redisBenchmark, targetBinary string) MachineInfo {
	m := MachineInfo{NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = CPUModelFromCPUInfo(b)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if targetBinary != "" {
		if path, err := exec.LookPath(targetBinary); err == nil {
			if bi, err := buildinfo.ReadFile(path); err == nil {
				m.TargetGoVersion = bi.GoVersion
			}
		}
	}
	m.RedisVersion = firstLineOf(redisServer, "--version")
	m.RedisBenchmarkVersion = firstLineOf(redisBenchmark, "--version")
	return m
}

// CPUModelFromCPUInfo returns the first "model name" (or, on arm64, "Hardware"/"CPU part") value
// of /proc/cpuinfo contents.
func CPUModelFromCPUInfo(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	fallback := ""
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name":
			return v
		case "Hardware", "CPU part":
			if fallback == "" {
				fallback = k + " " + v
			}
		}
	}
	return fallback
}

func firstLineOf(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), versionTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// CPUsAllowed returns the Cpus_allowed_list line of /proc/<pid>/status (e.g. "0" or "0-1"), which
// shows whether pinning took effect.
func CPUsAllowed(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no Cpus_allowed_list in /proc/%d/status", pid)
}
