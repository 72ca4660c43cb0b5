package bench

import "errors"

// Errors of this package; returned errors wrap one of them.
var (
	// ErrInvalidOptions: RedisCompareOptions or a Workload failed validation.
	ErrInvalidOptions = errors.New("bench: invalid options")
	// ErrProcStat: /proc/<pid>/stat could not be read or parsed.
	ErrProcStat = errors.New("bench: bad /proc/<pid>/stat")
	// ErrBenchmarkCSV: redis-benchmark --csv output could not be parsed.
	ErrBenchmarkCSV = errors.New("bench: bad redis-benchmark CSV")
	// ErrServerStart: a server did not start or did not answer PING in time.
	ErrServerStart = errors.New("bench: server did not start")
	// ErrServerExited: a server exited while it was being measured.
	ErrServerExited = errors.New("bench: server exited")
	// ErrBenchmarkRun: a redis-benchmark run failed, timed out or printed no result.
	ErrBenchmarkRun = errors.New("bench: redis-benchmark run failed")
)
