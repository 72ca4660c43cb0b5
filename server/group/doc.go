// Package group runs vsync over real time and TCP: a Node hosts one peer transport (server/peer), a
// membership replica (vsync/membership) when the process is one of the configured oracle nodes, and
// one driver goroutine per joined group that ticks its vsync.Member on a time.Ticker, steps what the
// transport delivers, executes Ready in order (log, send, events, Advance) right after every input, and
// hands events to an Application. It is the simulator's wiring (vsync/sim) with wall-clock ticks,
// sockets and goroutines. docs/vsync-drivers.md describes the wire envelope, the goroutines and the
// defaults.
package group
