package dht

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// ReplyError is a RESP error reply returned by the typed API; Msg is its text (e.g. "WRONGTYPE …").
type ReplyError struct {
	Msg string
}

func (e *ReplyError) Error() string { return e.Msg }

// call runs args through Do (the same path as RESP) and parses the reply.
func (d *Local) call(ctx context.Context, args ...[]byte) (reply, error) {
	out, err := d.Do(ctx, nil, args)
	if err != nil {
		return reply{}, err
	}
	r, rest, err := parseReply(out, 0)
	if err != nil {
		return reply{}, err
	}
	if len(rest) != 0 {
		return reply{}, fmt.Errorf("%w: %d trailing bytes", ErrBadReply, len(rest))
	}
	if r.kind == '-' {
		return reply{}, &ReplyError{Msg: string(r.str)}
	}
	return r, nil
}

func (r reply) int() (int64, error) {
	if r.kind != ':' {
		return 0, fmt.Errorf("%w: want an integer, got %q", ErrBadReply, r.kind)
	}
	return strconv.ParseInt(string(r.str), 10, 64)
}

func (r reply) bulk() ([]byte, bool, error) {
	if r.kind != '$' {
		return nil, false, fmt.Errorf("%w: want a bulk string, got %q", ErrBadReply, r.kind)
	}
	if r.null {
		return nil, false, nil
	}
	return r.str, true, nil
}

// Get returns the string value of key (ok false if absent).
func (d *Local) Get(ctx context.Context, key []byte) (val []byte, ok bool, err error) {
	r, err := d.call(ctx, []byte("GET"), key)
	if err != nil {
		return nil, false, err
	}
	return r.bulk()
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
	n, err := r.int()
	return n > 0, err
}

// Incr adds delta to the integer at key (INCRBY) and returns the new value.
func (d *Local) Incr(ctx context.Context, key []byte, delta int64) (int64, error) {
	r, err := d.call(ctx, []byte("INCRBY"), key, strconv.AppendInt(nil, delta, 10))
	if err != nil {
		return 0, err
	}
	return r.int()
}

// HSet sets field/value pairs of the hash at key and returns how many fields were new.
func (d *Local) HSet(ctx context.Context, key []byte, fieldVals ...[]byte) (int64, error) {
	args := append([][]byte{[]byte("HSET"), key}, fieldVals...)
	r, err := d.call(ctx, args...)
	if err != nil {
		return 0, err
	}
	return r.int()
}

// HGet returns the value of field in the hash at key (ok false if absent).
func (d *Local) HGet(ctx context.Context, key, field []byte) ([]byte, bool, error) {
	r, err := d.call(ctx, []byte("HGET"), key, field)
	if err != nil {
		return nil, false, err
	}
	return r.bulk()
}
