package peer

import "sync/atomic"

// Stats are the transport's counters since New. Payload bytes exclude frame headers.
type Stats struct {
	FramesSent     uint64 // data frames written to a socket
	BytesSent      uint64 // their payload bytes
	Writes         uint64 // socket writes (each coalesces one batch)
	FramesReceived uint64 // data frames decoded from a socket
	BytesReceived  uint64 // their payload bytes
	FramesLost     uint64 // frames dropped: in a failed write, from a removed peer's queue, or read from a replaced connection
	QueueFull      uint64 // Send calls refused with ErrQueueFull

	ChecksumErrors uint64 // connections closed because a frame failed its CRC-32C
	FrameErrors    uint64 // connections closed for another framing error (magic, version, length, flags)

	Dials             uint64 // outbound connection attempts
	DialFailures      uint64 // attempts that failed to connect or to complete the handshake
	HandshakeFailures uint64 // inbound connections whose handshake failed (timeout, bad frame, wrong cluster)
	ConnsAdopted      uint64 // connections that completed the handshake and were put to use
	ConnsRefused      uint64 // connections refused by the tie-break, a stale incarnation or a limit
	ConnsReplaced     uint64 // adopted connections closed because a newer one for the same peer was adopted
	ConnsLost         uint64 // adopted connections that ended with an error
}

// counters are the live Stats, updated atomically.
type counters struct {
	framesSent, bytesSent, writes, framesReceived, bytesReceived, framesLost, queueFull atomic.Uint64
	checksumErrors, frameErrors                                                         atomic.Uint64
	dials, dialFailures, handshakeFailures                                              atomic.Uint64
	connsAdopted, connsRefused, connsReplaced, connsLost                                atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		FramesSent: c.framesSent.Load(), BytesSent: c.bytesSent.Load(), Writes: c.writes.Load(),
		FramesReceived: c.framesReceived.Load(), BytesReceived: c.bytesReceived.Load(),
		FramesLost: c.framesLost.Load(), QueueFull: c.queueFull.Load(),
		ChecksumErrors: c.checksumErrors.Load(), FrameErrors: c.frameErrors.Load(),
		Dials: c.dials.Load(), DialFailures: c.dialFailures.Load(), HandshakeFailures: c.handshakeFailures.Load(),
		ConnsAdopted: c.connsAdopted.Load(), ConnsRefused: c.connsRefused.Load(),
		ConnsReplaced: c.connsReplaced.Load(), ConnsLost: c.connsLost.Load(),
	}
}
