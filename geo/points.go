package geo

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// PointIndex holds points identified by string ids (residents) and finds
// those inside a Shape, exactly: it is a PointSet over handles with a
// compact table between ids and handles, about 60 bytes a point in all for
// 25-byte ids (see SizeBytes). Points are stored rounded to PointPrecision.
//
// It is safe for concurrent use. Lookups never wait for changes: they read
// the index as it was when they started and hold no lock while calling
// back, so a callback may change the index. A point moved during a lookup
// may be reported at its old place or its new one.
type PointIndex struct {
	set atomic.Pointer[PointSet] // replaced only by Bulk

	mu         sync.Mutex // serialises changes
	ids        idTable
	next       uint32   // handles below next have been used
	free       []uint32 // handles ready for reuse
	quarantine []uint32 // handles of deleted ids that a running lookup may still report

	// gate is read-locked by each lookup. A handle freed by Delete is
	// reused only after an instant at which no lookup held it: lookups that
	// start later read the set after the Delete, so never see the handle
	// at its old place, and so never resolve it to a later owner's id.
	gate sync.RWMutex
}

// NewPointIndex returns an empty index.
func NewPointIndex() *PointIndex {
	ix := &PointIndex{}
	ix.set.Store(NewPointSet())
	ix.ids.init()
	return ix
}

// Put inserts id at p, or moves it there. A p that is not a valid lon/lat
// (NaN, out of range) can be inside no shape, so Put then removes id.
func (ix *PointIndex) Put(id string, p orb.Point) {
	if checkPoint(p) != "" {
		ix.Delete(id)
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	h, ok := ix.ids.lookup(id)
	if !ok {
		h = ix.alloc()
		ix.ids.insert(id, h)
	}
	ix.set.Load().Put(h, p)
}

// Delete removes id; it is a no-op for an unknown id.
func (ix *PointIndex) Delete(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	h, ok := ix.ids.lookup(id)
	if !ok {
		return
	}
	ix.set.Load().Delete(h)
	ix.ids.remove(id, h)
	ix.quarantine = append(ix.quarantine, h)
	if len(ix.quarantine) >= 4096 {
		ix.recycle()
	}
}

// alloc returns a free handle. The caller holds mu.
func (ix *PointIndex) alloc() uint32 {
	if len(ix.free) == 0 {
		ix.recycle()
	}
	if n := len(ix.free); n > 0 {
		h := ix.free[n-1]
		ix.free = ix.free[:n-1]
		return h
	}
	if ix.next >= MaxPointIndexIDs {
		// Over 134 million ids (8 GB of index): beyond what a Herald
		// deployment holds; refuse loudly rather than corrupt the table.
		panic("geo: PointIndex is full")
	}
	ix.next++
	return ix.next - 1
}

// recycle makes quarantined handles reusable if no lookup is running, and
// then compacts the id table if it is mostly garbage (no lookup can still
// resolve the released handles). The caller holds mu.
func (ix *PointIndex) recycle() {
	if len(ix.quarantine) == 0 || !ix.gate.TryLock() {
		return
	}
	ix.gate.Unlock()
	for _, h := range ix.quarantine {
		ix.ids.release(h)
	}
	ix.free = append(ix.free, ix.quarantine...)
	ix.quarantine = ix.quarantine[:0]
	ix.ids.maybeCompact()
}

// Len returns the number of points.
func (ix *PointIndex) Len() int { return ix.set.Load().Len() }

// ErrNotEmpty is Bulk's refusal: it only fills an empty index.
var ErrNotEmpty = errors.New("geo: Bulk needs an empty PointIndex")

// Bulk fills an empty index with ids[i] at pts[i], in one pass: much
// faster than Put for each, and the points end up packed at once (no log
// to merge). An invalid point, or an id already given, is left out, as
// Put would leave it. It is how a snapshot of the index is loaded.
func (ix *PointIndex) Bulk(ids []string, pts []orb.Point) error {
	if len(ids) != len(pts) {
		return fmt.Errorf("geo: Bulk: %d ids and %d points", len(ids), len(pts))
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.next != 0 {
		return ErrNotEmpty
	}
	if len(ids) > MaxPointIndexIDs {
		return fmt.Errorf("geo: Bulk: %d ids, at most %d", len(ids), MaxPointIndexIDs)
	}
	keep := make([]orb.Point, 0, len(pts))
	for i, id := range ids {
		if checkPoint(pts[i]) != "" {
			continue
		}
		if _, dup := ix.ids.lookup(id); dup {
			continue
		}
		ix.ids.insert(id, uint32(len(keep)))
		keep = append(keep, pts[i])
	}
	ix.next = uint32(len(keep))
	ix.set.Store(NewPointSetFrom(keep))
	return nil
}

// Range calls fn with every id and its point (as stored: to 1e-7°) until
// fn returns false, in no particular order. Put and Delete wait while it
// runs; lookups do not. It is how a snapshot of the index is written.
func (ix *PointIndex) Range(fn func(id string, p orb.Point) bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	v := ix.ids.v.Load()
	for h, l := range ix.set.Load().locs() {
		if l == noLoc {
			continue
		}
		if !fn(v.name(uint32(h)), dequantize(unpackLoc(l))) {
			return
		}
	}
}

// Within calls fn with the id of each point inside s (boundary included,
// exactly as s.Contains answers for the point as stored), until fn returns
// false. The id strings share the index's memory and stay valid.
func (ix *PointIndex) Within(s *Shape, fn func(id string) bool) {
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	var v *idView
	ix.set.Load().Within(s, func(h uint32) bool {
		if v == nil {
			// Loaded after the set was read, so it resolves every handle
			// read there.
			v = ix.ids.v.Load()
		}
		return fn(v.name(h))
	})
}

// Count returns the number of points inside s, as Within would report
// them, using every core when the shape is large.
func (ix *PointIndex) Count(s *Shape) int { return ix.set.Load().Count(s) }

// SizeBytes returns the memory the index holds: the point set, the id
// table and the ids' bytes.
func (ix *PointIndex) SizeBytes() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.set.Load().SizeBytes() + ix.ids.sizeBytes() + 4*(cap(ix.free)+cap(ix.quarantine))
}
