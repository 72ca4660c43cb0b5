// Package oob moves large values out of band: chunked, checksummed streams to a shard's replicas,
// with only a small reference travelling through the ordered path.
package oob
