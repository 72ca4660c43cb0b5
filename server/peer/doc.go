// Package peer is vsdb's node-to-node TCP transport: it carries opaque byte payloads between node ids,
// framed by the protocol package's peer frame codec (magic, version, flags, length, CRC-32C). It knows
// nothing of vsync; a driver marshals vsync messages into payloads and back.
//
// # Connections
//
// There is at most one live TCP connection per pair of nodes, used in both directions. Each connection
// starts with a handshake: the dialer sends a handshake frame (node id, incarnation, cluster id); the
// acceptor checks it, answers with its own handshake if it keeps the connection and closes it otherwise;
// the dialer checks the answer (cluster id, and that the node at the address is the one it meant to
// reach). TCP_NODELAY is set on every connection.
//
// Who connects, and the tie-break (invariant: both ends adopt the same connection):
//   - a node dials a peer only when it has an address for it and no connection to it; so a connection
//     that arrives from an initiator replaces any older connection from the same pair: the initiator has
//     already abandoned the older one;
//   - when both nodes dial each other, the lower NodeID's outbound connection wins: a node refuses an
//     inbound connection from a higher NodeID whenever it has that peer's address (it dials it itself),
//     and a node that finishes dialing while a connection initiated by the lower NodeID was adopted
//     meanwhile drops its own. Because the refusal happens before the acceptor answers, the losing
//     dialer never writes a data frame on the losing connection, so start-up loses nothing;
//   - a node with no address for a peer (an inbound peer it was never told about, see below) only accepts.
//
// Inbound connections from node ids the transport was not told about (SetPeer) are accepted, so a new
// node can reach the cluster before it is known: such a peer can be sent to while its connection lives and
// is forgotten when the connection ends. At most Config.MaxPeers peers exist at once.
//
// A handshake with a smaller incarnation than one already seen from that node is refused (a stale
// process); an inbound handshake with a larger incarnation drops the connection to the older incarnation.
//
// # Sending, batching and backpressure
//
// Send appends the payload to the peer's queue, bounded by Config.SendQueueFrames and SendQueueBytes, and
// never blocks: a full queue is ErrQueueFull. One goroutine per peer (its owner loop) dials when needed
// and, while connected, drains the queue: it takes up to Config.BatchBytes of queued frames and writes
// them with one vectored write (small payloads are copied into one buffer, large ones are referenced). A
// peer that reads slowly fills the socket buffers, which blocks the owner loop, which fills the queue,
// which makes Send return ErrQueueFull: that is the backpressure path. There is no write timeout: a
// peer that is alive but stops reading stalls only its own owner loop, until the group layer's failure
// detector has the driver call RemovePeer (which closes the connection); dead peers are detected by TCP
// errors and keep-alives (Go's default, 15 s).
//
// # Ordering and loss
//
// Frames to one peer are written, and delivered, in Send order while a connection lives. A connection
// that ends (error, corrupt frame, peer restart, RemovePeer) loses the frames of the batch being written
// and any frames that were in flight; frames still queued are sent on the next connection. A connection
// that is replaced stops delivering before the new one starts (a per-peer delivery lock and a
// "still current" check), so a peer's deliveries are always in its send order, with gaps only at
// connection changes. The group layer (vsync) retransmits; it must not rely on the transport for
// reliability across reconnects.
//
// # Receiving
//
// One reader goroutine per connection decodes frames and calls the deliver callback given to New, in
// order per peer. deliver must not block for long: while it runs, that peer's connection is not read, so
// a slow deliver pushes back on the sender (its queue fills). deliver may call Send, SetPeer and
// RemovePeer, but not Close (Close waits for deliver to return). A frame with a bad checksum, magic,
// version or length closes that connection and is counted in Stats.
//
// # Goroutines and their owners
//
//   - the accept loop: owned by the Transport, ends when Close closes the listener;
//   - one inbound handshake goroutine per accepted connection (at most MaxPendingHandshakes at once):
//     ends when the handshake ends (HandshakeTimeout) or Close closes the connection;
//   - one owner loop per peer: ends on RemovePeer, Close, or when an inbound-only peer's connection ends;
//   - one reader per adopted connection: ends when its connection is closed by anyone.
//
// Close closes the listener and every connection, wakes every loop, and waits for all of them.
package peer
