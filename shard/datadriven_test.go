package shard

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestTranscripts runs the golden transcripts in testdata/*.txt:
//
//	new [maxmemory=<bytes>] [policy=<policy>] [seed=<n>]   a fresh store
//	exec [at=<ms>]        one command per input line at base time + at; prints each reply (quoted RESP)
//	stats                 prints the Stats
//
// Rewrite with -rewrite after a deliberate change.
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var st *Store
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "new":
				var cfg Config
				for _, a := range d.CmdArgs {
					switch a.Key {
					case "maxmemory":
						n, _ := strconv.ParseInt(a.Vals[0], 10, 64)
						cfg.MaxMemoryBytes = n
					case "policy":
						cfg.EvictionPolicy = Policy(a.Vals[0])
					case "seed":
						n, _ := strconv.ParseUint(a.Vals[0], 10, 64)
						cfg.Seed = n
					default:
						d.Fatalf(t, "unknown argument %s", a.Key)
					}
				}
				st = NewStore(cfg)
				return ""
			case "exec":
				var at int64
				if d.HasArg("at") {
					var s string
					d.ScanArgs(t, "at", &s)
					at, _ = strconv.ParseInt(s, 10, 64)
				}
				var out strings.Builder
				for _, line := range strings.Split(d.Input, "\n") {
					if strings.TrimSpace(line) == "" {
						continue
					}
					reply := st.Exec(nil, splitCmd(t, line), baseMs+at)
					checkInvariants(t, st)
					fmt.Fprintf(&out, "%s → %s\n", line, strconv.Quote(string(reply)))
				}
				return out.String()
			case "stats":
				s := st.Stats()
				return fmt.Sprintf("keys=%d expiring=%d used=%d hits=%d misses=%d expired=%d evicted=%d\n",
					s.Keys, s.KeysWithExpiry, s.UsedMemoryBytes, s.Hits, s.Misses, s.ExpiredKeys, s.EvictedKeys)
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}
