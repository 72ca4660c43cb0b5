package peer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestConnectionRules runs testdata/conn_rules.txt: golden transcripts of the decision a node takes on
// a handshaken connection (decideLocked), given its state for that peer.
//
//	decide self=<id> peer=<id> [addr] [removed] [maxinc=<n>] [cur=<initiator>:<inc>] conn=<initiator>:<inc>
//
// addr: the node has the peer's address (it dials it); cur: the adopted connection, if any; conn: the
// new connection (initiator = self for an outbound one).
func TestConnectionRules(t *testing.T) {
	datadriven.RunTest(t, "testdata/conn_rules.txt", func(t *testing.T, td *datadriven.TestData) string {
		if td.Cmd != "decide" {
			t.Fatalf("unknown command %q", td.Cmd)
		}
		var self, id uint64
		td.ScanArgs(t, "self", &self)
		td.ScanArgs(t, "peer", &id)
		tr := &Transport{cfg: Config{Self: NodeID(self)}}
		p := &peer{id: NodeID(id), removed: td.HasArg("removed")}
		if td.HasArg("addr") {
			p.addr = "peer-address"
		}
		td.MaybeScanArgs(t, "maxinc", &p.maxInc)
		parse := func(key string) *conn {
			var s string
			td.ScanArgs(t, key, &s)
			var ini NodeID
			var inc uint64
			if _, err := fmt.Sscanf(s, "%d:%d", &ini, &inc); err != nil {
				t.Fatalf("%s=%q: want initiator:incarnation", key, s)
			}
			if ini != NodeID(self) && ini != NodeID(id) {
				t.Fatalf("%s=%q: the initiator is neither self nor the peer", key, s)
			}
			return &conn{initiator: ini, remote: NodeID(id), remoteInc: inc}
		}
		if td.HasArg("cur") {
			p.conn = parse("cur")
		}
		c := parse("conn")
		adopt, drop := tr.decideLocked(p, c)
		var out []string
		switch {
		case adopt && p.conn != nil:
			out = append(out, "adopt, replacing the current connection")
		case adopt:
			out = append(out, "adopt")
		case drop:
			out = append(out, "refuse, and drop the current connection (older incarnation)")
		default:
			out = append(out, "refuse")
		}
		if drop && adopt {
			t.Fatal("adopt and drop together")
		}
		return strings.Join(out, "\n") + "\n"
	})
}
