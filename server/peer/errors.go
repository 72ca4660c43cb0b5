package peer

import "errors"

// Errors of the transport. Returned errors wrap them with details; test with errors.Is.
var (
	// ErrConfig wraps every problem Config.Validate finds.
	ErrConfig = errors.New("peer: invalid config")
	// ErrQueueFull means the peer's send queue is at its bound; the frame was not queued.
	ErrQueueFull = errors.New("peer: send queue full")
	// ErrUnknownPeer means the node id is not a peer (never set, removed, or an inbound-only peer whose
	// connection ended).
	ErrUnknownPeer = errors.New("peer: unknown peer")
	// ErrClosed means the transport is closed.
	ErrClosed = errors.New("peer: transport closed")
	// ErrFrameTooLarge means a payload exceeds Config.MaxFrameBytes.
	ErrFrameTooLarge = errors.New("peer: payload exceeds MaxFrameBytes")
	// ErrHandshake means a connection's handshake failed or was refused.
	ErrHandshake = errors.New("peer: handshake failed")
)
