package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidwall/redcon"

	"github.com/vsdb/vsdb/aggregate"
	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/server/group"
	"github.com/vsdb/vsdb/vsync"
)

// RunQuery runs an aggregation query (query.Runner): over the local store on a single node, through
// the group on a cluster.
func (n *Node) RunQuery(ctx context.Context, q *aggregate.Query) (*query.Result, error) {
	if err := n.checkOpen(); err != nil {
		return nil, err
	}
	if n.cluster != nil {
		return n.cluster.RunQuery(ctx, q)
	}
	gs, truncated, err := n.dht.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return &query.Result{Groups: gs, Shards: []int{0}, Truncated: truncated, Consistency: consistencyOf(q)}, nil
}

func consistencyOf(q *aggregate.Query) string {
	if q.Consistency == "local" {
		return "local"
	}
	return "cut"
}

// queryRetries bounds the attempts of a cluster query whose round a view change broke.
const queryRetries = 3

/*
RunQuery on a cluster. Cut mode: the query is one OrderedQuery to the group; every member delivers it at
the same point of the total order and computes the same combining tree (dht/tree.go): per shard the
selection reaches, one representative (rotating with the query id among the shard's ready replicas)
evaluates its shard at exactly that point; partials are merged up a tree of fan-out
ClusterConfig.QueryFanout, and the children of the root (this node) answer the query with the combined
partials of their subtrees. The originator accepts the round only if those answers cover every shard it
needs exactly once; otherwise (a representative failed, a view change ended the round, a shard without
a ready replica) the round is retried (a new id, so possibly other representatives) up to queryRetries
times, then ErrUnavailable (HTTP 503). Local mode: the query travels unordered (Send) and every loaded
replica answers its own shard from its current state; the originator keeps the first answer per shard.
*/
func (p *clusterPlane) RunQuery(ctx context.Context, q *aggregate.Query) (*query.Result, error) {
	local := q.Consistency == "local"
	fl := vsync.FlavourOrdered
	if local {
		fl = vsync.FlavourSend
	}
	for attempt := 0; attempt < queryRetries; attempt++ {
		in := p.cur()
		need := in.c.Router().ShardsOfQuery(q) // the hash generation may change between attempts
		if in.stopped.Load() {
			break
		}
		id := p.nextID.Add(1)
		op, err := dht.QueryOp(q, id, p.nowMs(), p.cfg.QueryFanout)
		if err != nil {
			return nil, err
		}
		res, err := in.gn.Query(ctx, p.cfg.Group, fl, op.Encode(nil), vsync.ReplyAll, roundTicks(ctx, queryRetries-attempt))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil || res.Aborted {
			continue
		}
		total, truncated, ok := combineAnswers(q, res.Replies, need, local)
		if !ok {
			continue
		}
		l := in.c.Layout()
		return &query.Result{Groups: total, ViewID: l.ViewID, Cut: fmt.Sprintf("%s/%d", l.Self, id), Shards: need,
			Truncated: truncated || len(total.By) > q.Groups(), Consistency: consistencyOf(q)}, nil
	}
	return nil, fmt.Errorf("%w: not every shard answered after %d attempts", query.ErrUnavailable, queryRetries)
}

// roundTicks is the vsync timeout of one round: the time left until ctx's deadline shared among the
// attempts left, so that an answer lost on the way (a reply refused under backpressure, say) ends the
// round in a retry instead of using up the client's whole deadline. 0 (the member's default) without a
// deadline.
func roundTicks(ctx context.Context, attemptsLeft int) int {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	share := time.Until(dl) / time.Duration(max(1, attemptsLeft))
	return max(1, int(share/group.DefaultTick))
}

// combineAnswers merges the partials of one query round: in cut mode the answers must cover need
// exactly once (else !ok: the round is retried); in local mode the first answer per shard counts.
func combineAnswers(q *aggregate.Query, replies []vsync.QueryReply, need []int, local bool) (*aggregate.Groups, bool, bool) {
	total := aggregate.NewGroups(q.Aggregates)
	truncated := false
	seen := map[int]bool{}
	for _, r := range replies {
		if len(r.Payload) == 0 {
			continue
		}
		pt, err := dht.DecodePartial(q, r.Payload)
		if err != nil {
			continue
		}
		fresh := true
		for _, s := range pt.Shards {
			if seen[s] {
				fresh = false
			}
		}
		if !fresh {
			if !local {
				return nil, false, false // a shard twice: never combine it twice
			}
			continue
		}
		for _, s := range pt.Shards {
			seen[s] = true
		}
		total.Merge(pt.Groups)
		truncated = truncated || pt.Truncated
	}
	for _, s := range need {
		if !seen[s] {
			return nil, false, false
		}
	}
	return total, truncated, true
}

// isVsdbQuery reports whether args is VSDB.QUERY (a vsdb command, answered before the table lookup).
func isVsdbQuery(args [][]byte) bool {
	return len(args[0]) == len("vsdb.query") && string(bytesToLower(args[0])) == "vsdb.query"
}

func bytesToLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// cmdVsdbQuery: VSDB.QUERY <json> runs an aggregation query (the body of POST /v1/query) and answers
// the JSON answer as a bulk string, or an error.
func cmdVsdbQuery(c *conn, args [][]byte) {
	if len(args) != 2 {
		c.out = redcon.AppendError(c.out, "ERR wrong number of arguments for 'vsdb.query' command")
		return
	}
	q, err := query.Parse(args[1])
	if err != nil {
		c.out = redcon.AppendError(c.out, "ERR "+err.Error())
		return
	}
	res, _, err := c.n.queries.Run(c.n.ctx, q)
	if err != nil {
		c.out = redcon.AppendError(c.out, "ERR "+err.Error())
		return
	}
	b, err := json.Marshal(query.JSON(q, res))
	if err != nil {
		c.out = redcon.AppendError(c.out, "ERR "+err.Error())
		return
	}
	c.out = redcon.AppendBulk(c.out, b)
}

// queryTimeoutDefault is the deadline of a query that gives none.
const queryTimeoutDefault = 5 * time.Second

// RegisterAggregator registers a custom aggregator for queries ({"kind": "custom", "name": name}) in
// this process: an embedded node's program calls it at start, on every node of a cluster alike (see
// aggregate.Custom for the contract).
func RegisterAggregator(name string, c aggregate.Custom) error {
	return aggregate.RegisterCustom(name, c)
}
