package group

import "errors"

// Errors of the driver. Returned errors wrap them with details; test with errors.Is.
var (
	// ErrConfig wraps every problem Config.Validate finds.
	ErrConfig = errors.New("group: invalid config")
	// ErrEnvelope means a received payload is not a valid envelope.
	ErrEnvelope = errors.New("group: bad envelope")
	// ErrClosed means the node is closed (or closing).
	ErrClosed = errors.New("group: node closed")
	// ErrUnknownGroup means the node has no member of the group (never joined, or stopped).
	ErrUnknownGroup = errors.New("group: no member of that group on this node")
	// ErrJoined means the node already has a member of the group.
	ErrJoined = errors.New("group: already a member of that group")
	// ErrAddress means a member id or replica address does not name a configured node.
	ErrAddress = errors.New("group: bad member id or replica address")
)
