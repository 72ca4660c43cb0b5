// Command vsdb is the vsdb database: `vsdb server` runs a node, `vsdb bench` runs side-by-side
// benchmarks, `vsdb sim` runs the deterministic simulator, `vsdb version` prints the version.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vsdb:", err)
		os.Exit(1)
	}
}
