package bench

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	self := RedisServerCommand("redis-server")
	ok := RedisCompareOptions{Target: self, RedisServer: "sh", RedisBenchmark: "sh"} // any binary on PATH
	tests := []struct {
		name   string
		mutate func(*RedisCompareOptions)
		ok     bool
	}{
		{"defaults with target", func(*RedisCompareOptions) {}, true},
		{"no vsdb binary", func(o *RedisCompareOptions) { o.Target = nil }, false},
		{"missing vsdb binary", func(o *RedisCompareOptions) { o.Target, o.VsdbBinary = nil, "/nonexistent/vsdb" }, false},
		{"vsdb binary on PATH", func(o *RedisCompareOptions) { o.Target, o.VsdbBinary = nil, "sh" }, true},
		{"missing redis-server", func(o *RedisCompareOptions) { o.RedisServer = "/nonexistent/redis-server" }, false},
		{"missing redis-benchmark", func(o *RedisCompareOptions) { o.RedisBenchmark = "/nonexistent/rb" }, false},
		{"negative rounds", func(o *RedisCompareOptions) { o.Rounds = -1 }, false},
		{"same core", func(o *RedisCompareOptions) { o.ServerCPU, o.LoadCPU = 1, 1 }, false},
		{"core out of range", func(o *RedisCompareOptions) { o.LoadCPU = 1 << 20 }, false},
		{"negative core", func(o *RedisCompareOptions) { o.ServerCPU = -1 }, false},
		{"empty workloads", func(o *RedisCompareOptions) { o.Workloads = []Workload{} }, false},
		{"duplicate workload", func(o *RedisCompareOptions) {
			o.Workloads = append(DefaultRedisCompareWorkloads(10), DefaultRedisCompareWorkloads(10)[0])
		}, false},
		{"bad workload", func(o *RedisCompareOptions) {
			o.Workloads = DefaultRedisCompareWorkloads(0)
		}, false},
		{"target named redis", func(o *RedisCompareOptions) { o.TargetName = BaselineName }, false},
		{"negative timeout", func(o *RedisCompareOptions) { o.RunTimeout = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mutate(&o)
			err := o.Validate()
			if tt.ok && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("err = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestWorkloadValidate(t *testing.T) {
	base := DefaultRedisCompareWorkloads(1000)[0]
	tests := []struct {
		name   string
		mutate func(*Workload)
		ok     bool
	}{
		{"default", func(*Workload) {}, true},
		{"get only, spaced", func(w *Workload) { w.Tests = " GET " }, true},
		{"empty name", func(w *Workload) { w.Name = "" }, false},
		{"name with space", func(w *Workload) { w.Name = "a b" }, false},
		{"no tests", func(w *Workload) { w.Tests = " , " }, false},
		{"unsupported test", func(w *Workload) { w.Tests = "set,incr" }, false},
		{"duplicate test", func(w *Workload) { w.Tests = "set,SET" }, false},
		{"zero clients", func(w *Workload) { w.Clients = 0 }, false},
		{"zero pipeline", func(w *Workload) { w.Pipeline = 0 }, false},
		{"zero requests", func(w *Workload) { w.Requests = 0 }, false},
		{"zero key space", func(w *Workload) { w.KeySpace = 0 }, false},
		{"zero value bytes", func(w *Workload) { w.ValueBytes = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := base
			tt.mutate(&w)
			err := w.Validate()
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestDefaultWorkloadsAndTargets(t *testing.T) {
	ws := DefaultRedisCompareWorkloads(500_000)
	want := []struct{ clients, pipeline int }{{1, 1}, {50, 1}, {50, 16}}
	if len(ws) != len(want) {
		t.Fatalf("%d workloads", len(ws))
	}
	for i, w := range ws {
		if w.Clients != want[i].clients || w.Pipeline != want[i].pipeline || w.Requests != 500_000 || w.Tests != "set,get" {
			t.Errorf("workload %d = %+v", i, w)
		}
	}
	if g := TargetFor(ws[1]); g != (Target{1.0, 1.2}) {
		t.Errorf("unpipelined goal %+v", g)
	}
	if g := TargetFor(ws[2]); g != (Target{0.9, 1.3}) {
		t.Errorf("pipelined goal %+v", g)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"redis-server", "--save", "", "--port", "6379", "it's", "a b"})
	want := `redis-server --save '' --port 6379 'it'\''s' 'a b'`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestBenchmarkRunArgv(t *testing.T) {
	r := BenchmarkRun{RedisBenchmark: "redis-benchmark", Port: 7000, Test: "get", Pin: []string{"taskset", "-c", "1"},
		Workload: Workload{Name: "w", Tests: "get", Clients: 50, Pipeline: 16, Requests: 500000, KeySpace: 1000, ValueBytes: 8}}
	got := shellJoin(r.Argv())
	want := "taskset -c 1 redis-benchmark -h 127.0.0.1 -p 7000 -t get -n 500000 -c 50 -P 16 -r 1000 -d 8 --csv"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
