package main

import (
	"fmt"
	"os"
)

func main() {
	keepSysmonAwake()
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vsdb:", err)
		os.Exit(1)
	}
}
