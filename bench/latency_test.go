package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/protocol/nettest"
)

func TestSummarizeNearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- { // 100 µs down to 1 µs: the order must not matter
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	r := summarize(samples)
	want := LatencyResult{Requests: 100, Mean: 50500 * time.Nanosecond, P50: 50 * time.Microsecond,
		P95: 95 * time.Microsecond, P99: 99 * time.Microsecond, Min: time.Microsecond, Max: 100 * time.Microsecond}
	if r != want {
		t.Fatalf("summarize = %+v, want %+v", r, want)
	}
	if samples[0] != 100*time.Microsecond {
		t.Fatal("summarize sorted its input")
	}
	if r := summarize([]time.Duration{7}); r.P50 != 7 || r.P99 != 7 || r.Requests != 1 {
		t.Fatalf("one sample: %+v", r)
	}
}

// fakeServer answers each RESP command read from conn with reply(n, args), n counting from 0.
func fakeServer(conn net.Conn, reply func(n int, args []string) string) {
	rd := protocol.NewReader(conn, protocol.DefaultLimits())
	for n := 0; ; n++ {
		raw, err := rd.ReadCommand()
		if err != nil {
			return
		}
		args := make([]string, len(raw))
		for i, a := range raw {
			args[i] = string(a)
		}
		if _, err := io.WriteString(conn, reply(n, args)); err != nil {
			return
		}
	}
}

func TestMeasureSetLatency(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	keys := map[string]bool{}
	go func() {
		defer server.Close()
		fakeServer(server, func(n int, args []string) string {
			if len(args) != 3 || args[0] != "SET" || !strings.HasPrefix(args[1], "key:") || args[2] != "xxxxx" {
				t.Errorf("request %d is %q", n, args)
			}
			keys[args[1]] = true
			return "+OK\r\n"
		})
	}()
	r, err := measureSetLatency(client, LatencyOptions{Requests: 300, Warmup: 50, KeySpace: 10, ValueBytes: 5}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 300 || r.Min <= 0 || r.P50 < r.Min || r.P99 < r.P50 || r.Max < r.P99 {
		t.Fatalf("result %+v", r)
	}
	client.Close()
	if len(keys) < 2 || len(keys) > 10 {
		t.Fatalf("%d distinct keys, want 2..10 (KeySpace 10)", len(keys))
	}
}

func TestMeasureSetLatencyErrorReply(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		fakeServer(server, func(n int, _ []string) string {
			if n == 3 {
				return "-CLUSTERDOWN The cluster is down\r\n"
			}
			return "+OK\r\n"
		})
	}()
	_, err := measureSetLatency(client, LatencyOptions{Requests: 10, Warmup: -1}.withDefaults())
	if !errors.Is(err, ErrLatency) || !strings.Contains(err.Error(), "CLUSTERDOWN") || !strings.Contains(err.Error(), "reply 3") {
		t.Fatalf("err = %v, want ErrLatency naming reply 3 and its text", err)
	}
}

func TestMeasureSetLatencyDialError(t *testing.T) {
	addr := nettest.LoopbackAddrs(t, 1)[0] // reserved and closed: nothing listens there
	if _, err := MeasureSetLatency(context.Background(), LatencyOptions{Addr: addr}); !errors.Is(err, ErrLatency) {
		t.Fatalf("err = %v, want ErrLatency", err)
	}
}

func TestLatencyOptionsValidate(t *testing.T) {
	if err := (LatencyOptions{Addr: "x:1"}).Validate(); err != nil {
		t.Fatalf("zero fields (defaults): %v", err)
	}
	err := LatencyOptions{Requests: -1, KeySpace: -2, ValueBytes: -3}.Validate()
	if !errors.Is(err, ErrLatency) {
		t.Fatalf("err = %v, want ErrLatency", err)
	}
	for _, w := range []string{"Addr is empty", "Requests = -1", "KeySpace = -2", "ValueBytes = -3"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
