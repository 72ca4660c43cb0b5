package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/vsdb/vsdb/server"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "vsdb",
		Short:         "vsdb: a sharded in-memory key-value database on virtual synchrony, speaking the Redis protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCmd(), newVersionCmd(), newBenchCmd(), newSimCmd(), newDHTSimCmd(), newGroupCmd(), newDevCmd(), newChaosCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vsdb version and the Go version it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "vsdb %s (%s %s/%s)\n", server.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
