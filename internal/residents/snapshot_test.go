package residents

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/test/natstest"
)

// syncBuffer is a log sink the test reads while Follow writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// follow runs Follow on a fresh geo index until the returned stop is
// called (which waits for Follow to return, snapshot written).
func follow(t *testing.T, ns *server.Server, snapshot string, log *syncBuffer) (*Store, *geo.PointIndex, func()) {
	t.Helper()
	s, err := Open(context.Background(), Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: testKey, Snapshot: snapshot,
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	idx := geo.NewPointIndex()
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Follow(ctx, idx, func() { close(ready) }) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("Follow never became ready")
	}
	return s, idx, func() { cancel(); <-done }
}

func points(idx *geo.PointIndex) map[string]orb.Point {
	out := map[string]orb.Point{}
	idx.Range(func(id string, p orb.Point) bool { out[id] = p; return true })
	return out
}

// TestSnapshot: a stopped Follow leaves a snapshot; the next one loads it,
// catches up with what changed meanwhile, and ends with the same index as
// a full load. A damaged snapshot, or one of another bucket, is ignored.
func TestSnapshot(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "residents.snapshot")
	var log1 syncBuffer
	s, _, stop := follow(t, ns, file, &log1)
	var rs []Resident
	for i := range 300 {
		r, err := s.Put(ctx, Resident{Phone: fmt.Sprintf("+1206555%04d", i), Lat: 47.5 + float64(i)*0.001, Lon: -122.3})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	regional, _ := s.Put(ctx, Resident{Phone: "+12065559000", Region: "us-county-53033"})
	time.Sleep(200 * time.Millisecond) // Follow applies them
	stop()
	if _, err := os.Stat(file); err != nil || !strings.Contains(log1.String(), "index snapshot written") {
		t.Fatalf("no snapshot after Follow stopped: %v\n%s", err, log1.String())
	}

	// Changes while no Herald runs: a delete, a move, a new resident, an opt-out.
	if err := s.Delete(ctx, rs[0].ID); err != nil {
		t.Fatal(err)
	}
	moved := rs[1]
	moved.Lat, moved.Lon = 40, -100
	if _, err := s.Put(ctx, moved); err != nil {
		t.Fatal(err)
	}
	added, _ := s.Put(ctx, Resident{Phone: "+12065559001", Lat: 45, Lon: -120})
	if err := s.SetOptOut(ctx, rs[2].ID, true); err != nil {
		t.Fatal(err)
	}

	var log2 syncBuffer
	s2, idx2, stop2 := follow(t, ns, file, &log2)
	if !strings.Contains(log2.String(), "index loaded from snapshot") {
		t.Fatalf("the snapshot was not used:\n%s", log2.String())
	}
	// The truth: a full load without a snapshot.
	var log3 syncBuffer
	s3, idx3, stop3 := follow(t, ns, "", &log3)
	got, want := points(idx2), points(idx3)
	if len(got) != len(want) || len(want) != 299 {
		t.Fatalf("index from snapshot has %d points, full load %d (want 299)", len(got), len(want))
	}
	for id, p := range want {
		if got[id] != p {
			t.Fatalf("%s at %v from the snapshot, %v from a full load", id, got[id], p)
		}
	}
	for _, id := range []string{rs[0].ID, rs[2].ID} {
		if _, ok := got[id]; ok {
			t.Errorf("%s is in the index: deleted or opted out after the snapshot", id)
		}
	}
	if got[moved.ID] != geo.Quantize(orb.Point{-100, 40}) || got[added.ID] != geo.Quantize(orb.Point{-120, 45}) {
		t.Errorf("changes after the snapshot missing: moved %v, added %v", got[moved.ID], got[added.ID])
	}
	if r := s2.ByRegion("us-county-53033"); !slices.Equal(r, []string{regional.ID}) || !slices.Equal(r, s3.ByRegion("us-county-53033")) {
		t.Errorf("region-only residents from the snapshot: %v", r)
	}
	stop3()
	stop2()

	// A damaged snapshot is not used; the full load still happens.
	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var log4 syncBuffer
	_, idx4, stop4 := follow(t, ns, file, &log4)
	if !strings.Contains(log4.String(), "snapshot not used") || !strings.Contains(log4.String(), "checksum") || idx4.Len() != 299 {
		t.Fatalf("damaged snapshot: %d points\n%s", idx4.Len(), log4.String())
	}
	stop4()

	// A snapshot of another bucket (recreated since) is not used.
	other := natstest.Start(t)
	var log5 syncBuffer
	_, idx5, stop5 := follow(t, other, file, &log5)
	if !strings.Contains(log5.String(), "created anew") || idx5.Len() != 0 {
		t.Fatalf("snapshot of another bucket: %d points\n%s", idx5.Len(), log5.String())
	}
	stop5()
}
