package vsync

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Group: "g", Self: "n1#1", Oracle: []string{"o1"}}.WithDefaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Config)
		want []string // every problem must be reported at once
	}{
		{"empty", func(c *Config) { *c = Config{} }, []string{"Group is empty", "Self is empty", "Oracle has 0",
			"HeartbeatTicks = 0", "MaxP2PUnacked = 0"}},
		{"self without incarnation", func(c *Config) { c.Self = "n1" }, []string{"not process#incarnation"}},
		{"six replicas", func(c *Config) { c.Oracle = []string{"a", "b", "c", "d", "e", "f"} }, []string{"Oracle has 6"}},
		{"suspect too short", func(c *Config) { c.SuspectTicks = 10 }, []string{"SuspectTicks = 10 must exceed"}},
		{"lease too short", func(c *Config) { c.OracleLeaseTicks = 40 }, []string{"OracleLeaseTicks = 40 must exceed"}},
		{"two problems", func(c *Config) { c.SafeAcceptors = -1; c.ChunkWindow = -2 },
			[]string{"SafeAcceptors = -1", "ChunkWindow = -2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q missing from %v", w, err)
				}
			}
		})
	}
	if _, err := NewMember(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("NewMember(empty) = %v", err)
	}
}
