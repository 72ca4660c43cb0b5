package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestTranscripts runs the golden transcripts in testdata/*.txt. Directives:
//
//	node [requirepass=PW] [maxmemory=BYTES]  — start a fresh node (closing the previous one)
//	run [conn=NAME]                           — send each input line (inline syntax) on connection NAME
//	                                            (default "a"; connections persist within a file) and
//	                                            print one rendered reply per line; a line
//	                                            prefixed with "~" expects no reply
//
// Rewrite the expectations with: go test ./server -run TestTranscripts -rewrite
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var n *Node
		conns := map[string]*rawClient{}
		closeNode := func() {
			if n != nil {
				_ = n.Close()
			}
			n, conns = nil, map[string]*rawClient{}
		}
		defer closeNode()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "node":
				closeNode()
				cfg := DefaultConfig()
				cfg.Port, cfg.HTTPPort = 0, -1
				for _, a := range d.CmdArgs {
					switch a.Key {
					case "requirepass":
						cfg.RequirePass = a.Vals[0]
					case "maxmemory":
						b, err := ParseMemory(a.Vals[0])
						if err != nil {
							t.Fatal(err)
						}
						cfg.Store.MaxMemoryBytes = b
					default:
						t.Fatalf("unknown node option %q", a.Key)
					}
				}
				var err error
				if n, err = Open(t.Context(), cfg); err != nil {
					t.Fatal(err)
				}
				return "ok"
			case "run":
				if n == nil {
					t.Fatal("run before node")
				}
				name := "a"
				if d.HasArg("conn") {
					d.ScanArgs(t, "conn", &name)
				}
				c, ok := conns[name]
				if !ok {
					c = dialRaw(t, n)
					conns[name] = c
				}
				var out strings.Builder
				for _, line := range strings.Split(d.Input, "\n") {
					if strings.TrimSpace(line) == "" {
						continue
					}
					// A line prefixed with "~" expects no reply (CLIENT REPLY OFF/SKIP).
					noReply := strings.HasPrefix(line, "~")
					c.send([]byte(strings.TrimPrefix(line, "~") + "\r\n"))
					if noReply {
						continue
					}
					fmt.Fprintln(&out, c.reply())
				}
				return out.String()
			default:
				t.Fatalf("unknown directive %q", d.Cmd)
				return ""
			}
		})
	})
}
