package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ClockTicksPerSecond is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. The kernel fixes it
// at 100 in its user ABI on amd64 and arm64 whatever CONFIG_HZ is, so CPU times read here have a
// resolution of 10 ms; a run must burn well over 100 ticks for its CPU/op to be meaningful.
const ClockTicksPerSecond = 100

// ProcStat is the part of /proc/<pid>/stat this package uses. For a process (as opposed to one of
// its /proc/<pid>/task/<tid> entries) the kernel sums utime and stime over all of its threads,
// including threads that have exited.
type ProcStat struct {
	PID        int
	Comm       string
	State      byte
	UtimeTicks uint64 // field 14: user-mode CPU time, in clock ticks
	StimeTicks uint64 // field 15: kernel-mode CPU time, in clock ticks
}

// CPUTicks is utime+stime.
func (s ProcStat) CPUTicks() uint64 { return s.UtimeTicks + s.StimeTicks }

// TicksToMicros converts clock ticks to microseconds.
func TicksToMicros(ticks uint64) float64 { return float64(ticks) * (1e6 / ClockTicksPerSecond) }

// ParseProcStat parses the contents of /proc/<pid>/stat. The comm field is in parentheses and may
// itself contain spaces and parentheses, so the fields after it are found from the last ')'.
func ParseProcStat(b []byte) (ProcStat, error) {
	var s ProcStat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return s, fmt.Errorf("%w: no (comm) in %q", ErrProcStat, truncate(b, 64))
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return s, fmt.Errorf("%w: bad pid in %q", ErrProcStat, truncate(b, 64))
	}
	s.PID = pid
	s.Comm = string(b[open+1 : closing])
	// rest[0] is field 3 (state), so field n is rest[n-3].
	rest := bytes.Fields(b[closing+1:])
	if len(rest) < 13 {
		return s, fmt.Errorf("%w: %d fields after comm, want ≥ 13", ErrProcStat, len(rest))
	}
	if len(rest[0]) != 1 {
		return s, fmt.Errorf("%w: bad state %q", ErrProcStat, rest[0])
	}
	s.State = rest[0][0]
	if s.UtimeTicks, err = strconv.ParseUint(string(rest[14-3]), 10, 64); err != nil {
		return s, fmt.Errorf("%w: utime: %v", ErrProcStat, err)
	}
	if s.StimeTicks, err = strconv.ParseUint(string(rest[15-3]), 10, 64); err != nil {
		return s, fmt.Errorf("%w: stime: %v", ErrProcStat, err)
	}
	return s, nil
}

// ReadProcStat reads and parses /proc/<pid>/stat.
func ReadProcStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}, fmt.Errorf("%w: %w", ErrProcStat, err)
	}
	return ParseProcStat(b)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
