package bench

import (
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// BenchmarkRow is one test's line of `redis-benchmark --csv` output (Redis ≥ 6.2 prints a header
// and latency percentiles; older versions print only "TEST","rps" and are rejected). Latencies are
// client-observed, in milliseconds; a column the installed version does not print is NaN.
type BenchmarkRow struct {
	Test                                     string // as printed, e.g. "SET"
	RPS                                      float64
	AvgMs, MinMs, P50Ms, P95Ms, P99Ms, MaxMs float64
}

// csvColumns maps redis-benchmark CSV header names to row fields. test, rps, p50 and p99 are
// required; the rest are optional.
var csvColumns = []struct {
	name     string
	required bool
	field    func(*BenchmarkRow) *float64
}{
	{"rps", true, func(r *BenchmarkRow) *float64 { return &r.RPS }},
	{"avg_latency_ms", false, func(r *BenchmarkRow) *float64 { return &r.AvgMs }},
	{"min_latency_ms", false, func(r *BenchmarkRow) *float64 { return &r.MinMs }},
	{"p50_latency_ms", true, func(r *BenchmarkRow) *float64 { return &r.P50Ms }},
	{"p95_latency_ms", false, func(r *BenchmarkRow) *float64 { return &r.P95Ms }},
	{"p99_latency_ms", true, func(r *BenchmarkRow) *float64 { return &r.P99Ms }},
	{"max_latency_ms", false, func(r *BenchmarkRow) *float64 { return &r.MaxMs }},
}

// ParseBenchmarkCSV parses the stdout of `redis-benchmark --csv`. Lines before the header (the
// header's first column is "test") are ignored, as are blank lines; every line after it must be a
// row with as many columns as the header and finite, non-negative numbers.
func ParseBenchmarkCSV(b []byte) ([]BenchmarkRow, error) {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), `"test",`) {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("%w: no header line starting with \"test\" (redis-benchmark older than 6.2?) in %q",
			ErrBenchmarkCSV, truncate(b, 200))
	}
	r := csv.NewReader(strings.NewReader(strings.Join(lines[start:], "\n")))
	r.FieldsPerRecord = 0 // every record as wide as the header
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBenchmarkCSV, err)
	}
	header := records[0]
	index := map[string]int{}
	for i, h := range header {
		index[strings.TrimSpace(h)] = i
	}
	for _, c := range csvColumns {
		if _, ok := index[c.name]; c.required && !ok {
			return nil, fmt.Errorf("%w: header %q lacks column %q", ErrBenchmarkCSV, header, c.name)
		}
	}
	rows := make([]BenchmarkRow, 0, len(records)-1)
	for _, rec := range records[1:] {
		row := BenchmarkRow{Test: strings.TrimSpace(rec[index["test"]])}
		if row.Test == "" {
			return nil, fmt.Errorf("%w: empty test name in %q", ErrBenchmarkCSV, rec)
		}
		for _, c := range csvColumns {
			dst := c.field(&row)
			i, ok := index[c.name]
			if !ok {
				*dst = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("%w: test %s column %s: bad number %q", ErrBenchmarkCSV, row.Test, c.name, rec[i])
			}
			*dst = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// FindRow returns the row for test (case-insensitive), or false.
func FindRow(rows []BenchmarkRow, test string) (BenchmarkRow, bool) {
	for _, r := range rows {
		if strings.EqualFold(r.Test, test) {
			return r, true
		}
	}
	return BenchmarkRow{}, false
}
