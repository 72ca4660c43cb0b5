// Package query serves consistent-cut aggregation queries over HTTP (POST /v1/query): it plans the
// fan-out to one representative per shard, runs the aggregation tree and answers in JSON or Arrow IPC.
package query
