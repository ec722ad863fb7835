package deliveries

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/test/natstest"
)

// BenchmarkFootprint reports what a delivery's record costs the NATS
// server (here in-process) until its retention ends: bytes in the
// bucket's stream on disk, and Go heap while records are being written
// (per-subject indexes, including the per-block ones the server drops
// after two idle minutes), and Go heap of a server started again on the
// store (at rest). Run with -benchtime=1x; the figures feed the
// sizing table in docs/benchmarks.md.
func BenchmarkFootprint(b *testing.B) {
	const n = 200_000
	ctx := context.Background()
	const alert = "a2b3c4d5e6f7g2h3i4j5k6l7m"
	for b.Loop() {
		dir := b.TempDir()
		ns := natstest.StartIn(b, dir)
		s, err := Open(ctx, Config{JS: natstest.Connect(b, ns), Replicas: 1, Retention: 168 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		before := natstest.Heap()
		for i := range n {
			d := job(alert, channels.SMS, fmt.Sprintf("r%025d", i))
			r := Record{State: Sent, Outcome: Sent, ProviderID: fmt.Sprintf("SM%032x", i), Attempts: 1, Expires: time.Now().Add(24 * time.Hour)}
			if err := s.Put(ctx, d, r); err != nil {
				b.Fatal(err)
			}
		}
		after := natstest.Heap()
		st, err := s.js.Stream(ctx, "KV_"+Bucket)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.CachedInfo().State.Bytes)/n, "disk-B/delivery")
		b.ReportMetric(float64(after-before)/n, "heap-B/delivery")
		idle := natstest.RestartedHeap(b, ns, dir)
		b.ReportMetric(float64(idle)/n, "idle-heap-B/delivery")
	}
}
