package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-alerts/herald/test/natstest"
)

// Two limiters on one NATS, each with many eager callers, together stay at
// the configured rate.
func TestSharedRateHoldsAcrossInstances(t *testing.T) {
	js := natstest.JetStream(t)
	const rate = 40.0
	const window = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		l, err := Open(context.Background(), Config{JS: js, Replicas: 1, Name: "test", Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for l.Wait(ctx) == nil {
					n.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	want := rate * window.Seconds()
	// The initial bucket and each instance's last batch may run ahead.
	if got := float64(n.Load()); got < want*0.85 || got > want*1.15+2*rate/10 {
		t.Fatalf("%v events in %s at %v/s across two instances, want about %v", got, window, rate, want)
	}
}

func TestOpenRefusesBadRate(t *testing.T) {
	js := natstest.JetStream(t)
	for _, r := range []float64{0, -1} {
		if _, err := Open(context.Background(), Config{JS: js, Replicas: 1, Name: "x", Rate: r}); err == nil {
			t.Errorf("rate %v accepted", r)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	js := natstest.JetStream(t)
	l, err := Open(context.Background(), Config{JS: js, Replicas: 1, Name: "slow", Rate: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(context.Background()); err != nil { // the first token is there
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); err == nil {
		t.Fatal("second token at 0.1/s came within 100ms")
	}
}
