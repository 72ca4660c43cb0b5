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
		done := make(chan error, 1)
		go func() { done <- ri.await(context.Background()) }()
		synctest.Wait()
		ri.publishKnown(3, 9, true) // known after the read began: the reader does not wait for it
		ri.publishDelivered(3, 4)   // not an advance
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("await returned %v before position 5 was delivered", err)
		default:
		}
		ri.publishDelivered(3, 5)
		if err := <-done; err != nil {
			t.Fatalf("await: %v", err)
		}
		if ri.applied() {
			t.Fatal("applied with position 9 known and 5 delivered")
		}

		// Wedged: only the next view's install releases the reader.
		ri.publishKnown(3, 9, false)
		go func() { done <- ri.await(context.Background()) }()
		synctest.Wait()
		ri.publishDelivered(3, 9)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("wedged await returned %v before the next view", err)
		default:
		}
		ri.publishDelivered(4, 0)
		if err := <-done; err != nil {
			t.Fatalf("await: %v", err)
		}

		// The context ends a wait; a stop ends every wait.
		ri.publishKnown(4, 2, true)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { done <- ri.await(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("await after cancel: %v", err)
		}
		go func() { done <- ri.await(context.Background()) }()
		synctest.Wait()
		ri.stop()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("await after stop: %v", err)
		}
		if ri.applied() {
			t.Fatal("applied after stop")
		}
	})
}
