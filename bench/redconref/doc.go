// Command redconref is a measuring stick, not part of the product: the smallest GET/SET server that
// tidwall/redcon's own connection loop (one goroutine per connection, redcon's reader) can make, over
// a Go map under a mutex. Benchmarked beside redis-server and vsdb (docs/benchmarks.md), it separates
// the cost of Go's goroutine-per-connection model from the cost of vsdb's own request path.
//
// It uses redcon's reader, which panics or spins on hostile input (spec/resp-bad-inputs.md): never run
// it anywhere but a benchmark on loopback.
package main
