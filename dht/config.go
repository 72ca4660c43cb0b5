package dht

import (
	"errors"
	"fmt"
	"time"

	"github.com/vsdb/vsdb/shard"
)

// Errors of the dht package.
var (
	ErrClosed         = errors.New("dht: closed")
	ErrBadConfig      = errors.New("dht: invalid config")
	ErrNotDataCommand = errors.New("dht: not a data command")
	ErrBadReply       = errors.New("dht: malformed reply")
	ErrBadTTL         = errors.New("dht: negative ttl")
)

// Config configures a Local.
type Config struct {
	Store shard.Config
	NowMs func() int64 // injected clock, Unix ms; default time.Now
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	if err := c.Store.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return nil
}

func defaultNowMs() int64 { return time.Now().UnixMilli() }
