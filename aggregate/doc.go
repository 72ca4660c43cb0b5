// Package aggregate holds the aggregation kernels of vsdb queries (count, sum, min, max, avg,
// top-k, distinct count, quantiles, group-by): each has Add, Merge and Result and a binary encoding, so
// that partial results combine up an aggregation tree exactly once.
package aggregate
