package protocol

import (
	"errors"
	"fmt"
	"math"
)

// Limits bounds what a Reader accepts from one client. The defaults are those of Redis 7
// (networking.c, server.h, config.c); every field must be positive.
type Limits struct {
	// MaxBulkBytes is proto-max-bulk-len: a longer bulk is "invalid bulk length". Default 512 MiB.
	MaxBulkBytes int64
	// MaxInlineBytes is PROTO_INLINE_MAX_SIZE: the longest inline request line, and also the longest
	// "*N" / "$N" header line ("too big mbulk count string", "too big bulk count string").
	// Default 64 KiB.
	MaxInlineBytes int
	// MaxMultibulkLen is the largest accepted "*N" (Redis: INT_MAX). Default 1<<31-1.
	MaxMultibulkLen int64
	// UnauthMaxMultibulkLen is the largest "*N" before authentication. Default 10.
	UnauthMaxMultibulkLen int64
	// UnauthMaxBulkBytes is the largest "$N" before authentication. Default 16384.
	UnauthMaxBulkBytes int64
	// MaxQueryBufferBytes is client-query-buffer-limit: the most bytes one incomplete command may
	// occupy. Past it ReadCommand returns ErrQueryBufferLimit. Default 1 GiB.
	MaxQueryBufferBytes int64
	// UnauthMaxQueryBufferBytes is the same limit before authentication. Default 1 MiB.
	UnauthMaxQueryBufferBytes int64
}

// DefaultLimits returns Redis 7's limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkBytes:              512 << 20,
		MaxInlineBytes:            64 << 10,
		MaxMultibulkLen:           math.MaxInt32,
		UnauthMaxMultibulkLen:     10,
		UnauthMaxBulkBytes:        16384,
		MaxQueryBufferBytes:       1 << 30,
		UnauthMaxQueryBufferBytes: 1 << 20,
	}
}

// ErrInvalidLimits is wrapped by every problem Limits.Validate reports.
var ErrInvalidLimits = errors.New("protocol: invalid limits")

// Validate reports every bad field at once (joined with errors.Join), or nil.
func (l Limits) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidLimits}, args...)...))
	}
	if l.MaxBulkBytes <= 0 {
		bad("MaxBulkBytes %d must be positive", l.MaxBulkBytes)
	}
	if l.MaxInlineBytes <= 0 {
		bad("MaxInlineBytes %d must be positive", l.MaxInlineBytes)
	}
	if l.MaxMultibulkLen <= 0 || l.MaxMultibulkLen > math.MaxInt32 {
		bad("MaxMultibulkLen %d must be in [1, %d]", l.MaxMultibulkLen, math.MaxInt32)
	}
	if l.UnauthMaxMultibulkLen <= 0 || l.UnauthMaxMultibulkLen > l.MaxMultibulkLen {
		bad("UnauthMaxMultibulkLen %d must be in [1, MaxMultibulkLen]", l.UnauthMaxMultibulkLen)
	}
	if l.UnauthMaxBulkBytes <= 0 || l.UnauthMaxBulkBytes > l.MaxBulkBytes {
		bad("UnauthMaxBulkBytes %d must be in [1, MaxBulkBytes]", l.UnauthMaxBulkBytes)
	}
	// A query buffer smaller than one maximal bulk (or one maximal inline line) could never hold it.
	if l.MaxQueryBufferBytes < l.MaxBulkBytes || l.MaxQueryBufferBytes < int64(l.MaxInlineBytes) ||
		l.MaxQueryBufferBytes <= 0 {
		bad("MaxQueryBufferBytes %d must be at least MaxBulkBytes and MaxInlineBytes", l.MaxQueryBufferBytes)
	}
	if l.UnauthMaxQueryBufferBytes <= 0 || l.UnauthMaxQueryBufferBytes > l.MaxQueryBufferBytes ||
		l.UnauthMaxQueryBufferBytes < int64(l.MaxInlineBytes) {
		bad("UnauthMaxQueryBufferBytes %d must be in [MaxInlineBytes, MaxQueryBufferBytes]",
			l.UnauthMaxQueryBufferBytes)
	}
	if l.MaxQueryBufferBytes > math.MaxInt-maxReadChunkBytes {
		bad("MaxQueryBufferBytes %d too large for this platform", l.MaxQueryBufferBytes)
	}
	return errors.Join(errs...)
}
