package geo

import (
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

const (
	// pointCellDeg is the cell size of the point grid, about 5 km: small
	// enough that most cells of a large shape are wholly inside or outside
	// it and need no per-point test.
	pointCellDeg = 0.05
	gridCols     = 360 / pointCellDeg
	gridRows     = 180 / pointCellDeg
	// cellPad widens a cell when classifying it so that rounding in the
	// point-to-cell arithmetic cannot leave a point outside its cell.
	cellPad = 1e-9
	shards  = 64
)

// PointIndex holds identified points (residents) in a grid of lon/lat cells
// and finds those inside a Shape. It is safe for concurrent use: cells and
// ids are spread over independently locked shards, and Within holds a lock
// only while copying one cell, never while calling back.
type PointIndex struct {
	seed     maphash.Seed
	n        atomic.Int64 // points
	occupied atomic.Int64 // cells
	ids      [shards]idShard
	cells    [shards]cellShard
}

type idShard struct {
	sync.Mutex
	cell map[string]int32 // id -> key of its cell
}

type cellShard struct {
	sync.RWMutex
	cells map[int32]*cell
}

// cell holds its points in parallel slices for fast scans, with each id's
// position for removal by swapping with the last.
type cell struct {
	ids []string
	pts []orb.Point
	pos map[string]int
}

// NewPointIndex returns an empty index.
func NewPointIndex() *PointIndex {
	ix := &PointIndex{seed: maphash.MakeSeed()}
	for i := range shards {
		ix.ids[i].cell = make(map[string]int32)
		ix.cells[i].cells = make(map[int32]*cell)
	}
	return ix
}

// cellCol and cellRow give the grid column and row of a valid lon and lat.
func cellCol(lon float64) int {
	return min(max(int(math.Floor((lon+180)/pointCellDeg)), 0), gridCols-1)
}

func cellRow(lat float64) int {
	return min(max(int(math.Floor((lat+90)/pointCellDeg)), 0), gridRows-1)
}

func cellKey(col, row int) int32 { return int32(row*gridCols + col) }

func (ix *PointIndex) cellShard(key int32) *cellShard {
	return &ix.cells[uint32(key)*2654435761>>26] // Fibonacci hashing: neighbours land on different shards
}

// Put inserts id at p, or moves it there. A p that is not a valid lon/lat
// (NaN, out of range) can be inside no shape, so Put then removes id.
func (ix *PointIndex) Put(id string, p orb.Point) {
	if checkPoint(p) != "" {
		ix.Delete(id)
		return
	}
	key := cellKey(cellCol(p[0]), cellRow(p[1]))
	ids := &ix.ids[maphash.String(ix.seed, id)%shards]
	ids.Lock()
	defer ids.Unlock()
	if old, ok := ids.cell[id]; ok {
		ix.remove(id, old)
	} else {
		ix.n.Add(1)
	}
	ids.cell[id] = key
	sh := ix.cellShard(key)
	sh.Lock()
	defer sh.Unlock()
	c := sh.cells[key]
	if c == nil {
		c = &cell{pos: make(map[string]int)}
		sh.cells[key] = c
		ix.occupied.Add(1)
	}
	c.pos[id] = len(c.ids)
	c.ids = append(c.ids, id)
	c.pts = append(c.pts, p)
}

// Delete removes id; it is a no-op for an unknown id.
func (ix *PointIndex) Delete(id string) {
	ids := &ix.ids[maphash.String(ix.seed, id)%shards]
	ids.Lock()
	defer ids.Unlock()
	if key, ok := ids.cell[id]; ok {
		delete(ids.cell, id)
		ix.remove(id, key)
		ix.n.Add(-1)
	}
}

// remove takes id out of cell key. The caller holds id's shard lock.
func (ix *PointIndex) remove(id string, key int32) {
	sh := ix.cellShard(key)
	sh.Lock()
	defer sh.Unlock()
	c := sh.cells[key]
	i := c.pos[id]
	last := len(c.ids) - 1
	c.ids[i], c.pts[i] = c.ids[last], c.pts[last]
	c.pos[c.ids[i]] = i
	c.ids, c.pts = c.ids[:last], c.pts[:last]
	delete(c.pos, id)
	if last == 0 {
		delete(sh.cells, key)
		ix.occupied.Add(-1)
	}
}

// Len returns the number of points.
func (ix *PointIndex) Len() int { return int(ix.n.Load()) }

// Within calls fn with the id of each point inside s (boundary included,
// exactly as s.Contains), until fn returns false. Cells wholly inside s are
// reported without testing their points, cells wholly outside are skipped.
// Each cell is read at one instant: a point moved while Within runs may be
// reported at its old place, its new one, both or neither.
func (ix *PointIndex) Within(s *Shape, fn func(id string) bool) {
	b := s.Bound()
	c0, c1 := cellCol(b.Min[0]), cellCol(b.Max[0])
	r0, r1 := cellRow(b.Min[1]), cellRow(b.Max[1])
	var v visitor
	if (c1-c0+1)*(r1-r0+1) > 4*int(ix.occupied.Load()) {
		// Few points for a large shape: look at the occupied cells only.
		state := make([]cellState, 1)
		for _, key := range ix.cellsIn(c0, c1, r0, r1) {
			s.classifyRow(int(key)/gridCols, int(key)%gridCols, state)
			if !v.visit(ix, key, state[0], s, fn) {
				return
			}
		}
		return
	}
	states := make([]cellState, c1-c0+1)
	for row := r0; row <= r1; row++ {
		s.classifyRow(row, c0, states)
		for k, st := range states {
			if !v.visit(ix, cellKey(c0+k, row), st, s, fn) {
				return
			}
		}
	}
}

// cellsIn returns the keys of the occupied cells in a range of columns and
// rows, in row-major order.
func (ix *PointIndex) cellsIn(c0, c1, r0, r1 int) []int32 {
	var keys []int32
	for i := range ix.cells {
		sh := &ix.cells[i]
		sh.RLock()
		for key := range sh.cells {
			if col, row := int(key)%gridCols, int(key)/gridCols; c0 <= col && col <= c1 && r0 <= row && row <= r1 {
				keys = append(keys, key)
			}
		}
		sh.RUnlock()
	}
	slices.Sort(keys)
	return keys
}

// visitor holds the buffers Within copies cells into, so that fn runs with
// no lock held.
type visitor struct {
	ids []string
	pts []orb.Point
}

// visit calls fn for the points of a cell in state st that are inside s,
// and reports whether fn asked for more.
func (v *visitor) visit(ix *PointIndex, key int32, st cellState, s *Shape, fn func(string) bool) bool {
	if st == cellOutside {
		return true
	}
	sh := ix.cellShard(key)
	sh.RLock()
	if c := sh.cells[key]; c != nil {
		v.ids, v.pts = append(v.ids[:0], c.ids...), append(v.pts[:0], c.pts...)
	} else {
		v.ids, v.pts = v.ids[:0], v.pts[:0]
	}
	sh.RUnlock()
	for i, id := range v.ids {
		if (st == cellInside || s.Contains(v.pts[i])) && !fn(id) {
			return false
		}
	}
	return true
}

type cellState uint8

const (
	cellOutside cellState = iota
	cellMixed             // the boundary may pass through: test each point
	cellInside
)

// cellBound returns the lon/lat box of a grid cell, padded.
func cellBound(col, row int) orb.Bound {
	return orb.Bound{
		Min: orb.Point{float64(col)*pointCellDeg - 180, float64(row)*pointCellDeg - 90},
		Max: orb.Point{float64(col+1)*pointCellDeg - 180, float64(row+1)*pointCellDeg - 90},
	}.Pad(cellPad)
}

// classifyRow sets states[k] to where cell (c0+k, row) lies against s:
// inside if wholly inside one part, outside if wholly outside every part.
func (s *Shape) classifyRow(row, c0 int, states []cellState) {
	clear(states)
	var part []cellState
	merge := func() {
		for k, st := range part {
			states[k] = max(states[k], st) // inside > mixed > outside
		}
	}
	for _, pp := range s.polys {
		part = pp.classifyRow(row, c0, len(states), part)
		merge()
	}
	for _, g := range s.regions {
		for _, pp := range g.polys {
			part = pp.classifyRow(row, c0, len(states), part)
			merge()
		}
	}
	for _, c := range s.circles {
		part = c.classifyRow(row, c0, len(states), part)
		merge()
	}
}

// classifyRow returns the states of n cells of a row starting at column c0
// against pp. Cells that an edge may pass through (by its extent within the
// row, padded) are mixed; between them, runs of cells untouched by the
// boundary are wholly inside or outside, as their first cell's centre is.
func (pp *ppoly) classifyRow(row, c0, n int, states []cellState) []cellState {
	states = append(states[:0], make([]cellState, n)...)
	rb := cellBound(c0, row)
	rb.Max[0] = cellBound(c0+n-1, row).Max[0]
	if !rb.Intersects(pp.bound) {
		return states
	}
	ylo, yhi := rb.Min[1], rb.Max[1]
	for i := range pp.index.near(pp.edges, ylo, yhi) {
		e := pp.edges[i]
		x0, x1 := e.a[0], e.b[0]
		if dy := e.b[1] - e.a[1]; dy != 0 {
			// The edge's longitudes within the row, at its clipped ends.
			t0 := min(max((ylo-e.a[1])/dy, 0), 1)
			t1 := min(max((yhi-e.a[1])/dy, 0), 1)
			x0, x1 = e.a[0]+t0*(e.b[0]-e.a[0]), e.a[0]+t1*(e.b[0]-e.a[0])
		}
		lo, hi := cellCol(min(x0, x1)-cellPad)-c0, cellCol(max(x0, x1)+cellPad)-c0
		for k := max(lo, 0); k <= min(hi, n-1); k++ {
			states[k] = cellMixed
		}
	}
	for k := 0; k < n; {
		if states[k] == cellMixed {
			k++
			continue
		}
		st := cellOutside
		if pp.locate(cellBound(c0+k, row).Center()) == inside {
			st = cellInside
		}
		for ; k < n && states[k] != cellMixed; k++ {
			states[k] = st
		}
	}
	return states
}

// classifyRow returns the states of n cells of a row starting at column c0
// against the disk: inside if its farthest point is within the radius,
// outside if its nearest is beyond it.
func (c circle) classifyRow(row, c0, n int, states []cellState) []cellState {
	states = append(states[:0], make([]cellState, n)...)
	for k := range states {
		b := cellBound(c0+k, row)
		if !b.Intersects(c.bound) {
			continue
		}
		lo, hi := boxDistKm(c.Center, b)
		switch {
		case hi <= c.RadiusKm-1e-6: // 1 mm for rounding
			states[k] = cellInside
		case lo <= c.RadiusKm+1e-6:
			states[k] = cellMixed
		}
	}
	return states
}
