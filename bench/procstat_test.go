package bench

import (
	"errors"
	"os"
	"testing"
)

// Samples captured from /proc/<pid>/stat on the dev machine (kernel 6.18).
const (
	statRedisIdle = "5360 (redis-server) S 5358 5358 3445 0 -1 4194560 1113 0 6 0 2 11 0 0 20 0 5 0 31409 64905216 3159 18446744073709551615 94278973317120 94278974459581 140721377875248 0 0 0 0 12293 17642 0 0 0 17 0 0 0 0 0 0 94278974943024 94278975316840 94279017451520 140721377880490 140721377880572 140721377880572 140721377882082 0\n"
	statRedisBusy = "5360 (redis-server) S 1 5358 3445 0 -1 4194560 1159 0 6 0 80 77 0 0 20 0 5 0 31409 64905216 3118 18446744073709551615 94278973317120 94278974459581 140721377875248 0 0 0 0 12293 17642 0 0 0 17 0 0 0 0 0 0 94278974943024 94278975316840 94279017451520 140721377880490 140721377880572 140721377880572 140721377882082 0\n"
	// A copy of sleep(1) named "x) (y z": comm holds spaces and both parentheses.
	statOddComm = "21781 (x) (y z) S 21767 21767 3445 0 -1 4194304 131 0 0 0 0 0 0 0 20 0 1 0 97814 2990080 416 18446744073709551615 94062136725504 94062136743433 140731051254464 0 0 0 0 6 0 1 0 0 17 1 0 0 0 0 0 94062136757520 94062136758784 94062820818944 140731051256319 140731051256334 140731051256334 140731051257835 0\n"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ProcStat
		wantErr bool
	}{
		{name: "redis idle", in: statRedisIdle, want: ProcStat{PID: 5360, Comm: "redis-server", State: 'S', UtimeTicks: 2, StimeTicks: 11}},
		{name: "redis busy", in: statRedisBusy, want: ProcStat{PID: 5360, Comm: "redis-server", State: 'S', UtimeTicks: 80, StimeTicks: 77}},
		{name: "comm with spaces and parens", in: statOddComm, want: ProcStat{PID: 21781, Comm: "x) (y z", State: 'S'}},
		{name: "empty", in: "", wantErr: true},
		{name: "no comm", in: "5360 redis-server S 1 2 3", wantErr: true},
		{name: "bad pid", in: "x (redis-server) S 1 5358 3445 0 -1 4194560 1159 0 6 0 80 77 0", wantErr: true},
		{name: "truncated before stime", in: "5360 (redis-server) S 1 5358 3445 0 -1 4194560 1159 0 6 0 80", wantErr: true},
		{name: "negative utime", in: "5360 (redis-server) S 1 5358 3445 0 -1 4194560 1159 0 6 0 -80 77 0", wantErr: true},
		{name: "bad state", in: "5360 (redis-server) SS 1 5358 3445 0 -1 4194560 1159 0 6 0 80 77 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrProcStat) {
					t.Fatalf("err = %v, want ErrProcStat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := TicksToMicros(157); got != 1_570_000 {
		t.Fatalf("TicksToMicros(157) = %v", got)
	}
}

func TestReadProcStatSelf(t *testing.T) {
	s, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != os.Getpid() || s.Comm == "" {
		t.Fatalf("got %+v for pid %d", s, os.Getpid())
	}
	if _, err := ReadProcStat(1 << 30); !errors.Is(err, ErrProcStat) {
		t.Fatalf("missing pid: err = %v", err)
	}
}

func FuzzParseProcStat(f *testing.F) {
	for _, s := range []string{statRedisIdle, statRedisBusy, statOddComm, "1 () R 0 0 0 0 0 0 0 0 0 0 0 0", ")("} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseProcStat(b)
		if err != nil {
			if !errors.Is(err, ErrProcStat) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if s.PID <= 0 || s.State == 0 {
			t.Fatalf("accepted pid %d state %q", s.PID, s.State)
		}
	})
}

func TestCPUModelFromCPUInfo(t *testing.T) {
	tests := []struct{ in, want string }{
		{"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n", "AMD EPYC"},
		{"processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n", "CPU part 0xd0c"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CPUModelFromCPUInfo([]byte(tt.in)); got != tt.want {
			t.Errorf("CPUModelFromCPUInfo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if l := (MachineInfo{LoadAvg: "1.50 0.2 0.1"}).Load1(); l != 1.5 {
		t.Errorf("Load1 = %v", l)
	}
	if _, err := CPUsAllowed(os.Getpid()); err != nil {
		t.Errorf("CPUsAllowed(self): %v", err)
	}
}
