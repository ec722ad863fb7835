package residents

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/test/natstest"
)

var testKey = bytes.Repeat([]byte("k"), MinKeyLen)

// openStore opens a Store on a fresh server.
func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{JS: natstest.JetStream(t), Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mapIndex is the smallest Index: a map under a lock.
type mapIndex struct {
	mu     sync.Mutex
	points map[string]orb.Point
}

func newMapIndex() *mapIndex { return &mapIndex{points: map[string]orb.Point{}} }

func (m *mapIndex) Put(id string, p orb.Point) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.points[id] = p
}

func (m *mapIndex) Delete(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.points, id)
}

func (m *mapIndex) get(id string) (orb.Point, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.points[id]
	return p, ok
}

func (m *mapIndex) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.points)
}

// eventually fails the test unless cond holds within a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
