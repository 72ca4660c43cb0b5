package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// TestEmbeddedNodeGoRedisAndGoAPI embeds a node through Open, uses it from go-redis v9 (which opens
// with HELLO 3 and must fall back to RESP2) and from the Go API, then closes it and checks that no
// goroutine is left behind.
func TestEmbeddedNodeGoRedisAndGoAPI(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Port, cfg.HTTPPort = 0, 0
	n, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 3})
	if got, err := rdb.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING via go-redis = %q, %v", got, err)
	}
	if err := rdb.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A write through RESP is visible through the Go API, and the other way round.
	if v, ok, err := n.Get(ctx, []byte("k")); err != nil || !ok || string(v) != "v1" {
		t.Fatalf("Go API Get = %q %v %v", v, ok, err)
	}
	if err := n.Put(ctx, []byte("k2"), []byte("v2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := rdb.Get(ctx, "k2").Result(); err != nil || got != "v2" {
		t.Fatalf("GET k2 = %q, %v", got, err)
	}
	if ttl, err := rdb.TTL(ctx, "k2").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL k2 = %v, %v", ttl, err)
	}
	if v, err := n.Incr(ctx, []byte("ctr"), 5); err != nil || v != 5 {
		t.Fatalf("Incr = %d, %v", v, err)
	}
	if got, err := rdb.IncrBy(ctx, "ctr", 2).Result(); err != nil || got != 7 {
		t.Fatalf("INCRBY = %d, %v", got, err)
	}
	if _, err := n.HSet(ctx, []byte("h"), []byte("f"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, err := rdb.HGet(ctx, "h", "f").Result(); err != nil || got != "x" {
		t.Fatalf("HGET = %q, %v", got, err)
	}
	if _, err := n.Incr(ctx, []byte("h"), 1); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		t.Fatalf("Incr on a hash: err = %v, want WRONGTYPE", err)
	}
	if existed, err := n.Remove(ctx, []byte("k")); err != nil || !existed {
		t.Fatalf("Remove = %v, %v", existed, err)
	}
	if err := rdb.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET removed key: %v, want redis.Nil", err)
	}
	// A transaction through go-redis.
	cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		p.Incr(ctx, "a")
		return nil
	})
	if err != nil || len(cmds) != 2 || cmds[1].(*redis.IntCmd).Val() != 2 {
		t.Fatalf("MULTI/EXEC via go-redis: %v %v", cmds, err)
	}

	// HTTP: health and metrics.
	resp, err := http.Get("http://" + n.HTTPAddr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + n.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vsdb_commands_total{cmd="set"}`, "vsdb_connected_clients ", "vsdb_keys ", "vsdb_used_memory_bytes "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Get(ctx, []byte("k2")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
}

// TestCloseWithOpenClients closes a node while clients are connected and idle: Close returns and no
// goroutine is left.
func TestCloseWithOpenClients(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := DefaultConfig()
	cfg.Port, cfg.HTTPPort = 0, -1
	n, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := dialRaw(t, n), dialRaw(t, n)
	if got := c1.do("PING"); got != "PONG" {
		t.Fatalf("PING = %s", got)
	}
	c2.send([]byte("*2\r\n$3\r\nGET\r\n")) // half a command: the reader is blocked mid-command
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if !c1.closed() || !c2.closed() {
		t.Fatal("clients not disconnected by Close")
	}
}
