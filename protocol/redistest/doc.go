// Package redistest starts a throwaway redis-server for tests that compare vsdb with real Redis (the
// command table, the differential tests). It imports nothing of vsdb, so any package's tests may use it.
package redistest
