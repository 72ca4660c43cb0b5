package dht

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vsdb/vsdb/shard"
)

// ErrBadParams reports DHT parameters that cannot work (see Params.Validate).
var ErrBadParams = errors.New("dht: invalid DHT parameters")

// Params are the manual's DHTEnable(RF, ExpectedGroupSize, MinGroupSize): identical on every member of
// a cluster (a joiner with other parameters is refused).
type Params struct {
	// RF is the replication factor: the replicas of each shard in a full group. Default 1.
	RF int
	// ExpectedGroupSize is the group size the layout is planned for; Shards = ExpectedGroupSize / RF
	// (at least 1). Default RF.
	ExpectedGroupSize int
	// MinGroupSize: with fewer members, every DHT operation fails with ErrClusterDown. Default 1.
	MinGroupSize int
}

// WithDefaults fills zero fields.
func (p Params) WithDefaults() Params {
	if p.RF == 0 {
		p.RF = 1
	}
	if p.ExpectedGroupSize == 0 {
		p.ExpectedGroupSize = p.RF
	}
	if p.MinGroupSize == 0 {
		p.MinGroupSize = 1
	}
	return p
}

// Validate reports every problem at once.
func (p Params) Validate() error {
	var errs []error
	if p.RF < 1 {
		errs = append(errs, fmt.Errorf("RF = %d, want >= 1", p.RF))
	}
	if p.ExpectedGroupSize < p.RF {
		errs = append(errs, fmt.Errorf("ExpectedGroupSize = %d, want >= RF (%d)", p.ExpectedGroupSize, p.RF))
	}
	if p.MinGroupSize < 1 || p.MinGroupSize > p.ExpectedGroupSize {
		errs = append(errs, fmt.Errorf("MinGroupSize = %d, want 1..ExpectedGroupSize (%d)", p.MinGroupSize, p.ExpectedGroupSize))
	}
	if p.ExpectedGroupSize/max(p.RF, 1) > shard.SlotCount {
		errs = append(errs, fmt.Errorf("ExpectedGroupSize/RF = %d shards, want <= %d", p.ExpectedGroupSize/p.RF, shard.SlotCount))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadParams, errors.Join(errs...))
	}
	return nil
}

// Shards is NS = ExpectedGroupSize / RF, at least 1.
func (p Params) Shards() int { return max(1, p.ExpectedGroupSize/max(p.RF, 1)) }

/*
Layout. Keys map to slots as in Redis Cluster (CRC16 with hash tags, shard.KeySlot); the NS shards own
contiguous slot ranges: shard s owns slots [s*16384/NS, (s+1)*16384/NS). Members map to shards through a
placement: a list of positions, each holding one member, where position i serves shard i % NS.

The placement is a pure function of the previous placement and the new view (NextPlacement), so every
member computes the same one at the same view:
  - a member that stays keeps its position (and so its shard: its data does not move);
  - a departed member's position is taken by a joiner if there is one, else by the member at the tail
    (the spare slot-in of the manual: only that member changes shard), unless that member is the last
    ready replica of its shard: then the position stays empty ("") until a joiner fills it, rather
    than lose that shard's data;
  - other joiners are appended at the end, in view rank order.
*/

// ShardOfSlot returns the shard that owns slot with ns shards.
func ShardOfSlot(slot uint16, ns int) int { return int(slot) * ns / shard.SlotCount }

// SlotRange returns the first and last slot of shard s (inclusive) with ns shards.
func SlotRange(s, ns int) (first, last uint16) {
	lo := (s*shard.SlotCount + ns - 1) / ns
	hi := ((s+1)*shard.SlotCount+ns-1)/ns - 1
	return uint16(lo), uint16(hi)
}

// NextPlacement returns the placement after a view with members (in rank order), given the previous
// placement (nil for the first view). pinned(m), for a member that stays, reports that m must not
// change position (it is the last ready replica of its shard: moving it would lose the shard's data);
// nil pins nobody. Holes (positions whose member departed) are filled in position order: by joiners
// first, in rank order (they hold no data, so nothing is lost and nobody else moves), then by the
// member at the tail unless it is pinned; a hole that neither can fill stays ("" in the placement: its
// shard has one replica fewer until a joiner comes). Joiners left over are appended.
func NextPlacement(prev []string, members []string, pinned func(string) bool) []string {
	in := make(map[string]bool, len(members))
	for _, m := range members {
		in[m] = true
	}
	next := make([]string, 0, max(len(members), len(prev)))
	placed := make(map[string]bool, len(members))
	for _, m := range prev {
		if in[m] {
			next = append(next, m)
			placed[m] = true
		} else {
			next = append(next, "")
		}
	}
	var joiners []string
	for _, m := range members {
		if !placed[m] {
			joiners = append(joiners, m)
		}
	}
	trim := func() {
		for len(next) > 0 && next[len(next)-1] == "" {
			next = next[:len(next)-1]
		}
	}
	trim()
	for h := 0; h < len(next); h++ {
		if next[h] != "" {
			continue
		}
		switch tail := next[len(next)-1]; {
		case len(joiners) > 0:
			next[h], joiners = joiners[0], joiners[1:]
		case pinned == nil || !pinned(tail):
			next[h] = tail
			next = next[:len(next)-1]
			trim()
		}
	}
	return append(next, joiners...)
}

// positionOf returns member's position in placement, or -1.
func positionOf(placement []string, member string) int { return slices.Index(placement, member) }

// ShardOfMember returns the shard member serves under placement with ns shards, or -1.
func ShardOfMember(placement []string, member string, ns int) int {
	if member == "" {
		return -1
	}
	if p := positionOf(placement, member); p >= 0 {
		return p % ns
	}
	return -1
}

// ReplicasOf returns the members serving shard s, in position order.
func ReplicasOf(placement []string, s, ns int) []string {
	var out []string
	for p := s; p < len(placement); p += ns {
		if placement[p] != "" {
			out = append(out, placement[p])
		}
	}
	return out
}
