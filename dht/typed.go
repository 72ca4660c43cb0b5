package dht

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/vsdb/vsdb/protocol"
)

// ReplyError is a RESP error reply returned by the typed API; Msg is its text (e.g. "WRONGTYPE …").
type ReplyError struct {
	Msg string
}

func (e *ReplyError) Error() string { return e.Msg }

// call runs args through Do (the same path as RESP) and parses the reply with protocol's reader.
func (d *Local) call(ctx context.Context, args ...[]byte) (protocol.Value, error) {
	out, err := d.Do(ctx, nil, args)
	if err != nil {
		return protocol.Value{}, err
	}
	br := bufio.NewReader(bytes.NewReader(out))
	r, err := protocol.ReadReply(br)
	if err != nil {
		return protocol.Value{}, fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	if br.Buffered() != 0 {
		return protocol.Value{}, fmt.Errorf("%w: %d trailing bytes", ErrBadReply, br.Buffered())
	}
	if r.Kind == protocol.Error {
		return protocol.Value{}, &ReplyError{Msg: string(r.Str)}
	}
	return r, nil
}

func replyInt(r protocol.Value) (int64, error) {
	if r.Kind != protocol.Integer {
		return 0, fmt.Errorf("%w: want an integer, got %s", ErrBadReply, r.Kind)
	}
	return r.Int, nil
}

func replyBulk(r protocol.Value) ([]byte, bool, error) {
	switch r.Kind {
	case protocol.Null:
		return nil, false, nil
	case protocol.Bulk:
		return r.Str, true, nil
	}
	return nil, false, fmt.Errorf("%w: want a bulk string, got %s", ErrBadReply, r.Kind)
}

// Get returns the string value of key (ok false if absent).
func (d *Local) Get(ctx context.Context, key []byte) (val []byte, ok bool, err error) {
	r, err := d.call(ctx, []byte("GET"), key)
	if err != nil {
		return nil, false, err
	}
	return replyBulk(r)
}

// Put sets key to val with a time to live (0 = none; below 1 ms rounds up to 1 ms).
func (d *Local) Put(ctx context.Context, key, val []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("%w: %v", ErrBadTTL, ttl)
	}
	args := [][]byte{[]byte("SET"), key, val}
	if ttl > 0 {
		ms := max(ttl.Milliseconds(), 1)
		args = append(args, []byte("PX"), strconv.AppendInt(nil, ms, 10))
	}
	_, err := d.call(ctx, args...)
	return err
}

// Remove deletes key and reports whether it existed.
func (d *Local) Remove(ctx context.Context, key []byte) (bool, error) {
	r, err := d.call(ctx, []byte("DEL"), key)
	if err != nil {
		return false, err
	}
	n, err := replyInt(r)
	return n > 0, err
}

// Incr adds delta to the integer at key (INCRBY) and returns the new value.
func (d *Local) Incr(ctx context.Context, key []byte, delta int64) (int64, error) {
	r, err := d.call(ctx, []byte("INCRBY"), key, strconv.AppendInt(nil, delta, 10))
	if err != nil {
		return 0, err
	}
	return replyInt(r)
}

// HSet sets field/value pairs of the hash at key and returns how many fields were new.
func (d *Local) HSet(ctx context.Context, key []byte, fieldVals ...[]byte) (int64, error) {
	args := append([][]byte{[]byte("HSET"), key}, fieldVals...)
	r, err := d.call(ctx, args...)
	if err != nil {
		return 0, err
	}
	return replyInt(r)
}

// HGet returns the value of field in the hash at key (ok false if absent).
func (d *Local) HGet(ctx context.Context, key, field []byte) ([]byte, bool, error) {
	r, err := d.call(ctx, []byte("HGET"), key, field)
	if err != nil {
		return nil, false, err
	}
	return replyBulk(r)
}
