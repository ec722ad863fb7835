package replay

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/test/natstest"
)

func TestUse(t *testing.T) {
	ctx := context.Background()
	g, err := Open(ctx, Config{JS: natstest.JetStream(t), Replicas: 1, Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Use(ctx, "sig-1"); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := g.Use(ctx, "sig-1"); !errors.Is(err, ErrReplay) {
		t.Fatalf("second use = %v, want ErrReplay", err)
	}
	if err := g.Use(ctx, "sig-2"); err != nil {
		t.Fatalf("another signature: %v", err)
	}
}

// TestUseConcurrent: of many processes receiving the same request at
// once, exactly one accepts it.
func TestUseConcurrent(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	g, err := Open(ctx, Config{JS: js, Replicas: 1, Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.Use(ctx, "same") == nil {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if accepted != 1 {
		t.Fatalf("%d accepted, want 1", accepted)
	}
}

// TestWindow: a signature is forgotten after the window, when its
// timestamp is too old to verify anyway.
func TestWindow(t *testing.T) {
	ctx := context.Background()
	g, err := Open(ctx, Config{JS: natstest.JetStream(t), Replicas: 1, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Use(ctx, "sig"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.Use(ctx, "sig") != nil {
		if time.Now().After(deadline) {
			t.Fatal("signature still remembered 10 s after a 1 s window")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
