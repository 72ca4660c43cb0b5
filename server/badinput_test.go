package server

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every RESP row of spec/resp-bad-inputs.md, sent to a running node over TCP: the reply must be
// Redis 7's, byte for byte; the connection must be closed exactly when Redis closes it; and afterwards
// another client must still be served.
func TestHostileRESPInputs(t *testing.T) {
	big := func(b byte, n int) string { return strings.Repeat(string(b), n) }
	const (
		pong       = "+PONG\r\n"
		badMulti   = "-ERR Protocol error: invalid multibulk length\r\n"
		badBulk    = "-ERR Protocol error: invalid bulk length\r\n"
		noAuth     = "-NOAUTH Authentication required.\r\n"
		unauthPass = "secret"
	)
	rows := []struct {
		row, name string
		auth      bool // the node has requirepass set
		in        string
		want      string
		closes    bool
	}{
		{"1", "empty line then PING", false, "\r\nPING\r\n", pong, false},
		{"2", "*-1 *0 *-10 are no-ops", false, "*-1\r\n*0\r\n*-10\r\nPING\r\n", pong, false},
		{"3", "*3000000000", false, "*3000000000\r\n", badMulti, true},
		{"4", "*int64max", false, "*9223372036854775807\r\n", badMulti, true},
		{"4", "*overflow", false, "*99999999999999999999\r\n", badMulti, true},
		{"5", "*abc", false, "*abc\r\n", badMulti, true},
		{"5", "LF-only header", false, "*1\n$4\r\nPING\r\n", badMulti, true},
		{"6", "$-1", false, "*1\r\n$-1\r\n", badBulk, true},
		{"6", "$-10", false, "*1\r\n$-10\r\n", badBulk, true},
		{"7", "bulk above proto-max-bulk-len", false, "*1\r\n$2000000000\r\n", badBulk, true},
		{"8", "bulk int64max", false, "*1\r\n$9223372036854775807\r\nabc", badBulk, true},
		{"9", "bulk overflow", false, "*1\r\n$99999999999999999999\r\n", badBulk, true},
		{"10", "expected $ got f", false, "*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n", true},
		{"10", "expected $ got :", false, "*1\r\n:5\r\n", "-ERR Protocol error: expected '$', got ':'\r\n", true},
		{"10", "third arg not a bulk", false, "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n", true},
		{"11", "bad bulk terminator skipped", false, "*1\r\n$4\r\nPINGxx\r\n", pong, false},
		{"12", "unbalanced quotes", false, "set \"a\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true},
		{"13", "70 KB inline without newline", false, big('a', 70<<10), "-ERR Protocol error: too big inline request\r\n", true},
		{"14", "70 KB of multibulk count digits", false, "*" + big('1', 70<<10), "-ERR Protocol error: too big mbulk count string\r\n", true},
		{"15", "desync: NUL then junk", false, "\x00" + big('x', 70<<10), "-ERR Protocol error: too big inline request\r\n", true},
		// Redis looks for the header's CR with strchr, which stops at a NUL: the header never ends, and
		// the endless junk after it trips the header-size limit.
		{"15", "desync: *NUL then junk", false, "*\x00" + big('x', 70<<10), "-ERR Protocol error: too big mbulk count string\r\n", true},
		{"15", "desync: $NUL then junk", false, "*1\r\n$\x00" + big('x', 70<<10), "-ERR Protocol error: too big bulk count string\r\n", true},
		{"16", "RESP3 map as a request", false, "%1\r\n", "-ERR unknown command '%1', with args beginning with: \r\n", false},
		{"16", "+PING as a request", false, "+PING\r\n", "-ERR unknown command '+PING', with args beginning with: \r\n", false},
		{"17", "unauthenticated *11", true, "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n", true},
		{"18", "unauthenticated 20000-byte bulk", true, "*1\r\n$20000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n", true},
		{"20", "AUTH wrong", true, "AUTH wrong\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n", false},
		{"20", "GET before AUTH", true, "GET k\r\n", noAuth, false},
		{"20", "HELLO 3 before AUTH", true, "HELLO 3\r\n", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n", false},
		{"20", "unknown command before AUTH", true, "FOO\r\n", "-ERR unknown command 'FOO', with args beginning with: \r\n", false},
		{"20", "AUTH right then GET", true, "AUTH " + unauthPass + "\r\nGET k\r\n", "+OK\r\n$-1\r\n", false},
		{"26", "MULTI nested", false, "MULTI\r\nMULTI\r\nDISCARD\r\n", "+OK\r\n-ERR MULTI calls can not be nested\r\n+OK\r\n", false},
		{"26", "EXEC without MULTI", false, "EXEC\r\n", "-ERR EXEC without MULTI\r\n", false},
		{"26", "WATCH inside MULTI", false, "MULTI\r\nWATCH k\r\nDISCARD\r\n", "+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n", false},
		{"26", "wrong arity", false, "GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n", false},
		{"26", "unknown command with args", false, "FOO a b\r\n", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n", false},
		{"26", "mixed-case name", false, "pInG\r\n", pong, false},
		{"26", "error in MULTI aborts EXEC", false, "MULTI\r\nSET a\r\nEXEC\r\n", "+OK\r\n-ERR wrong number of arguments for 'set' command\r\n-EXECABORT Transaction discarded because of previous errors.\r\n", false},
	}
	plain := openTestNode(t, nil)
	withPass := openTestNode(t, func(c *Config) { c.RequirePass = unauthPass })
	for _, r := range rows {
		t.Run("row"+r.row+"/"+r.name, func(t *testing.T) {
			n := plain
			if r.auth {
				n = withPass
			}
			c := dialRaw(t, n)
			c.send([]byte(r.in))
			got := make([]byte, len(r.want))
			if _, err := io.ReadFull(c.br, got); err != nil {
				t.Fatalf("reading %d reply bytes: %v (got %q)", len(r.want), err, got)
			}
			if string(got) != r.want {
				t.Fatalf("reply = %q, want %q", got, r.want)
			}
			if r.closes {
				if !c.closed() {
					t.Fatal("connection left open; Redis closes it")
				}
			} else if got := c.do("PING"); got != "PONG" && !r.auth {
				t.Fatalf("connection no longer answers: %s", got)
			}
			// The server keeps serving everyone else.
			other := dialRaw(t, n)
			if r.auth {
				if got := other.do("AUTH", unauthPass); got != "OK" {
					t.Fatalf("AUTH on another client = %s", got)
				}
			}
			if got := other.do("PING"); got != "PONG" {
				t.Fatalf("another client: PING = %s", got)
			}
		})
	}
}

// Row 19: an unauthenticated client whose query buffer passes the limit is closed without a reply.
// The limit is lowered to 64 KiB, so one command of allowed size (≤ 10 args of ≤ 16384 bytes)
// overflows it.
func TestUnauthenticatedQueryBufferLimit(t *testing.T) {
	n := openTestNode(t, func(c *Config) {
		c.RequirePass = "pw"
		c.Limits.UnauthMaxQueryBufferBytes = 64 << 10
	})
	c := dialRaw(t, n)
	req := "*6\r\n$4\r\nAUTH\r\n"
	for range 5 {
		req += "$16000\r\n" + strings.Repeat("x", 16000) + "\r\n"
	}
	c.send([]byte(req))
	if !c.closed() {
		t.Fatal("connection left open past the unauthenticated query-buffer limit")
	}
}

// Row 21: a client pipelines GETs of a 1 MB value and reads nothing. The server must not buffer the
// replies: it writes them out as they exceed ReplyFlushBytes, blocks on that client's socket, and
// stops reading from it, while serving others. Then the client reads everything, intact.
func TestPipelinedLargeRepliesAreBackpressured(t *testing.T) {
	n := openTestNode(t, nil)
	setup := dialRaw(t, n)
	value := bytes.Repeat([]byte("v"), 1<<20)
	setup.send(encodeCommand("SET", "big", string(value)))
	if got := setup.reply(); got != "OK" {
		t.Fatalf("SET = %s", got)
	}
	const gets = 2000 // 2 GB of replies if they were buffered
	stuck := dialRaw(t, n)
	var pipeline []byte
	for range gets {
		pipeline = append(pipeline, encodeCommand("GET", "big")...)
	}
	go func() { _, _ = stuck.nc.Write(pipeline) }()
	before := n.metrics.commandsProcessed.raw()
	for range 200 {
		if got := setup.do("PING"); got != "PONG" {
			t.Fatalf("other client starved: %s", got)
		}
	}
	// Each PING above is one command; the rest are GETs the stuck client got processed. Socket
	// buffers hold only a few MB, so a bounded server has run a handful of them.
	ran := n.metrics.commandsProcessed.raw() - before - 200
	if ran > 100 {
		t.Fatalf("%v GETs ran for a client that reads nothing: replies are being buffered without bound", ran)
	}
	want := append([]byte("$"+strconv.Itoa(len(value))+"\r\n"), value...)
	want = append(want, "\r\n"...)
	got := make([]byte, len(want))
	for i := range gets {
		if _, err := io.ReadFull(stuck.br, got); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("reply %d differs", i)
		}
	}
}

// Row 22: past maxclients, a new connection gets Redis's error and is closed.
func TestMaxClients(t *testing.T) {
	n := openTestNode(t, func(c *Config) { c.MaxClients = 2 })
	a, b := dialRaw(t, n), dialRaw(t, n)
	for _, c := range []*rawClient{a, b} {
		if got := c.do("PING"); got != "PONG" {
			t.Fatal(got)
		}
	}
	c := dialRaw(t, n)
	got := make([]byte, len("-ERR max number of clients reached\r\n"))
	if _, err := io.ReadFull(c.br, got); err != nil || string(got) != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client: %q %v", got, err)
	}
	if !c.closed() {
		t.Fatal("third client left open")
	}
	_ = a.nc.Close()
	// Once a slot frees, a new client is served (the registry drops a closed client when its
	// goroutine ends; the loop waits for that without sleeping, bounded by the dial deadline).
	for {
		d := dialRaw(t, n)
		d.send([]byte("PING\r\n"))
		if r, err := d.br.ReadString('\n'); err == nil && r == "+PONG\r\n" {
			break
		}
	}
}

// Row 23: with timeout set, an idle client is closed; a half-closed client gets its reply.
func TestIdleTimeoutAndHalfClose(t *testing.T) {
	n := openTestNode(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	idle := dialRaw(t, n)
	if !idle.closed() {
		t.Fatal("idle client not closed")
	}
	hc := dialRaw(t, n)
	hc.send([]byte("PING\r\n"))
	if err := hc.nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(hc.br)
	if err != nil || string(rest) != "+PONG\r\n" {
		t.Fatalf("half-closed client got %q, %v", rest, err)
	}
}

// Rows 24 and 27: binary-safe keys and values; writes past maxmemory with noeviction.
func TestBinaryKeysAndOOM(t *testing.T) {
	n := openTestNode(t, nil)
	c := dialRaw(t, n)
	for _, key := range []string{"", "a\x00b", "\xff\xfe", "{tag}x", strings.Repeat("k", 1<<20)} {
		if got := c.do("SET", key, "v\x00\xff"); got != "OK" {
			t.Fatalf("SET %q = %s", key[:min(len(key), 8)], got)
		}
		c.send(encodeCommand("GET", key))
		want := "$3\r\nv\x00\xff\r\n"
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c.br, got); err != nil || string(got) != want {
			t.Fatalf("GET %q = %q", key[:min(len(key), 8)], got)
		}
	}
	oom := openTestNode(t, func(c *Config) { c.Store.MaxMemoryBytes = 64 << 10 })
	o := dialRaw(t, oom)
	var got string
	for i := 0; i < 1000; i++ {
		o.send(encodeCommand("SET", "k"+strconv.Itoa(i), strings.Repeat("x", 1024)))
		line, err := o.br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line != "+OK\r\n" {
			got = line
			break
		}
	}
	if got != "-OOM command not allowed when used memory > 'maxmemory'.\r\n" {
		t.Fatalf("write past maxmemory = %q", got)
	}
	if r := o.do("GET", "k0"); r == "" {
		t.Fatal("reads must still work at maxmemory")
	}
	if r := o.do("DEL", "k0"); r != "(integer) 1" {
		t.Fatalf("DEL at maxmemory = %s", r)
	}
}
