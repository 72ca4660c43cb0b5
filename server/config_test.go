package server

import (
	"errors"
	"strings"
	"testing"
)

// TestConfigValidateClusterLimits: every bad cluster setting is reported, all at once, as ErrConfig;
// the defaults (zero values) and the bounds themselves pass.
func TestConfigValidateClusterLimits(t *testing.T) {
	c := DefaultConfig()
	c.Cluster = &ClusterConfig{QueryFanout: maxQueryFanout + 1, WriteBatchMaxCmds: -1,
		WriteBatchesInFlight: maxWriteBatchesInFlight + 1, Redirect: "sideways", WriteAck: "some"}
	err := c.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate: %v, want ErrConfig", err)
	}
	for _, want := range []string{"query-fanout 65", "write-batch-max-cmds -1", "write-batches-in-flight 257", `redirect "sideways"`, `write-ack "some"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; missing %q", err, want)
		}
	}
	for _, cc := range []*ClusterConfig{{}, {QueryFanout: maxQueryFanout, WriteBatchMaxCmds: maxWriteBatchMaxCmds, WriteBatchesInFlight: maxWriteBatchesInFlight, WriteAck: "all"}} {
		c.Cluster = cc
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", *cc, err)
		}
	}
}
