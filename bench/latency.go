package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/vsdb/vsdb/protocol"
)

// ErrLatency reports a failed latency run: a connection error or a reply other than +OK.
var ErrLatency = errors.New("bench: latency")

// LatencyOptions configure MeasureSetLatency.
type LatencyOptions struct {
	// Addr is the server's RESP address (host:port).
	Addr string
	// Requests is how many SETs are timed. Default 20,000.
	Requests int
	// Warmup is how many SETs run first, untimed. Default 2,000; negative: none.
	Warmup int
	// KeySpace is the number of distinct keys, chosen at random (redis-benchmark -r). Default 100,000.
	KeySpace int
	// ValueBytes is the value size (redis-benchmark -d). Default 3, redis-benchmark's.
	ValueBytes int
	// Seed seeds the key choice.
	Seed uint64
}

// Validate reports every bad field of o at once, wrapped in ErrLatency. Zero numeric fields mean
// their defaults.
func (o LatencyOptions) Validate() error {
	var errs []error
	if o.Addr == "" {
		errs = append(errs, errors.New("Addr is empty"))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Requests", o.Requests}, {"KeySpace", o.KeySpace}, {"ValueBytes", o.ValueBytes}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s = %d, want > 0", f.name, f.v))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrLatency, errors.Join(errs...))
}

func (o LatencyOptions) withDefaults() LatencyOptions {
	if o.Requests == 0 {
		o.Requests = 20_000
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	} else if o.Warmup == 0 {
		o.Warmup = 2_000
	}
	if o.KeySpace == 0 {
		o.KeySpace = DefaultKeySpace
	}
	if o.ValueBytes == 0 {
		o.ValueBytes = 3
	}
	return o
}

// LatencyResult is the distribution of one client's round trips, exact (no histogram buckets).
type LatencyResult struct {
	Requests            int
	Mean, P50, P95, P99 time.Duration
	Min, Max            time.Duration
}

func (r LatencyResult) String() string {
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	return fmt.Sprintf("requests=%d p50_us=%s p95_us=%s p99_us=%s mean_us=%s min_us=%s max_us=%s",
		r.Requests, us(r.P50), us(r.P95), us(r.P99), us(r.Mean), us(r.Min), us(r.Max))
}

// MeasureSetLatency runs one client that sends SET key value, waits for +OK, and sends the next, and
// returns the exact distribution of the round trips, each timed from just before the request is
// written to just after the reply is read. redis-benchmark reports percentiles as histogram buckets
// (8 µs wide around 150 µs); this is the same load, without the buckets.
func MeasureSetLatency(ctx context.Context, o LatencyOptions) (LatencyResult, error) {
	if err := o.Validate(); err != nil {
		return LatencyResult{}, err
	}
	o = o.withDefaults()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return LatencyResult{}, fmt.Errorf("%w: %w", ErrLatency, err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()
	return measureSetLatency(nc, o)
}

func measureSetLatency(rw io.ReadWriter, o LatencyOptions) (LatencyResult, error) {
	set, value := []byte("SET"), bytes.Repeat([]byte{'x'}, o.ValueBytes)
	rd := bufio.NewReader(rw)
	rng := rand.New(rand.NewPCG(o.Seed, 0))
	var req, key []byte
	samples := make([]time.Duration, 0, o.Requests)
	for i := range o.Warmup + o.Requests {
		key = fmt.Appendf(key[:0], "key:%012d", rng.IntN(o.KeySpace))
		req = protocol.AppendCommand(req[:0], set, key, value)
		start := time.Now()
		if _, err := rw.Write(req); err != nil {
			return LatencyResult{}, fmt.Errorf("%w: request %d: %w", ErrLatency, i, err)
		}
		line, err := rd.ReadSlice('\n')
		elapsed := time.Since(start)
		if err != nil {
			return LatencyResult{}, fmt.Errorf("%w: reply %d: %w", ErrLatency, i, err)
		}
		if string(line) != "+OK\r\n" {
			return LatencyResult{}, fmt.Errorf("%w: reply %d is %q, want +OK", ErrLatency, i, line)
		}
		if i >= o.Warmup {
			samples = append(samples, elapsed)
		}
	}
	return summarize(samples), nil
}

// summarize returns the exact statistics of samples (nearest-rank percentiles).
func summarize(samples []time.Duration) LatencyResult {
	if len(samples) == 0 {
		return LatencyResult{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1 // nearest rank: the ceil(p·n)-th smallest
		return s[min(max(i, 0), len(s)-1)]
	}
	return LatencyResult{Requests: len(s), Mean: sum / time.Duration(len(s)),
		P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Min: s[0], Max: s[len(s)-1]}
}
