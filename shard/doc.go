// Package shard is the local store of one vsdb node: strings, integers and floats as Redis keeps
// them, hashes, TTLs and memory accounting. Every mutation is applied with a timestamp that comes from
// the ordered operation, never from the applying replica's clock, so that replicas that apply the same
// operations in the same order hold the same data.
//
// Store.Exec implements Redis 7.0's data commands (strings, keys, hashes) with Redis's exact replies and
// error texts; a differential test against a real redis-server (diff_test.go, generator and reply
// normalization in shard/difftest) is the judge. Keys live in 16384 per-slot maps (KeySlot is Redis
// Cluster's CRC16 with hash tags) so that slot ranges can be counted, listed, exported and dropped.
// Memory is accounted deterministically (key + value + fixed overhead per entry), and eviction samples
// deterministically, so replicas evict the same keys.
//
// Known differences from Redis: DBSIZE counts live keys (Redis also counts expired keys its background
// cycle has not reclaimed yet); SCAN cursors are slot numbers; HSCAN always returns the whole hash;
// OBJECT implements ENCODING, IDLETIME and FREQ only; one database (COPY … DB n accepts only 0).
package shard
