package residents

import (
	"context"
	"fmt"
	"testing"

	"github.com/herald-alerts/herald/test/natstest"
)

// BenchmarkFootprint reports what a stored resident costs the NATS server
// (here in-process): bytes in the bucket's stream on disk, Go heap while
// the bucket is being written (its per-subject indexes, including the
// per-block ones the server drops after two idle minutes), and Go heap of
// a server started again on the store (at rest). The index's
// own cost is geo's BenchmarkPointIndexBuild. Run with -benchtime=1x; the
// figures feed the sizing table in docs/benchmarks.md.
func BenchmarkFootprint(b *testing.B) {
	const n = 200_000
	rows := make([]Resident, n)
	for i := range rows {
		rows[i] = Resident{Phone: fmt.Sprintf("+1206%07d", 2000000+i), Lat: 47.5, Lon: -122.3}
	}
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		ns := natstest.StartIn(b, dir)
		s, err := Open(ctx, Config{JS: natstest.Connect(b, ns), Replicas: 1, Secret: testKey})
		if err != nil {
			b.Fatal(err)
		}
		before := natstest.Heap()
		if _, err := s.Import(ctx, rows); err != nil {
			b.Fatal(err)
		}
		after := natstest.Heap()
		st, err := s.js.Stream(ctx, "KV_"+Bucket)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.CachedInfo().State.Bytes)/n, "disk-B/resident")
		b.ReportMetric(float64(after-before)/n, "heap-B/resident")
		idle := natstest.RestartedHeap(b, ns, dir)
		b.ReportMetric(float64(idle)/n, "idle-heap-B/resident")
	}
}
