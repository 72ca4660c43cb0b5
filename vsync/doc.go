// Package vsync is the virtually synchronous group layer of vsdb: process groups with views, ordered
// multicast, flush, SafeSend and state transfer, as a pure deterministic state machine (Step, Tick,
// Ready/Advance). It owns no goroutines, sockets, disks or clocks; the drivers in server/ do.
package vsync
