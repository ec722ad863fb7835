package geo

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// PointSet is a spatial index of points identified by dense uint32 handles
// (say, resident numbers kept in the caller's own table): it finds the
// handles whose points are inside a Shape, exactly, as Shape.Contains would
// answer for each (boundary included). PointIndex adds string ids on top.
//
// Points are stored rounded to PointPrecision (see Quantize) in a packed
// array sorted by grid cell and sub-cell: 12 bytes a point, plus 8 bytes a
// handle for its current place. Lookups classify the cells of the shape's
// bound: cells wholly inside are taken without testing their points, cells
// wholly outside skipped, and cells the boundary crosses divided again
// before points are tested, against only the parts of the shape that cross
// them.
//
// Changes go to a small log that lookups read alongside the packed array;
// once the log holds a few percent of the points, a background goroutine
// merges it into a new packed array and swaps it in. Lookups hold a lock
// only while copying the part of the log under their shape, never while
// testing points or calling back, so neither changes nor merges stall them.
// A PointSet is safe for concurrent use.
type PointSet struct {
	mu      sync.Mutex
	base    *packed   // immutable
	frozen  *pointLog // being merged into the next base; immutable; or nil
	active  *pointLog
	loc     []uint64 // by handle: packed current point, or noLoc
	live    int
	seq     uint64
	merging bool
	merged  *sync.Cond // broadcast when a merge ends; on mu

	mergeStarted func() // if set, called as a merge starts: tests hold merges with it
}

// noLoc marks a handle without a point. Real packed points never equal it:
// it would be longitude -214.7°.
const noLoc = uint64(1<<63) >> 32 << 32

func packLoc(x, y int32) uint64       { return uint64(uint32(x))<<32 | uint64(uint32(y)) }
func unpackLoc(l uint64) (x, y int32) { return int32(uint32(l >> 32)), int32(uint32(l)) }

// packed holds points sorted by pointKey, in parallel arrays.
type packed struct {
	x, y  []int32  // quantized lon, lat
	h     []uint32 // handles
	cells []uint32 // occupied cell keys, ascending
	start []uint32 // the points of cells[i] are [start[i], start[i+1])
}

func (b *packed) len() int { return len(b.h) }

// cellIndex returns the index in b.cells of the first occupied cell at or
// after key.
func (b *packed) cellIndex(key uint32) int {
	i, _ := slices.BinarySearch(b.cells, key)
	return i
}

// NewPointSet returns an empty point set.
func NewPointSet() *PointSet {
	ps := &PointSet{base: &packed{start: []uint32{0}}, active: newPointLog()}
	ps.merged = sync.NewCond(&ps.mu)
	return ps
}

// NewPointSetFrom returns a point set holding pts[i] under handle i, built
// in one pass (much faster than Put for each). Invalid points are left out,
// as Put would.
func NewPointSetFrom(pts []orb.Point) *PointSet {
	ps := NewPointSet()
	ps.loc = make([]uint64, len(pts))
	xs, ys := make([]int32, 0, len(pts)), make([]int32, 0, len(pts))
	hs := make([]uint32, 0, len(pts))
	for i, p := range pts {
		if checkPoint(p) != "" {
			ps.loc[i] = noLoc
			continue
		}
		x, y := quantize(p)
		ps.loc[i] = packLoc(x, y)
		xs, ys, hs = append(xs, x), append(ys, y), append(hs, uint32(i))
	}
	ps.live = len(hs)
	ps.base = buildPacked(xs, ys, hs)
	return ps
}

// buildPacked sorts points by key into a new packed array. It reuses the
// given slices' storage for the unsorted input only.
func buildPacked(xs, ys []int32, hs []uint32) *packed {
	n := len(hs)
	keys := make([]uint64, n)
	for i := range n {
		keys[i] = pointKey(xs[i], ys[i])
	}
	order := radixOrder(keys)
	b := &packed{x: make([]int32, n), y: make([]int32, n), h: make([]uint32, n)}
	for i, j := range order {
		b.x[i], b.y[i], b.h[i] = xs[j], ys[j], hs[j]
	}
	prev := uint32(0)
	for i, j := range order {
		if c := uint32(keys[j] >> 8); i == 0 || c != prev {
			b.cells = append(b.cells, c)
			b.start = append(b.start, uint32(i))
			prev = c
		}
	}
	b.start = append(b.start, uint32(n))
	b.cells, b.start = slices.Clip(b.cells), slices.Clip(b.start)
	return b
}

// radixOrder returns the permutation sorting keys (of at most 40 bits),
// stably, by least-significant-digit radix sort on 11-bit digits.
func radixOrder(keys []uint64) []uint32 {
	n := len(keys)
	order, tmp := make([]uint32, n), make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	const bits = 11
	var count [1 << bits]int
	for shift := 0; shift < 40; shift += bits {
		clear(count[:])
		for _, k := range keys {
			count[k>>shift&(1<<bits-1)]++
		}
		sum := 0
		for d, c := range count {
			count[d], sum = sum, sum+c
		}
		for _, i := range order {
			d := keys[i] >> shift & (1<<bits - 1)
			tmp[count[d]] = i
			count[d]++
		}
		order, tmp = tmp, order
	}
	return order
}

// Put sets handle h's point to p, adding h or moving it. A p that is not a
// valid lon/lat (NaN, out of range) can be inside no shape, so Put then
// removes h. Handles should be dense: the set keeps 8 bytes for every
// handle up to the largest it has seen.
func (ps *PointSet) Put(h uint32, p orb.Point) {
	if checkPoint(p) != "" {
		ps.Delete(h)
		return
	}
	x, y := quantize(p)
	l := packLoc(x, y)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for int(h) >= len(ps.loc) {
		ps.loc = append(ps.loc, noLoc)
	}
	old := ps.loc[h]
	if old == l {
		return
	}
	if old != noLoc {
		ox, oy := unpackLoc(old)
		ps.active.add(logRec{x: ox, y: oy, h: h, tomb: true, seq: ps.next()})
	} else {
		ps.live++
	}
	ps.active.add(logRec{x: x, y: y, h: h, seq: ps.next()})
	ps.loc[h] = l
	ps.maybeMerge()
}

// Delete removes handle h; it is a no-op for a handle without a point.
func (ps *PointSet) Delete(h uint32) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if int(h) >= len(ps.loc) || ps.loc[h] == noLoc {
		return
	}
	ox, oy := unpackLoc(ps.loc[h])
	ps.active.add(logRec{x: ox, y: oy, h: h, tomb: true, seq: ps.next()})
	ps.loc[h] = noLoc
	ps.live--
	ps.maybeMerge()
}

func (ps *PointSet) next() uint64 { ps.seq++; return ps.seq }

// locs returns the packed point of every handle (noLoc for none). The
// caller keeps Put and Delete from running while it reads them
// (PointIndex.Range holds the index's lock).
func (ps *PointSet) locs() []uint64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.loc
}

// Len returns the number of points.
func (ps *PointSet) Len() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.live
}

// mergeThreshold is the log size that starts a merge: a thirty-second of
// the points, so that merging (linear in the points) costs a constant per
// change, and at least 4096.
func mergeThreshold(n int) int { return max(4096, n/32) }

// maybeMerge starts a background merge if the log is large enough and none
// is running. The caller holds mu.
func (ps *PointSet) maybeMerge() {
	if ps.merging || ps.active.n < mergeThreshold(ps.base.len()) {
		return
	}
	ps.merging = true
	ps.frozen, ps.active = ps.active, newPointLog()
	go ps.merge(ps.base, ps.frozen)
}

// merge builds the packed array of base with log applied and swaps it in.
func (ps *PointSet) merge(base *packed, log *pointLog) {
	if ps.mergeStarted != nil {
		ps.mergeStarted()
	}
	next := mergeLog(base, log)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.base, ps.frozen, ps.merging = next, nil, false
	ps.merged.Broadcast()
	ps.maybeMerge()
}

// settle waits until no merge is running and the log is empty, merging it
// if need be. For tests and benchmarks.
func (ps *PointSet) settle() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for ps.merging || ps.active.n > 0 {
		if !ps.merging {
			ps.merging = true
			ps.frozen, ps.active = ps.active, newPointLog()
			go ps.merge(ps.base, ps.frozen)
		}
		ps.merged.Wait()
	}
}

// SizeBytes returns the memory the point set holds: its arrays (by
// capacity) and log. A merge in progress briefly holds a second packed
// array, not counted.
func (ps *PointSet) SizeBytes() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	b := ps.base
	n := 4*(cap(b.x)+cap(b.y)+cap(b.h)+cap(b.cells)+cap(b.start)) + 8*cap(ps.loc) + ps.active.sizeBytes()
	if ps.frozen != nil {
		n += ps.frozen.sizeBytes()
	}
	return n
}

// Within calls fn with each handle whose point is inside s (boundary
// included, exactly as s.Contains answers for the rounded point), until fn
// returns false. It reads the set at one instant: a point moved meanwhile is
// reported at its place then. fn may call the set's methods.
func (ps *PointSet) Within(s *Shape, fn func(h uint32) bool) {
	q := ps.query(s)
	if q == nil {
		return
	}
	q.scanRows(q.r0, q.r1, fn, nil)
	if !q.stopped {
		for _, r := range q.ins {
			if q.contains(r.x, r.y) && !fn(r.h) {
				return
			}
		}
	}
}

// Count returns the number of points inside s, as Within would report
// them. It uses every core (GOMAXPROCS) when the shape covers many cells.
func (ps *PointSet) Count(s *Shape) int {
	q := ps.query(s)
	if q == nil {
		return 0
	}
	n := 0
	for _, r := range q.ins {
		if q.contains(r.x, r.y) {
			n++
		}
	}
	workers := min(runtime.GOMAXPROCS(0), (q.r1-q.r0+1)/8, 16)
	if workers <= 1 || q.grid == nil || len(q.grid.state) < 4096 {
		var c int
		q.scanRows(q.r0, q.r1, nil, &c)
		return n + c
	}
	// Rows in interleaved bands, so that each worker gets a share of the
	// shape's wide and narrow parts.
	counts := make([]int, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	const band = 4
	for w := range workers {
		wg.Go(func() {
			qw := *q
			qw.buf = nil
			c := 0 // not counts[w], which shares a cache line with the others
			for {
				r := q.r0 + band*int(next.Add(1)-1)
				if r > q.r1 {
					counts[w] = c
					return
				}
				qw.scanRows(r, min(r+band-1, q.r1), nil, &c)
			}
		})
	}
	wg.Wait()
	for _, c := range counts {
		n += c
	}
	return n
}

// query is one lookup: the set as it was when the lookup started, and the
// shape classified over its bound.
type query struct {
	base           *packed
	sp             shapeParts
	grid           *cellGrid // nil for windows too large to classify densely
	c0, c1, r0, r1 int
	tombs          []logRec // in the window, sorted by key (kill base entries)
	ins            []logRec // live inserts in the window
	stopped        bool
	buf            []int32
}

func (ps *PointSet) query(s *Shape) *query {
	b := s.Bound()
	q := &query{c0: cellCol(b.Min[0]), c1: cellCol(b.Max[0]), r0: cellRow(b.Min[1]), r1: cellRow(b.Max[1]), sp: s.parts()}
	wx0, wy0 := quantize(b.Min)
	wx1, wy1 := quantize(b.Max)
	win := [4]int32{wx0 - 1, wy0 - 1, wx1 + 1, wy1 + 1}
	var recs []logRec
	ps.mu.Lock()
	q.base = ps.base
	frozen := ps.frozen
	recs = ps.active.collect(win, recs)
	ps.mu.Unlock()
	if frozen != nil {
		recs = frozen.collect(win, recs)
	}
	if q.base.len() == 0 && len(recs) == 0 {
		return nil
	}
	q.tombs, q.ins = resolveLog(recs)
	q.grid = classifyCells(q.sp, q.c0, q.c1, q.r0, q.r1)
	return q
}

// resolveLog splits log records into tombstones (sorted by key) and the
// inserts no later tombstone kills (in no particular order).
func resolveLog(recs []logRec) (tombs, ins []logRec) {
	type at struct {
		x, y int32
		h    uint32
	}
	var killed map[at]uint64 // latest tombstone's seq
	for _, r := range recs {
		if r.tomb {
			if killed == nil {
				killed = make(map[at]uint64)
			}
			tombs = append(tombs, r)
			k := at{r.x, r.y, r.h}
			killed[k] = max(killed[k], r.seq)
		}
	}
	if killed == nil {
		return nil, recs
	}
	for _, r := range recs {
		if !r.tomb && killed[at{r.x, r.y, r.h}] < r.seq {
			ins = append(ins, r)
		}
	}
	return sortRecs(tombs), ins
}

// sortRecs sorts log records by point key.
func sortRecs(recs []logRec) []logRec {
	keys := make([]uint64, len(recs))
	for i, r := range recs {
		keys[i] = pointKey(r.x, r.y)
	}
	out := make([]logRec, len(recs))
	for i, j := range radixOrder(keys) {
		out[i] = recs[j]
	}
	return out
}

// contains reports whether the shape contains quantized point (x, y), by
// its cell's state, testing only the parts that cross a mixed cell.
func (q *query) contains(x, y int32) bool {
	col, row, _, _ := gridPos(x, y)
	if col < q.c0 || col > q.c1 || row < q.r0 || row > q.r1 {
		return false
	}
	var parts []int32
	if q.grid == nil {
		var st cellState
		st, parts = q.sp.classifyCell(col, row, nil)
		if st != cellMixed {
			return st == cellInside
		}
	} else {
		cell := (row-q.r0)*q.grid.nc + col - q.c0
		switch q.grid.state[cell] {
		case cellOutside:
			return false
		case cellInside:
			return true
		}
		cursor, _ := slices.BinarySearch(q.grid.mixed, uint64(cell)<<32)
		parts = q.grid.mixedParts(col, row, &cursor, nil)
	}
	p := dequantize(x, y)
	for _, part := range parts {
		if q.sp.contains(part, p) {
			return true
		}
	}
	return false
}

// killedBy reports whether base entry i is one of tombs.
func (b *packed) killedBy(i int, tombs []logRec) bool {
	for _, t := range tombs {
		if t.h == b.h[i] && t.x == b.x[i] && t.y == b.y[i] {
			return true
		}
	}
	return false
}

// leafPoints is how many points a mixed box may hold before it is divided
// rather than its points tested one by one.
const leafPoints = 24

// scanRows reports (fn != nil) or counts the base entries inside the shape
// in rows [r0, r1]. It sets q.stopped if fn asks to stop.
func (q *query) scanRows(r0, r1 int, fn func(uint32) bool, count *int) {
	b := q.base
	cursor, tomb := 0, 0 // into q.grid.mixed and q.tombs
	if q.grid != nil {
		first := uint64((r0-q.r0)*q.grid.nc) << 32
		cursor, _ = slices.BinarySearch(q.grid.mixed, first)
	}
	firstKey := uint64(cellKey(q.c0, r0)) << 8
	tomb = sortSearch(len(q.tombs), func(i int) bool { return pointKey(q.tombs[i].x, q.tombs[i].y) >= firstKey })
	for row := r0; row <= r1; row++ {
		i := b.cellIndex(cellKey(q.c0, row))
		end := cellKey(q.c1, row)
		for ; i < len(b.cells) && b.cells[i] <= end; i++ {
			key := b.cells[i]
			col := int(key) % gridCols
			var st cellState
			var parts []int32
			if q.grid != nil {
				st = q.grid.state[(row-q.r0)*q.grid.nc+col-q.c0]
				if st == cellMixed {
					parts = q.grid.mixedParts(col, row, &cursor, q.buf)
				}
			} else {
				st, parts = q.sp.classifyCell(col, row, q.buf)
			}
			q.buf = parts
			if st == cellOutside {
				continue
			}
			// The tombstones of this cell.
			for tomb < len(q.tombs) && uint32(pointKey(q.tombs[tomb].x, q.tombs[tomb].y)>>8) < key {
				tomb++
			}
			t1 := tomb
			for t1 < len(q.tombs) && uint32(pointKey(q.tombs[t1].x, q.tombs[t1].y)>>8) == key {
				t1++
			}
			lo, hi := int(b.start[i]), int(b.start[i+1])
			if st == cellInside {
				q.take(lo, hi, nil, q.tombs[tomb:t1], fn, count)
			} else {
				q.mixedBox(col, row, 0, 0, subCells, lo, hi, parts, q.tombs[tomb:t1], fn, count)
			}
			if q.stopped {
				return
			}
		}
	}
}

// mixedBox handles entries [lo, hi) of cell (col, row), those in the
// sub-cell square of side size at (sx, sy): it divides the square in four
// while it holds many points and the boundary crosses it, then tests the
// points against the parts.
func (q *query) mixedBox(col, row, sx, sy, size, lo, hi int, parts []int32, tombs []logRec, fn func(uint32) bool, count *int) {
	if lo >= hi || q.stopped {
		return
	}
	if size == 1 || hi-lo <= leafPoints {
		q.take(lo, hi, parts, tombs, fn, count)
		return
	}
	half := size / 2
	b := q.base
	// Quadrants in Morton order: (0,0) (1,0) (0,1) (1,1).
	quads := [4][2]int{{sx, sy}, {sx + half, sy}, {sx, sy + half}, {sx + half, sy + half}}
	var sub [4]int32
	from := lo
	for k, quad := range quads {
		to := hi
		if k < 3 {
			// The first entry of the next quadrant.
			nq := quads[k+1]
			m := morton(nq[0], nq[1])
			to = from + sortSearch(hi-from, func(j int) bool {
				_, _, ex, ey := gridPos(b.x[from+j], b.y[from+j])
				return morton(ex, ey) >= m
			})
		}
		if from < to {
			box := subBound(col, row, quad[0], quad[1], quad[0]+half, quad[1]+half)
			keep := sub[:0]
			st := cellOutside
			for _, p := range parts {
				switch q.sp.classifyBox(p, box) {
				case cellInside:
					st = cellInside
				case cellMixed:
					keep = append(keep, p)
				}
				if st == cellInside {
					break
				}
			}
			switch {
			case st == cellInside:
				q.take(from, to, nil, tombs, fn, count)
			case len(keep) > 0:
				q.mixedBox(col, row, quad[0], quad[1], half, from, to, slices.Clone(keep), tombs, fn, count)
			}
		}
		if q.stopped {
			return
		}
		from = to
	}
}

// sortSearch is sort.Search without the import.
func sortSearch(n int, f func(int) bool) int {
	i, j := 0, n
	for i < j {
		h := int(uint(i+j) >> 1)
		if !f(h) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i
}

// take reports or counts entries [lo, hi) that are live and, if parts is
// not nil, inside one of parts.
func (q *query) take(lo, hi int, parts []int32, tombs []logRec, fn func(uint32) bool, count *int) {
	b := q.base
	if parts == nil && len(tombs) == 0 {
		if fn == nil {
			*count += hi - lo
			return
		}
		for _, h := range b.h[lo:hi] {
			if !fn(h) {
				q.stopped = true
				return
			}
		}
		return
	}
	for i := lo; i < hi; i++ {
		if len(tombs) > 0 && b.killedBy(i, tombs) {
			continue
		}
		if parts != nil {
			p := dequantize(b.x[i], b.y[i])
			in := false
			for _, part := range parts {
				if q.sp.contains(part, p) {
					in = true
					break
				}
			}
			if !in {
				continue
			}
		}
		if fn == nil {
			*count++
		} else if !fn(b.h[i]) {
			q.stopped = true
			return
		}
	}
}
