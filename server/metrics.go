package server

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/server/group"
)

// counter is a monotonic count that INFO can show relative to the last CONFIG RESETSTAT while
// Prometheus always sees the raw, never-decreasing value.
type counter struct {
	v    atomic.Int64
	base atomic.Int64
}

func (c *counter) Inc()                { c.v.Add(1) }
func (c *counter) Add(d float64)       { c.v.Add(int64(d)) }
func (c *counter) raw() float64        { return float64(c.v.Load()) }
func (c *counter) sinceReset() float64 { return float64(c.v.Load() - c.base.Load()) }
func (c *counter) reset()              { c.base.Store(c.v.Load()) }

func counterValue(c *counter) float64 { return c.sinceReset() }

// gauge is an up/down count exported to Prometheus.
type gauge struct{ v atomic.Int64 }

func (g *gauge) Inc() { g.v.Add(1) }
func (g *gauge) Dec() { g.v.Add(-1) }

// metrics are one node's counters, exported on /metrics through the node's own registry (so several
// embedded nodes in one process do not collide).
type metrics struct {
	reg *prometheus.Registry

	connsTotal, rejectedConns, protocolErrors, rejected, authFailures, bytesOut counter
	connected                                                                   gauge
	commandsProcessed                                                           counter

	// Per command, indexed by protocol.Spec.ID (resolved once, so the hot path does no label lookup).
	calls    []prometheus.Counter
	duration []prometheus.Observer
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cf := func(name, help string, c *counter) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vsdb", Name: name, Help: help}, c.raw))
	}
	cf("connections_total", "Client connections accepted.", &m.connsTotal)
	cf("connections_rejected_total", "Client connections refused at maxclients.", &m.rejectedConns)
	cf("protocol_errors_total", "Connections closed on a RESP protocol error.", &m.protocolErrors)
	cf("command_errors_total", "Commands refused before running (unknown, arity, NOAUTH).", &m.rejected)
	cf("auth_failures_total", "Failed AUTH and HELLO AUTH attempts.", &m.authFailures)
	cf("reply_bytes_total", "Reply bytes written to clients.", &m.bytesOut)
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vsdb", Name: "connected_clients", Help: "Client connections open now."},
		func() float64 { return float64(m.connected.v.Load()) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vsdb", Name: "used_memory_bytes", Help: "Memory used by data, as the store accounts it (maxmemory compares against this)."},
		func() float64 { return float64(n.data.Stats().UsedMemoryBytes) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vsdb", Name: "keys", Help: "Keys in the store."},
		func() float64 { return float64(n.data.Stats().Keys) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vsdb", Name: "maxmemory_bytes", Help: "Configured maxmemory (0 = no limit)."},
		func() float64 { return float64(n.storeConfig().MaxMemoryBytes) }))

	if n.cluster != nil {
		registerClusterMetrics(m.reg, n.cluster)
	}

	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vsdb", Name: "commands_total", Help: "Commands run, by command."}, []string{"cmd"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "vsdb", Name: "command_duration_seconds", Help: "Time to run a command in the server (excluding network), by command; one command in 8 per connection is timed.",
		Buckets: []float64{1e-6, 4e-6, 16e-6, 64e-6, 256e-6, 1e-3, 4e-3, 16e-3, 64e-3, 256e-3, 1},
	}, []string{"cmd"})
	m.reg.MustRegister(calls, dur)
	var walk func([]*protocol.Spec)
	walk = func(specs []*protocol.Spec) {
		for _, s := range specs {
			for len(m.calls) <= s.ID {
				m.calls = append(m.calls, nil)
				m.duration = append(m.duration, nil)
			}
			m.calls[s.ID] = calls.WithLabelValues(s.Name)
			m.duration[s.ID] = dur.WithLabelValues(s.Name)
			walk(s.Subcommands)
		}
	}
	walk(protocol.All())
	return m
}

// count records one command that ran.
func (m *metrics) count(s *protocol.Spec) {
	m.commandsProcessed.Inc()
	m.calls[s.ID].Inc()
}

// observeLatency records the run time of a sampled command (see latencySampleEvery).
func (m *metrics) observeLatency(s *protocol.Spec, d time.Duration) {
	m.duration[s.ID].Observe(d.Seconds())
}

// resetStats is CONFIG RESETSTAT: INFO's counters restart from zero; Prometheus's stay monotonic.
func (m *metrics) resetStats() {
	for _, c := range []*counter{&m.connsTotal, &m.rejectedConns, &m.protocolErrors, &m.rejected, &m.authFailures, &m.bytesOut, &m.commandsProcessed} {
		c.reset()
	}
}

// registerClusterMetrics exports the group node's and its peer transport's counters (the current
// instance's: a rejoin starts a new group node, which Prometheus sees as a counter reset).
func registerClusterMetrics(reg *prometheus.Registry, p *clusterPlane) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vsdb", Name: "write_batches_total",
		Help: "Strict-write batches this node sent as one ordered op each (group commit)."},
		func() float64 { return float64(p.writeBatches.Load()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vsdb", Name: "write_batch_requests_total",
		Help: "Client write requests (a command, or a MULTI/EXEC) in those batches; / write_batches_total = mean batch size."},
		func() float64 { return float64(p.writeBatchRequests.Load()) }))
	stat := func(name, help string, f func(group.Stats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vsdb", Name: name, Help: help},
			func() float64 { return float64(f(p.cur().gn.Stats())) }))
	}
	stat("peer_frames_sent_total", "Peer transport data frames written to sockets.", func(s group.Stats) uint64 { return s.Transport.FramesSent })
	stat("peer_bytes_sent_total", "Peer transport payload bytes sent.", func(s group.Stats) uint64 { return s.Transport.BytesSent })
	stat("peer_writes_total", "Peer transport socket writes (each carries one batch of frames).", func(s group.Stats) uint64 { return s.Transport.Writes })
	stat("peer_frames_received_total", "Peer transport data frames received.", func(s group.Stats) uint64 { return s.Transport.FramesReceived })
	stat("peer_bytes_received_total", "Peer transport payload bytes received.", func(s group.Stats) uint64 { return s.Transport.BytesReceived })
	stat("peer_frames_lost_total", "Peer frames dropped (failed writes, removed peers, replaced connections).", func(s group.Stats) uint64 { return s.Transport.FramesLost })
	stat("peer_queue_full_total", "Peer sends refused because the peer's queue was full.", func(s group.Stats) uint64 { return s.Transport.QueueFull })
	stat("peer_conns_lost_total", "Peer connections that ended with an error.", func(s group.Stats) uint64 { return s.Transport.ConnsLost })
	stat("group_inbox_dropped_total", "Received group messages dropped because a driver's inbox was full (vsync retransmits).", func(s group.Stats) uint64 { return s.InboxDropped })
	stat("group_send_dropped_total", "Group envelopes the transport refused.", func(s group.Stats) uint64 { return s.SendDropped })
	stat("group_decode_errors_total", "Received payloads that were not a valid group envelope or message.", func(s group.Stats) uint64 { return s.DecodeErrors })
}
