package watchdog

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-alerts/herald/test/natstest"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work"}}); err != nil {
		t.Fatal(err)
	}
	create := func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, "WORK", jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy})
		return err
	}
	if err := create(ctx); err != nil {
		t.Fatal(err)
	}
	var restarts atomic.Int32
	w := New(Config{
		JS: js, Streams: []string{"WORK", "GONE"}, Logger: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry(),
		StallAfter: time.Nanosecond,
		Consumers: []Consumer{{Stream: "WORK", Name: "worker", Restart: func(ctx context.Context) error {
			restarts.Add(1)
			return create(ctx)
		}}},
	})

	w.Check(ctx)
	if err := w.Err(); err == nil || !strings.Contains(err.Error(), "stream GONE is missing") {
		t.Fatalf("Err = %v, want the missing stream named", err)
	}
	if restarts.Load() != 0 {
		t.Fatal("a healthy, idle consumer was restarted")
	}

	if err := js.DeleteConsumer(ctx, "WORK", "worker"); err != nil {
		t.Fatal(err)
	}
	w.Check(ctx)
	if restarts.Load() != 1 {
		t.Fatalf("%d restarts after the consumer was deleted, want 1", restarts.Load())
	}
	if _, err := js.Consumer(ctx, "WORK", "worker"); err != nil {
		t.Fatalf("consumer not recreated: %v", err)
	}

	// Work waiting, nobody pulling: a stall, seen on the second look.
	if _, err := js.Publish(ctx, "work", []byte("job")); err != nil {
		t.Fatal(err)
	}
	w.Check(ctx)
	time.Sleep(time.Millisecond)
	w.Check(ctx)
	if restarts.Load() != 2 {
		t.Fatalf("%d restarts with work waiting and not moving, want 2", restarts.Load())
	}
}
