package vsync_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/vsdb/vsdb/vsync/sim"
)

// TestGolden replays the scripted scenarios in testdata/*.txt through the simulator's Cluster harness
// and compares the event transcripts. Commands (each prints the events since the previous command):
//
//	cluster members=N [phi=F] [oracle=R]   start N processes that join group g0, one at a time
//	run ticks=N                            advance N ticks
//	settle [max=N]                         run until every live process is in one agreed, unwedged view
//	op <proc> <send|ordered|safe|flush|leave|query> [args…]
//	crash <proc> / restart <proc> / add    crash, restart as a new incarnation, start a new process
//	partition <a,b,…> <c,d,…>              split processes and replicas (o1…) into sides; heal ends it
//	block <from> <to>                      drop every message on one directed link
//	silent <proc>                          the process's application never answers queries
//	views                                  every process's current view
//	check                                  run the history checkers over the whole run
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var c *sim.Cluster
			datadriven.RunTest(t, f, func(t *testing.T, d *datadriven.TestData) string {
				if d.Cmd != "cluster" && c == nil {
					t.Fatalf("%s: cluster first", d.Pos)
				}
				var out strings.Builder
				switch d.Cmd {
				case "cluster":
					o := sim.ClusterOptions{}
					for _, a := range d.CmdArgs {
						var v int
						fmt.Sscan(a.Vals[0], &v)
						switch a.Key {
						case "members":
							o.Members = v
						case "phi":
							o.Phi = v
						case "oracle":
							o.Oracle = v
						}
					}
					c = sim.NewCluster(o)
					if _, err := c.Settle(500); err != nil {
						t.Fatalf("%s: %v", d.Pos, err)
					}
				case "run":
					var n int
					d.ScanArgs(t, "ticks", &n)
					c.Run(n)
				case "settle":
					max := 1000
					if d.HasArg("max") {
						d.ScanArgs(t, "max", &max)
					}
					took, err := c.Settle(max)
					out.WriteString(c.Events())
					if err != nil {
						fmt.Fprintf(&out, "not settled: %v\n", err)
					} else {
						fmt.Fprintf(&out, "settled after %d ticks\n", took)
					}
					return out.String()
				case "op":
					args := argList(d)
					res, err := c.Do(args[0], args[1], args[2:]...)
					if err != nil {
						fmt.Fprintf(&out, "error: %v\n", err)
					} else {
						fmt.Fprintf(&out, "%s\n", res)
					}
				case "crash", "restart":
					args := argList(d)
					var err error
					if d.Cmd == "crash" {
						err = c.Crash(args[0])
					} else {
						err = c.Restart(args[0])
					}
					if err != nil {
						fmt.Fprintf(&out, "error: %v\n", err)
					}
				case "add":
					fmt.Fprintf(&out, "started %s\n", c.AddProcess())
				case "partition":
					var sides [][]string
					for _, a := range argList(d) {
						sides = append(sides, strings.Split(a, ","))
					}
					c.Partition(sides)
				case "heal":
					c.Heal()
				case "block":
					args := argList(d)
					c.Block(args[0], args[1])
				case "silent":
					if err := c.SilentReplies(argList(d)[0]); err != nil {
						fmt.Fprintf(&out, "error: %v\n", err)
					}
				case "views":
					out.WriteString(c.Events())
					out.WriteString(c.Views())
					return out.String()
				case "check":
					out.WriteString(c.Events())
					vs := c.Check()
					for _, v := range vs {
						fmt.Fprintf(&out, "VIOLATION %s: %s\n", v.Checker, v.Detail)
					}
					if len(vs) == 0 {
						out.WriteString("checkers: ok\n")
					}
					return out.String()
				default:
					t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
				}
				out.WriteString(c.Events())
				return out.String()
			})
		})
	}
}

func argList(d *datadriven.TestData) []string {
	var out []string
	for _, a := range d.CmdArgs {
		out = append(out, a.Key)
	}
	return out
}
