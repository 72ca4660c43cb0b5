package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"
)

// FuzzDispatch feeds arbitrary client streams to a node's connection loop and dispatch: either raw
// bytes (the reader's error paths) or, when the first byte is odd, well-formed multibulk commands
// built from the input (NUL separates commands, 0x01 separates arguments), so that the fuzzer reaches
// every command's argument handling. The node must not panic or hang, must close the connection
// cleanly at EOF, and must still answer PING on a fresh connection afterwards.
func FuzzDispatch(f *testing.F) {
	seeds := []string{
		"\x00PING", "\x01SET\x01k\x01v\x00GET\x01k", "\x01MULTI\x00INCR\x01a\x00EXEC",
		"\x01SET\x01k\x01v\x01EX\x010\x00SET\x01k\x01v\x01PX\x019223372036854775807",
		"\x01HSET\x01h\x01f\x01v\x00HINCRBYFLOAT\x01h\x01f\x011e308\x00HGETALL\x01h",
		"\x01CLIENT\x01KILL\x01SKIPME\x01no\x00PING", "\x01CONFIG\x01SET\x01maxmemory\x011\x00SET\x01a\x01b",
		"\x01WATCH\x01a\x00MULTI\x00SET\x01a\x011\x00EXEC", "\x01COMMAND\x01GETKEYS\x01MSET\x01a\x01b",
		"\x00*1\r\n$9223372036854775807\r\nabc", "\x00*3000000000\r\n", "\x00set \"a",
		"\x01SCAN\x010\x01MATCH\x01*\x01COUNT\x011000", "\x01INCRBYFLOAT\x01f\x010.1\x00GETRANGE\x01f\x01-1\x010",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		stream := data[1:]
		if data[0]%2 == 1 {
			stream = buildCommands(stream)
		}
		cfg := DefaultConfig()
		cfg.Port, cfg.HTTPPort = -1, -1
		n, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		runPipe(t, n, stream)
		if out := runPipe(t, n, []byte("PING\r\n")); !bytes.HasSuffix(out, []byte("+PONG\r\n")) {
			t.Fatalf("node stopped answering after the input: %q", out)
		}
	})
}

// buildCommands turns fuzz bytes into multibulk commands: NUL ends a command, 0x01 ends an argument.
func buildCommands(b []byte) []byte {
	var out []byte
	for _, cmd := range bytes.Split(b, []byte{0}) {
		args := bytes.Split(cmd, []byte{1})
		out = append(out, '*')
		out = strconv.AppendInt(out, int64(len(args)), 10)
		out = append(out, "\r\n"...)
		for _, a := range args {
			out = append(out, '$')
			out = strconv.AppendInt(out, int64(len(a)), 10)
			out = append(out, "\r\n"...)
			out = append(out, a...)
			out = append(out, "\r\n"...)
		}
	}
	return out
}

// scriptedConn is the server side of an in-memory connection whose client sends stream and then
// EOF; replies go through the pipe to the test.
type scriptedConn struct {
	net.Conn
	in *bytes.Reader
}

func (c *scriptedConn) Read(p []byte) (int, error) { return c.in.Read(p) }

// runPipe serves one in-memory connection of n whose client sends stream then EOF, and returns
// everything the server wrote until it closed the connection.
func runPipe(t *testing.T, n *Node, stream []byte) []byte {
	client, srv := net.Pipe()
	defer client.Close()
	c := newConn(n, &scriptedConn{Conn: srv, in: bytes.NewReader(stream)})
	if ok, _ := n.clients.add(c, 1<<30); !ok {
		t.Fatal("registry refused the connection")
	}
	go c.serve()
	out, _ := io.ReadAll(client)
	return out
}
