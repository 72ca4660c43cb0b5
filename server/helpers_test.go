package server

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/vsdb/vsdb/protocol"
)

// openTestNode starts a node on free loopback ports and closes it when the test ends.
func openTestNode(t testing.TB, mutate func(*Config)) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port, cfg.HTTPPort = 0, 0
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

// rawClient is a RESP client over a plain TCP connection that can send arbitrary bytes.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, n *Node) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	// A generous deadline turns a hang (the failure mode of a spinning reader) into a test failure
	// instead of a stuck test binary; it is not a timing assertion.
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawClient) send(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one reply and renders it in protocol.Value's debugging form.
func (c *rawClient) reply() string {
	c.t.Helper()
	v, err := protocol.ReadReply(c.br)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return v.String()
}

// do sends one command as a multibulk and returns its rendered reply.
func (c *rawClient) do(args ...string) string {
	c.t.Helper()
	c.send(encodeCommand(args...))
	return c.reply()
}

// closed reports whether the server closed the connection (EOF or reset on the next read).
func (c *rawClient) closed() bool {
	_, err := c.br.ReadByte()
	return err != nil
}

func encodeCommand(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}
