package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process ownership. Every process this package starts is an ownedProcess:
//   - it runs in its own process group (Setpgid) so a stop signal reaches anything it forks, and with
//     Pdeathsig SIGKILL so it dies if the driver dies without running its stop path;
//   - a goroutine Waits for it and closes done; nothing else calls Wait;
//   - stop (idempotent) sends SIGTERM to the group, waits up to stopGrace, then SIGKILLs the group
//     and waits for done; a ctx cancellation SIGKILLs the group. No signal is sent once the process
//     has been reaped, so a recycled pid is never signalled;
//   - its combined stdout+stderr is kept in a bounded tail buffer for error messages.

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 3 * time.Second

// outputTailBytes bounds the output kept from each process.
const outputTailBytes = 16 << 10

type ownedProcess struct {
	name   string
	argv   []string
	cmd    *exec.Cmd
	out    *tailBuffer
	done   chan struct{}
	waited error // set before done is closed

	stopOnce sync.Once
}

// startOwned starts argv (with env appended to the driver's environment) as an owned process.
// ctx cancellation kills it.
func startOwned(ctx context.Context, name string, argv, env []string) (*ownedProcess, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("%w: %s: empty command", ErrServerStart, name)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if len(env) > 0 {
		cmd.Env = append(cmd.Environ(), env...)
	}
	out := &tailBuffer{limit: outputTailBytes}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrServerStart, name, err)
	}
	p := &ownedProcess{name: name, argv: argv, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.waited = cmd.Wait()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			p.signalGroup(syscall.SIGKILL)
		case <-p.done:
		}
	}()
	return p, nil
}

func (p *ownedProcess) pid() int { return p.cmd.Process.Pid }

func (p *ownedProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *ownedProcess) signalGroup(sig syscall.Signal) {
	if !p.exited() {
		_ = syscall.Kill(-p.pid(), sig) // the group may already be gone
	}
}

// stop terminates the process group and waits for the process; safe to call more than once.
func (p *ownedProcess) stop() {
	p.stopOnce.Do(func() {
		p.signalGroup(syscall.SIGTERM)
		t := time.NewTimer(stopGrace)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			p.signalGroup(syscall.SIGKILL)
			<-p.done
		}
	})
}

// describeExit says how the process ended and shows the tail of its output.
func (p *ownedProcess) describeExit() string {
	return fmt.Sprintf("%s exited (%v); output tail:\n%s", p.name, p.waited, p.out.String())
}

// tailBuffer is an io.Writer keeping the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

var _ io.Writer = (*tailBuffer)(nil)

// freeLoopbackPort asks the kernel for an unused TCP port on 127.0.0.1. The port is free when this
// returns; a server that loses the race to another process fails to start and the run reports it.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("%w: no free loopback port: %w", ErrServerStart, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Readiness polling bounds.
const (
	pingPollInterval = 2 * time.Millisecond
	pingIOTimeout    = 200 * time.Millisecond
)

// waitForPing polls addr with a RESP PING until it answers +PONG, the process exits, ctx ends or
// timeout passes.
func waitForPing(ctx context.Context, p *ownedProcess, addr string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var lastErr error
	for tries := 0; ; tries++ {
		if lastErr = pingOnce(ctx, addr); lastErr == nil {
			return nil
		}
		poll := time.NewTimer(pingPollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return ctx.Err()
		case <-p.done:
			poll.Stop()
			if err := ctx.Err(); err != nil {
				return err // the ctx's kill, not a failed start
			}
			return fmt.Errorf("%w: %s", ErrServerStart, p.describeExit())
		case <-deadline.C:
			poll.Stop()
			return fmt.Errorf("%w: %s at %s: no PONG after %v and %d tries: %w",
				ErrServerStart, p.name, addr, timeout, tries+1, lastErr)
		case <-poll.C:
		}
	}
}

var errNotPong = errors.New("reply is not +PONG")

func pingOnce(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: pingIOTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(pingIOTimeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	reply := make([]byte, 7)
	if _, err := io.ReadFull(c, reply); err != nil {
		return err
	}
	if string(reply) != "+PONG\r\n" {
		return fmt.Errorf("%w: %q", errNotPong, reply)
	}
	return nil
}

func addrOf(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
