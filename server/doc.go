// Package server runs a vsdb node: the RESP listener, the HTTP listener (health, metrics, queries),
// the drivers that own every goroutine, socket and timer, and the embedded Go API (Open).
package server
