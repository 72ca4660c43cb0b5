package bench

import (
	"errors"
	"math"
	"testing"
)

// Samples captured from redis-benchmark 7.0.15 --csv (stdout) on the dev machine.
const (
	csvHeader    = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"` + "\n"
	csvSetC1     = csvHeader + `"SET","30303.03","0.023","0.016","0.023","0.039","0.087","0.287"` + "\n"
	csvGetC50P16 = csvHeader + `"GET","500000.00","1.081","0.264","0.575","4.431","6.111","6.399"` + "\n"
	csvSetGet    = csvHeader + `"SET","28985.51","1.025","0.272","0.959","1.831","2.047","2.335"` + "\n" +
		`"GET","50000.00","0.554","0.152","0.447","1.127","1.831","2.119"` + "\n"
	// stdout of a run that hit "OOM command not allowed" (redis-benchmark exits 1 and prints no row).
	csvHeaderOnly = csvHeader
	// redis-benchmark < 6.2 printed no header and no percentiles.
	csvLegacy = `"SET","123456.79"` + "\n" + `"GET","130000.00"` + "\n"
)

func TestParseBenchmarkCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []BenchmarkRow
		wantErr bool
	}{
		{name: "set 1 client", in: csvSetC1, want: []BenchmarkRow{
			{Test: "SET", RPS: 30303.03, AvgMs: 0.023, MinMs: 0.016, P50Ms: 0.023, P95Ms: 0.039, P99Ms: 0.087, MaxMs: 0.287}}},
		{name: "get 50 clients P16", in: csvGetC50P16, want: []BenchmarkRow{
			{Test: "GET", RPS: 500000, AvgMs: 1.081, MinMs: 0.264, P50Ms: 0.575, P95Ms: 4.431, P99Ms: 6.111, MaxMs: 6.399}}},
		{name: "set,get", in: csvSetGet, want: []BenchmarkRow{
			{Test: "SET", RPS: 28985.51, AvgMs: 1.025, MinMs: 0.272, P50Ms: 0.959, P95Ms: 1.831, P99Ms: 2.047, MaxMs: 2.335},
			{Test: "GET", RPS: 50000, AvgMs: 0.554, MinMs: 0.152, P50Ms: 0.447, P95Ms: 1.127, P99Ms: 1.831, MaxMs: 2.119}}},
		{name: "crlf and noise before header", in: "WARNING: Could not fetch server CONFIG\r\n" + csvSetC1, want: []BenchmarkRow{
			{Test: "SET", RPS: 30303.03, AvgMs: 0.023, MinMs: 0.016, P50Ms: 0.023, P95Ms: 0.039, P99Ms: 0.087, MaxMs: 0.287}}},
		{name: "header only", in: csvHeaderOnly, want: []BenchmarkRow{}},
		{name: "minimal columns", in: "\"test\",\"rps\",\"p50_latency_ms\",\"p99_latency_ms\"\n\"GET\",\"10\",\"1\",\"2\"\n", want: []BenchmarkRow{
			{Test: "GET", RPS: 10, AvgMs: math.NaN(), MinMs: math.NaN(), P50Ms: 1, P95Ms: math.NaN(), P99Ms: 2, MaxMs: math.NaN()}}},
		{name: "legacy without header", in: csvLegacy, wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "missing p99 column", in: "\"test\",\"rps\",\"p50_latency_ms\"\n\"GET\",\"10\",\"1\"\n", wantErr: true},
		{name: "short row", in: csvHeader + `"SET","30303.03","0.023"` + "\n", wantErr: true},
		{name: "bad number", in: csvHeader + `"SET","fast","0.023","0.016","0.023","0.039","0.087","0.287"` + "\n", wantErr: true},
		{name: "negative number", in: csvHeader + `"SET","-1","0.023","0.016","0.023","0.039","0.087","0.287"` + "\n", wantErr: true},
		{name: "infinite number", in: csvHeader + `"SET","+Inf","0.023","0.016","0.023","0.039","0.087","0.287"` + "\n", wantErr: true},
		{name: "empty test name", in: csvHeader + `"","1","0.023","0.016","0.023","0.039","0.087","0.287"` + "\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBenchmarkCSV([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBenchmarkCSV) {
					t.Fatalf("err = %v, want ErrBenchmarkCSV", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d rows %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if !rowEqual(got[i], tt.want[i]) {
					t.Errorf("row %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func rowEqual(a, b BenchmarkRow) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return a.Test == b.Test && eq(a.RPS, b.RPS) && eq(a.AvgMs, b.AvgMs) && eq(a.MinMs, b.MinMs) &&
		eq(a.P50Ms, b.P50Ms) && eq(a.P95Ms, b.P95Ms) && eq(a.P99Ms, b.P99Ms) && eq(a.MaxMs, b.MaxMs)
}

func TestFindRow(t *testing.T) {
	rows, err := ParseBenchmarkCSV([]byte(csvSetGet))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := FindRow(rows, "get"); !ok || r.RPS != 50000 {
		t.Fatalf("FindRow(get) = %+v, %v", r, ok)
	}
	if _, ok := FindRow(rows, "incr"); ok {
		t.Fatal("FindRow(incr) found a row")
	}
}

func FuzzParseBenchmarkCSV(f *testing.F) {
	for _, s := range []string{csvSetC1, csvGetC50P16, csvSetGet, csvHeaderOnly, csvLegacy, "\"test\",\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseBenchmarkCSV(b)
		if err != nil {
			if !errors.Is(err, ErrBenchmarkCSV) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		for _, r := range rows {
			if r.Test == "" || !(r.RPS >= 0) || !(r.P50Ms >= 0) || !(r.P99Ms >= 0) {
				t.Fatalf("accepted bad row %+v", r)
			}
		}
	})
}
