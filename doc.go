// Package vsdb is the root of the vsdb module: a sharded, in-memory key-value database server built on
// virtual synchrony, with a Redis-compatible wire protocol, an HTTP aggregation endpoint and an
// embeddable Go API. The code lives in the sub-packages; this package holds only repository-wide tests
// (such as the import layering rules) and the tools file that pins build-time dependencies.
package vsdb
