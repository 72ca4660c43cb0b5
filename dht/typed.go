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

// Doer runs one data command and appends its RESP reply (Local, and the server's cluster data plane).
type Doer interface {
	Do(ctx context.Context, dst []byte, args [][]byte) ([]byte, error)
}

// Typed is the typed API (Get, Put, …) over any Doer: each call is one command through Do, its reply
// parsed with protocol's reader.
type Typed struct{ D Doer }

// ReplyError is a RESP error reply returned by the typed API; Msg is its text (e.g. "WRONGTYPE …").
type ReplyError struct {
	Msg string
}

func (e *ReplyError) Error() string { return e.Msg }

// call runs args through Do (the same path as RESP) and parses the reply with protocol's reader.
func (t Typed) call(ctx context.Context, args ...[]byte) (protocol.Value, error) {
	out, err := t.D.Do(ctx, nil, args)
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
func (t Typed) Get(ctx context.Context, key []byte) (val []byte, ok bool, err error) {
	r, err := t.call(ctx, []byte("GET"), key)
	if err != nil {
		return nil, false, err
	}
	return replyBulk(r)
}

// Put sets key to val with a time to live (0 = none; below 1 ms rounds up to 1 ms).
func (t Typed) Put(ctx context.Context, key, val []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("%w: %v", ErrBadTTL, ttl)
	}
	args := [][]byte{[]byte("SET"), key, val}
	if ttl > 0 {
		ms := max(ttl.Milliseconds(), 1)
		args = append(args, []byte("PX"), strconv.AppendInt(nil, ms, 10))
	}
	_, err := t.call(ctx, args...)
	return err
}

// Remove deletes key and reports whether it existed.
func (t Typed) Remove(ctx context.Context, key []byte) (bool, error) {
	r, err := t.call(ctx, []byte("DEL"), key)
	if err != nil {
		return false, err
	}
	n, err := replyInt(r)
	return n > 0, err
}

// Incr adds delta to the integer at key (INCRBY) and returns the new value.
func (t Typed) Incr(ctx context.Context, key []byte, delta int64) (int64, error) {
	r, err := t.call(ctx, []byte("INCRBY"), key, strconv.AppendInt(nil, delta, 10))
	if err != nil {
		return 0, err
	}
	return replyInt(r)
}

// HSet sets field/value pairs of the hash at key and returns how many fields were new.
func (t Typed) HSet(ctx context.Context, key []byte, fieldVals ...[]byte) (int64, error) {
	args := append([][]byte{[]byte("HSET"), key}, fieldVals...)
	r, err := t.call(ctx, args...)
	if err != nil {
		return 0, err
	}
	return replyInt(r)
}

// HGet returns the value of field in the hash at key (ok false if absent).
func (t Typed) HGet(ctx context.Context, key, field []byte) ([]byte, bool, error) {
	r, err := t.call(ctx, []byte("HGET"), key, field)
	if err != nil {
		return nil, false, err
	}
	return replyBulk(r)
}

// Get returns the string value of key (see Typed.Get).
func (d *Local) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	return Typed{d}.Get(ctx, key)
}

// Put sets key (see Typed.Put).
func (d *Local) Put(ctx context.Context, key, val []byte, ttl time.Duration) error {
	return Typed{d}.Put(ctx, key, val, ttl)
}

// Remove deletes key (see Typed.Remove).
func (d *Local) Remove(ctx context.Context, key []byte) (bool, error) {
	return Typed{d}.Remove(ctx, key)
}

// Incr adds delta to key (see Typed.Incr).
func (d *Local) Incr(ctx context.Context, key []byte, delta int64) (int64, error) {
	return Typed{d}.Incr(ctx, key, delta)
}

// HSet sets hash fields (see Typed.HSet).
func (d *Local) HSet(ctx context.Context, key []byte, fieldVals ...[]byte) (int64, error) {
	return Typed{d}.HSet(ctx, key, fieldVals...)
}

// HGet returns a hash field (see Typed.HGet).
func (d *Local) HGet(ctx context.Context, key, field []byte) ([]byte, bool, error) {
	return Typed{d}.HGet(ctx, key, field)
}
