// Package nettest has network helpers for tests: loopback addresses to start test servers on. It
// imports nothing of vsdb, so any package's tests may use it.
package nettest
