package group

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// TestReadIndexAwait: a reader waits until the position known at its start is delivered (not an
// earlier one, not a later known position), a wedged index waits for the next view, and a stopped
// driver releases every reader with ErrClosed.
func TestReadIndexAwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ri readIndex
		ri.publishKnown(3, 5, true)
		ri.publishDelivered(3, 4)
		if ri.applied() {
			t.Fatal("applied with position 5 known and 4 delivered")
		}
		done := startAwait(context.Background(), &ri)
		ri.publishKnown(3, 9, true) // known after the read began: the reader does not wait for it
		ri.publishDelivered(3, 4)   // not an advance
		stillWaiting(t, done, "before position 5 was delivered")
		ri.publishDelivered(3, 5)
		if err := <-done; err != nil {
			t.Fatalf("await: %v", err)
		}
		if ri.applied() {
			t.Fatal("applied with position 9 known and 5 delivered")
		}

		// Wedged: only the next view's install releases the reader.
		ri.publishKnown(3, 9, false)
		done = startAwait(context.Background(), &ri)
		ri.publishDelivered(3, 9)
		stillWaiting(t, done, "while wedged, before the next view")
		ri.publishDelivered(4, 0)
		if err := <-done; err != nil {
			t.Fatalf("await: %v", err)
		}

		// The context ends a wait; a stop ends every wait.
		ri.publishKnown(4, 2, true)
		ctx, cancel := context.WithCancel(context.Background())
		done = startAwait(ctx, &ri)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("await after cancel: %v", err)
		}
		done = startAwait(context.Background(), &ri)
		ri.stop()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("await after stop: %v", err)
		}
		if ri.applied() {
			t.Fatal("applied after stop")
		}
	})
}

// startAwait starts a reader and returns once it blocks (inside a synctest bubble).
func startAwait(ctx context.Context, ri *readIndex) chan error {
	done := make(chan error, 1)
	go func() { done <- ri.await(ctx) }()
	synctest.Wait()
	return done
}

// stillWaiting fails unless the reader is still blocked once every goroutine settled.
func stillWaiting(t *testing.T, done chan error, when string) {
	t.Helper()
	synctest.Wait()
	select {
	case err := <-done:
		t.Fatalf("await returned %v %s", err, when)
	default:
	}
}
