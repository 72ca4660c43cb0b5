//go:build tools

// This file keeps the project's pinned dependencies in go.mod before every one of them is imported by
// code, so that `go mod tidy` does not drop a pin a later change relies on.
package vsdb

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/apache/arrow/go/v15/arrow"
	_ "github.com/cockroachdb/datadriven"
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "github.com/tidwall/redcon"
	_ "go.etcd.io/raft/v3"
	_ "go.uber.org/goleak"
)
