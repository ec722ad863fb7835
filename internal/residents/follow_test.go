package residents

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/test/natstest"
)

func TestFollow(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	a, err := Open(ctx, Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	// b is another Herald process on the same NATS.
	b, err := Open(ctx, Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	put := func(s *Store, r Resident) Resident {
		t.Helper()
		r, err := s.Put(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	before := put(a, Resident{Phone: "+12065550100", Lat: 47.6, Lon: -122.3})
	gone := put(a, Resident{Phone: "+12065550101", Lat: 1, Lon: 2})
	byRegion := put(a, Resident{Phone: "+12065550102", Region: "us-county-53033"})

	idx := newMapIndex()
	ready := make(chan struct{})
	followCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Follow(followCtx, idx, func() { close(ready) }) }()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow never became ready")
	}
	if idx.len() != 2 {
		t.Fatalf("after the initial load the index has %d points, want 2", idx.len())
	}
	if p, _ := idx.get(before.ID); p != (orb.Point{-122.3, 47.6}) {
		t.Fatalf("point = %v, want lon/lat order", p)
	}
	if got := a.ByRegion("us-county-53033"); !slices.Equal(got, []string{byRegion.ID}) {
		t.Fatalf("ByRegion = %v", got)
	}

	// Changes after the load, by this Store and by the other.
	added := put(a, Resident{Phone: "+12065550103", Lat: 3, Lon: 4})
	fromB := put(b, Resident{Phone: "+12065550104", Lat: 5, Lon: 6})
	if err := b.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	moved := put(b, Resident{Phone: "+12065550100", Region: "us-county-53061"}) // point -> region
	put(b, Resident{Phone: "+12065550102", Lat: 7, Lon: 8})                     // region -> point
	if err := b.SetOptOut(ctx, added.ID, true); err != nil {
		t.Fatal(err)
	}

	eventually(t, "the index to follow", func() bool {
		_, hasAdded := idx.get(added.ID)
		_, hasFromB := idx.get(fromB.ID)
		_, hasGone := idx.get(gone.ID)
		_, hasMoved := idx.get(moved.ID)
		p, hasRegionNow := idx.get(byRegion.ID)
		return !hasAdded && hasFromB && !hasGone && !hasMoved && hasRegionNow && p == orb.Point{8, 7}
	})
	if got := a.ByRegion("us-county-53033"); len(got) != 0 {
		t.Errorf("ByRegion(old) = %v, want none", got)
	}
	if got := a.ByRegion("us-county-53061"); !slices.Equal(got, []string{moved.ID}) {
		t.Errorf("ByRegion(new) = %v", got)
	}

	// START puts the resident back.
	if err := a.SetOptOut(ctx, added.ID, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "START to be followed", func() bool { _, ok := idx.get(added.ID); return ok })

	if err := a.Follow(ctx, newMapIndex(), nil); err == nil {
		t.Error("a second Follow on the same Store started")
	}
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return after its context ended")
	}
}

func TestFollowEmptyBucketIsReady(t *testing.T) {
	s := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	go func() { _ = s.Follow(ctx, newMapIndex(), func() { close(ready) }) }()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow on an empty bucket never became ready")
	}
}

// entry is a bucket entry as a watch delivers it.
type entry struct {
	jetstream.KeyValueEntry
	key   string
	value []byte
	op    jetstream.KeyValueOp
}

func (e entry) Key() string                     { return e.key }
func (e entry) Value() []byte                   { return e.value }
func (e entry) Operation() jetstream.KeyValueOp { return e.op }

// TestReachable: what the index takes of a record, and the records it
// leaves out.
func TestReachable(t *testing.T) {
	s := &Store{}
	put := jetstream.KeyValuePut
	tests := []struct {
		name  string
		value string
		op    jetstream.KeyValueOp
		want  Resident
		ok    bool
	}{
		{"sealed number, a point", `{"lat":47.5,"lon":-122.3,"phone_enc":"AQID"}`, put, Resident{ID: "r1", Lat: 47.5, Lon: -122.3}, true},
		{"region only", `{"region":"us-county-53033","phone_enc":"AQID"}`, put, Resident{ID: "r1", Region: "us-county-53033"}, true},
		{"clear number from before encryption", `{"lat":1,"lon":2,"phone":"+12065550100"}`, put, Resident{ID: "r1", Lat: 1, Lon: 2}, true},
		{"opted out", `{"lat":1,"lon":2,"phone_enc":"AQID","opted_out":true}`, put, Resident{ID: "r1", Lat: 1, Lon: 2}, false},
		{"no number", `{"lat":1,"lon":2}`, put, Resident{}, false},
		{"empty number", `{"lat":1,"lon":2,"phone_enc":""}`, put, Resident{}, false},
		{"null number", `{"lat":1,"lon":2,"phone_enc":null}`, put, Resident{}, false},
		{"number not a string", `{"lat":1,"lon":2,"phone_enc":12}`, put, Resident{}, false},
		{"not JSON", `lat=1`, put, Resident{}, false},
		{"deleted", ``, jetstream.KeyValueDelete, Resident{}, false},
		{"purged", ``, jetstream.KeyValuePurge, Resident{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.reachable(context.Background(), entry{key: "r1", value: []byte(tt.value), op: tt.op})
			if ok != tt.ok || got != tt.want {
				t.Fatalf("reachable = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
