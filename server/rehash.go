package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/vsync"
)

// ErrNotClustered is returned by cluster-only calls on a single node.
var ErrNotClustered = errors.New("server: the node is not clustered")

// ErrHashGeneration is returned when the group refused a hash-generation change (the reason is
// wrapped in the message).
var ErrHashGeneration = errors.New("server: hash generation change refused")

// ChangeHashGeneration switches the cluster to hash generation gen (ClusterConfig.Hashers) at a
// consistent cut of the total order, and returns once this node has seen the keys that change shard
// moved (the manual's DHTGetHashCodeChanged; dht/rehash.go). While they move, commands are retried
// (ClusterConfig.MigrationWait) and answered afterwards.
func (n *Node) ChangeHashGeneration(ctx context.Context, gen uint64) error {
	if err := n.checkOpen(); err != nil {
		return err
	}
	if n.cluster == nil {
		return ErrNotClustered
	}
	p := n.cluster
	if p.cfg.Hashers == nil || p.cfg.Hashers(gen) == nil {
		return fmt.Errorf("%w: this node has no hasher for generation %d", ErrHashGeneration, gen)
	}
	in := p.cur()
	op := dht.HashGenOp(gen)
	qctx, cancel := context.WithTimeout(ctx, p.cfg.OpTimeout)
	defer cancel()
	res, err := in.gn.Query(qctx, p.cfg.Group, vsync.FlavourOrdered, op.Encode(nil), vsync.ReplyAll, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHashGeneration, err)
	}
	// Every member answers alike, except one that does not know the generation (it refuses and leaves
	// the group): the change took effect if any member accepted it.
	var answer string
	for _, r := range res.Replies {
		if a := strings.TrimRight(string(r.Payload), "\r\n"); a == "+OK" || (answer == "" && a != "") {
			answer = a
		}
	}
	switch {
	case answer == "":
		return fmt.Errorf("%w: no member answered", ErrHashGeneration)
	case answer != "+OK":
		return fmt.Errorf("%w: %s", ErrHashGeneration, strings.TrimPrefix(answer, "-"))
	}
	for in.c.Migrating() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// HashGeneration returns the cluster's current hash generation at this node and whether keys are
// still moving to it (ok is false on a single node).
func (n *Node) HashGeneration() (gen uint64, migrating, ok bool) {
	if n.cluster == nil {
		return 0, false, false
	}
	c := n.cluster.cur().c
	return c.Router().Gen, c.Migrating(), true
}
