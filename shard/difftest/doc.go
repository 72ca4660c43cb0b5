// Package difftest is test support for differential testing of vsdb against a real redis-server:
// Generate produces random command sequences over every data command shard implements, full of edge
// cases, and Normalize makes replies that are order-free, random or time-dependent comparable.
//
// Generated commands are chosen so that the replies of Redis and vsdb are a function of the command
// sequence only (given that both see nearly the same clock): relative TTLs are ≥ 100 s (nothing expires
// during a run), TTL comparisons (GT/LT) only use absolute deadlines far from "now", SCAN/HSCAN use a
// COUNT large enough to finish in one call, HRANDFIELD asks for more fields than any hash holds (or its
// random forms are reduced to their shape by Normalize), and SET/GETEX deadlines in the past are avoided
// where Redis would keep the key physically until its background cycle (which DBSIZE would see).
package difftest
