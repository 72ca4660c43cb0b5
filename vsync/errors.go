package vsync

import "errors"

// Errors returned by proposals and reported in EventStopped.
var (
	ErrEncoding     = errors.New("vsync: bad message encoding")
	ErrConfig       = errors.New("vsync: invalid config")
	ErrNotMember    = errors.New("vsync: not a member of the group")
	ErrStopped      = errors.New("vsync: member stopped")
	ErrBackpressure = errors.New("vsync: too many unstable or queued messages")
	ErrTooLarge     = errors.New("vsync: payload too large")
	ErrFirewalled   = errors.New("vsync: dropped from the view (poison pill); rejoin as a new incarnation")
	ErrPartitioned  = errors.New("vsync: membership service unreachable; wedged")
	ErrLeft         = errors.New("vsync: left the group")
	ErrUnknownQuery = errors.New("vsync: unknown query")
	ErrBusy         = errors.New("vsync: operation already in progress")
)
