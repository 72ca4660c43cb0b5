package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func flagsFor(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	serverFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestServerConfigDefaults(t *testing.T) {
	cfg, err := loadServerConfig(flagsFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bind != "127.0.0.1" || cfg.Port != 6379 || cfg.HTTPPort != 8080 || !cfg.ProtectedMode {
		t.Fatalf("defaults = %+v", cfg)
	}
	if cfg.Limits.MaxBulkBytes != 512<<20 || cfg.Store.EvictionPolicy != "noeviction" {
		t.Fatalf("limits/store defaults = %+v %+v", cfg.Limits, cfg.Store)
	}
}

// Flags beat the environment, which beats the config file.
func TestServerConfigSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vsdb.yaml")
	if err := os.WriteFile(file, []byte("port: 7001\nmaxmemory: 2mb\nmaxclients: 7\nhz: 20\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VSDB_MAXCLIENTS", "9")
	t.Setenv("VSDB_MAXMEMORY_POLICY", "allkeys-lru")
	cfg, err := loadServerConfig(flagsFor(t, "--config", file, "--hz", "30"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 7001 || cfg.Store.MaxMemoryBytes != 2<<20 {
		t.Errorf("file values not applied: port %d maxmemory %d", cfg.Port, cfg.Store.MaxMemoryBytes)
	}
	if cfg.MaxClients != 9 || cfg.Store.EvictionPolicy != "allkeys-lru" {
		t.Errorf("environment not applied over the file: maxclients %d policy %s", cfg.MaxClients, cfg.Store.EvictionPolicy)
	}
	if cfg.ExpireHz != 30 {
		t.Errorf("flag not applied over the file: hz %d", cfg.ExpireHz)
	}
}

// Every bad setting is reported at once.
func TestServerConfigReportsEveryProblem(t *testing.T) {
	_, err := loadServerConfig(flagsFor(t, "--bind", "not-an-ip", "--port", "70000", "--maxclients", "0",
		"--maxmemory", "lots", "--maxmemory-policy", "sometimes", "--hz", "0", "--timeout", "-1"))
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"not-an-ip", "70000", "maxclients", "maxmemory: \"lots\"", "sometimes", "hz", "timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}
