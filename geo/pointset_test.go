package geo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// snap rounds every vertex of p to the index's precision, so that points
// can be placed exactly on its vertices and edges.
func snap(p orb.Polygon) orb.Polygon {
	out := make(orb.Polygon, len(p))
	for i, ring := range p {
		out[i] = make(orb.Ring, len(ring))
		for k, v := range ring {
			out[i][k] = Quantize(v)
		}
	}
	return out
}

// boundaryPoints returns points exactly on p's vertices and, where the
// index's grid allows, on its edges.
func boundaryPoints(rng *rand.Rand, p orb.Polygon) []orb.Point {
	var out []orb.Point
	for _, ring := range p {
		for i := 1; i < len(ring); i++ {
			a, b := ring[i-1], ring[i]
			out = append(out, a)
			// A grid point on the edge: a + k·(b-a)/g for g dividing the
			// integer difference.
			ax, ay := quantize(a)
			bx, by := quantize(b)
			dx, dy := int64(bx)-int64(ax), int64(by)-int64(ay)
			g := gcd(abs64(dx), abs64(dy))
			if g > 1 {
				k := 1 + rng.Int64N(g-1)
				out = append(out, dequantize(int32(int64(ax)+dx/g*k), int32(int64(ay)+dy/g*k)))
			}
		}
	}
	return out
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func abs64(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// axisPolygon returns a random rectilinear-ish polygon with vertices on the
// grid, whose edges hold many grid points: a staircase around c.
func axisPolygon(rng *rand.Rand, c orb.Point) orb.Polygon {
	n := 3 + rng.IntN(5)
	w := 0.2 + rng.Float64()*0.5
	ring := orb.Ring{}
	for i := range n {
		x := c[0] - w + 2*w*float64(i)/float64(n)
		y := c[1] + 0.1 + rng.Float64()*0.4
		ring = append(ring, Quantize(orb.Point{x, y}), Quantize(orb.Point{x + 2*w/float64(n), y}))
	}
	ring = append(ring, Quantize(orb.Point{c[0] + w, c[1] - 0.5}), Quantize(orb.Point{c[0] - w, c[1] - 0.5}))
	return orb.Polygon{append(ring, ring[0])}
}

// randomPoints returns n random points around c, some on a coarse grid so
// that they fall on cell lines and axis-parallel edges, and some in a dense
// clump so that cells are divided.
func randomPoints(rng *rand.Rand, c orb.Point, n int) []orb.Point {
	pts := make([]orb.Point, 0, n)
	for i := range n {
		p := orb.Point{c[0] + rng.Float64()*3 - 1.5, c[1] + rng.Float64()*3 - 1.5}
		switch i % 5 {
		case 0:
			p = orb.Point{math.Round(p[0]/0.01) * 0.01, math.Round(p[1]/0.01) * 0.01}
		case 1:
			p = orb.Point{c[0] + 0.3 + rng.Float64()*0.02, c[1] + 0.2 + rng.Float64()*0.02}
		}
		pts = append(pts, Quantize(p))
	}
	return pts
}

// randomTestShape returns a random area around c: concave polygons, with
// holes, with grid vertices, circles and, from reg, geocoded squares.
func randomTestShape(rng *rand.Rand, c orb.Point) Area {
	var a Area
	for range rng.IntN(3) {
		a.Polygons = append(a.Polygons, snap(randomPolygon(rng, orb.Point{c[0] + rng.Float64() - 0.5, c[1] + rng.Float64() - 0.5})))
	}
	if rng.IntN(2) == 0 {
		a.Polygons = append(a.Polygons, axisPolygon(rng, c))
	}
	for range rng.IntN(2) {
		a.Circles = append(a.Circles, Circle{orb.Point{c[0] + rng.Float64() - 0.5, c[1] + rng.Float64() - 0.5}, 1 + rng.Float64()*60})
	}
	if len(a.Polygons)+len(a.Circles) == 0 {
		a.Polygons = append(a.Polygons, snap(randomPolygon(rng, c)))
	}
	return a
}

// withinHandles collects PointSet.Within's handles, sorted.
func withinHandles(ps *PointSet, s *Shape) []uint32 {
	var got []uint32
	ps.Within(s, func(h uint32) bool { got = append(got, h); return true })
	slices.Sort(got)
	return got
}

func TestPointSetMatchesBruteForce(t *testing.T) {
	r := squares(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 12 {
		c := orb.Point{rng.Float64()*300 - 150, rng.Float64()*140 - 70}
		if round == 0 {
			c = orb.Point{1.5, 1.5} // over the squares, for geocoded parts
		}
		a := randomTestShape(rng, c)
		if round%3 == 0 {
			a.Geocodes = nil
		}
		s, err := r.Compile(a)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		pts := randomPoints(rng, c, 30_000)
		for _, p := range a.Polygons {
			pts = append(pts, boundaryPoints(rng, p)...)
		}
		ps := NewPointSetFrom(pts)
		// The same points again, through Put, moved and deleted, with the
		// log partly merged.
		live := NewPointSet()
		want := make(map[uint32]orb.Point)
		for i, p := range pts {
			live.Put(uint32(i), orb.Point{p[0] + 0.5, p[1]}) // first somewhere else
			want[uint32(i)] = p
		}
		live.settle()
		for i, p := range pts {
			switch {
			case i%7 == 0:
				live.Delete(uint32(i))
				delete(want, uint32(i))
			default:
				live.Put(uint32(i), p)
			}
		}
		var brute []uint32
		var onEdge int
		for i, p := range pts {
			if !s.Contains(p) {
				continue
			}
			brute = append(brute, uint32(i))
			for _, pp := range s.polys {
				if pp.locate(p) == onBoundary {
					onEdge++
					break
				}
			}
		}
		if got := withinHandles(ps, s); !slices.Equal(got, brute) {
			t.Fatalf("round %d: Within found %d points, brute force %d", round, len(got), len(brute))
		}
		if n := ps.Count(s); n != len(brute) {
			t.Fatalf("round %d: Count = %d, brute force %d", round, n, len(brute))
		}
		var bruteLive []uint32
		for h, p := range want {
			if s.Contains(p) {
				bruteLive = append(bruteLive, h)
			}
		}
		slices.Sort(bruteLive)
		if got := withinHandles(live, s); !slices.Equal(got, bruteLive) {
			t.Fatalf("round %d (with changes): Within found %d points, brute force %d", round, len(got), len(bruteLive))
		}
		if n := live.Count(s); n != len(bruteLive) {
			t.Fatalf("round %d (with changes): Count = %d, brute force %d", round, n, len(bruteLive))
		}
		live.settle()
		if got := withinHandles(live, s); !slices.Equal(got, bruteLive) {
			t.Fatalf("round %d (merged): Within found %d points, brute force %d", round, len(got), len(bruteLive))
		}
		if live.Len() != len(want) {
			t.Fatalf("Len() = %d, want %d", live.Len(), len(want))
		}
		if round == 1 && onEdge == 0 {
			t.Error("no test point on a polygon's boundary")
		}
	}
}

// TestBoundaryRule documents the rule at the boundary against orb's: points
// on an edge or vertex are inside for Herald, including the edges of holes,
// which orb's planar.PolygonContains counts as outside. Elsewhere the two
// agree.
func TestBoundaryRule(t *testing.T) {
	r := squares(t)
	p := orb.Polygon{rect(0, 0, 4, 4)[0], rect(1, 1, 2, 2)[0]}
	s := mustCompile(t, r, Area{Polygons: []orb.Polygon{p}})
	tests := []struct {
		p          orb.Point
		herald, or bool
	}{
		{orb.Point{0, 2}, true, true},       // outer edge
		{orb.Point{4, 4}, true, true},       // outer vertex
		{orb.Point{1, 1.5}, true, false},    // hole edge
		{orb.Point{2, 2}, true, false},      // hole vertex
		{orb.Point{1.5, 1.5}, false, false}, // in the hole
		{orb.Point{3, 3}, true, true},
		{orb.Point{5, 3}, false, false},
	}
	ps := NewPointSet()
	for i, tt := range tests {
		ps.Put(uint32(i), tt.p)
	}
	got := withinHandles(ps, s)
	for i, tt := range tests {
		if in := slices.Contains(got, uint32(i)); in != tt.herald {
			t.Errorf("%v: Within says %v, want %v", tt.p, in, tt.herald)
		}
		if in := planar.PolygonContains(p, tt.p); in != tt.or {
			t.Errorf("%v: planar.PolygonContains says %v, documented %v", tt.p, in, tt.or)
		}
	}
}

func TestPointIndexIDs(t *testing.T) {
	r := squares(t)
	inside := mustCompile(t, r, Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}})
	ix := NewPointIndex()
	rng := rand.New(rand.NewPCG(21, 22))
	want := make(map[string]bool)
	long := string(make([]byte, chunkSize)) // gets a chunk of its own
	// Many rounds of adds, moves and deletes, so that handles are reused
	// and the id table compacted.
	for round := range 6 {
		for i := range 20_000 {
			id := fmt.Sprintf("r%024d", rng.IntN(40_000))
			if i == 0 {
				id = long
			}
			switch rng.IntN(4) {
			case 0:
				ix.Delete(id)
				delete(want, id)
			case 1:
				ix.Put(id, orb.Point{1.5, 0.5}) // outside
				delete(want, id)
			default:
				ix.Put(id, orb.Point{rng.Float64(), rng.Float64()})
				want[id] = true
			}
		}
		var got []string
		ix.Within(inside, func(id string) bool { got = append(got, id); return true })
		slices.Sort(got)
		var w []string
		for id := range want {
			w = append(w, id)
		}
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("round %d: Within found %d ids, want %d", round, len(got), len(w))
		}
		if n := ix.Count(inside); n != len(w) {
			t.Fatalf("round %d: Count = %d, want %d", round, n, len(w))
		}
	}
	if ix.ids.garbage == 0 && ix.ids.live > 0 && len(ix.free) == 0 {
		t.Error("no handle was reused")
	}
	ix.Put("", orb.Point{0.5, 0.5})
	found := false
	ix.Within(inside, func(id string) bool { found = found || id == ""; return true })
	if !found {
		t.Error("empty id not found")
	}
}

// TestIDTableCompacts checks that deleting most ids compacts the chunks
// and that ids still resolve afterwards.
func TestIDTableCompacts(t *testing.T) {
	ix := NewPointIndex()
	const n = 400_000
	for i := range n {
		ix.Put(fmt.Sprintf("resident-%08d", i), orb.Point{float64(i%1000) / 1000, float64(i/1000) / 1000})
	}
	before := ix.SizeBytes()
	for i := range n {
		if i%10 != 0 {
			ix.Delete(fmt.Sprintf("resident-%08d", i))
		}
	}
	ix.mu.Lock()
	ix.recycle()
	ix.mu.Unlock()
	// 400,000 ids of 18 bytes fill 7 chunks; compaction runs once garbage
	// passes 4 MiB and outweighs the live ids.
	if c := len(ix.ids.v.Load().chunks); c > 3 {
		t.Errorf("%d chunks after deleting 90%% of the ids, want them compacted", c)
	}
	for i := 0; i < n; i += 10 {
		id := fmt.Sprintf("resident-%08d", i)
		if h, ok := ix.ids.lookup(id); !ok || ix.ids.v.Load().name(h) != id {
			t.Fatalf("%s lost after compaction", id)
		}
	}
	t.Logf("%d bytes for %d ids; after deleting 90%%, %d", before, n, ix.SizeBytes())
}

func TestPointSetConcurrent(t *testing.T) {
	r := squares(t)
	shapes := []*Shape{
		mustCompile(t, r, Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}}),
		mustCompile(t, r, Area{Circles: []Circle{{orb.Point{0.5, 0.5}, 30}}}),
	}
	ix := NewPointIndex()
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 30_000 {
				id := fmt.Sprint(w, "-", i%3000)
				if i%5 == 0 {
					ix.Delete(id)
				} else {
					ix.Put(id, orb.Point{rng.Float64(), rng.Float64()})
				}
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			for i := range 60 {
				s := shapes[(i+w)%2]
				seen := make(map[string]bool)
				ix.Within(s, func(id string) bool {
					if len(id) < 3 || id[1] != '-' {
						t.Errorf("Within reported id %q, never put", id)
					}
					seen[id] = true
					return true
				})
				ix.Count(s)
			}
		})
	}
	wg.Wait()
	ix.set.Load().settle()
	n := 0
	ix.Within(shapes[0], func(string) bool { n++; return true })
	if c := ix.Count(shapes[0]); n != c || n != ix.Len() {
		t.Errorf("after the dust settles: Within %d, Count %d, Len %d", n, c, ix.Len())
	}
}

// TestPointSetSize checks the memory per point promised in the docs.
func TestPointSetSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	// As dense as 10 million residents over the contiguous US: cells of
	// about 16 points.
	pts := make([]orb.Point, 200_000)
	for i := range pts {
		pts[i] = orb.Point{-100 + rng.Float64()*3.5, 40 + rng.Float64()*3.5}
	}
	ps := NewPointSetFrom(pts)
	if per := float64(ps.SizeBytes()) / float64(len(pts)); per > 24 {
		t.Errorf("PointSet: %.1f bytes a point, want at most 24", per)
	}
	ix := NewPointIndex()
	for i, p := range pts {
		ix.Put(fmt.Sprintf("r%024d", i), p)
	}
	ix.set.Load().settle()
	if per := float64(ix.SizeBytes()) / float64(len(pts)); per > 75 {
		// Small indexes carry a partly filled id chunk and page.
		t.Errorf("PointIndex: %.1f bytes a point, want at most 75", per)
	}
}

// TestLookupsDuringMerge holds a merge in progress and checks that
// lookups and changes go on meanwhile, and see the changes.
func TestLookupsDuringMerge(t *testing.T) {
	r := squares(t)
	s := mustCompile(t, r, Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}})
	hold, started := make(chan struct{}), make(chan struct{}, 1)
	ps := NewPointSet()
	ps.mergeStarted = func() {
		select {
		case started <- struct{}{}:
			<-hold // the first merge only
		default:
		}
	}
	for i := range mergeThreshold(0) { // enough to start a merge
		ps.Put(uint32(i), orb.Point{0.5, 0.5})
	}
	<-started
	ps.Put(1_000_000, orb.Point{0.25, 0.25}) // into the new log
	ps.Delete(0)                             // of a point being merged
	if n := ps.Count(s); n != mergeThreshold(0) {
		t.Errorf("during the merge, Count = %d, want %d", n, mergeThreshold(0))
	}
	if got := withinHandles(ps, s); len(got) != mergeThreshold(0) || got[0] != 1 || got[len(got)-1] != 1_000_000 {
		t.Errorf("during the merge, Within found %d points", len(got))
	}
	close(hold)
	ps.settle()
	if n := ps.Count(s); n != mergeThreshold(0) {
		t.Errorf("after the merge, Count = %d, want %d", n, mergeThreshold(0))
	}
}

func TestPointIndexRange(t *testing.T) {
	ix := NewPointIndex()
	want := map[string]orb.Point{}
	for i := range 5000 {
		id := fmt.Sprintf("r%05d", i)
		p := orb.Point{-122.3 + float64(i%100)*0.001, 47.5 + float64(i/100)*0.001}
		ix.Put(id, p)
		want[id] = Quantize(p)
	}
	for i := 0; i < 5000; i += 7 { // deleted ones are not listed
		id := fmt.Sprintf("r%05d", i)
		ix.Delete(id)
		delete(want, id)
	}
	ix.Put("r00001", orb.Point{-122, 47}) // moved
	want["r00001"] = Quantize(orb.Point{-122, 47})
	got := map[string]orb.Point{}
	ix.Range(func(id string, p orb.Point) bool {
		if _, dup := got[id]; dup {
			t.Fatalf("Range listed %s twice", id)
		}
		got[id] = p
		return true
	})
	if len(got) != len(want) {
		t.Fatalf("Range listed %d ids, want %d", len(got), len(want))
	}
	for id, p := range want {
		if got[id] != p {
			t.Fatalf("Range: %s at %v, want %v", id, got[id], p)
		}
	}
	n := 0
	ix.Range(func(string, orb.Point) bool { n++; return n < 10 })
	if n != 10 {
		t.Fatalf("Range went on after fn returned false: %d calls", n)
	}
}

func TestPointIndexBulk(t *testing.T) {
	var ids []string
	var pts []orb.Point
	for i := range 3000 {
		ids = append(ids, fmt.Sprintf("b%05d", i))
		pts = append(pts, orb.Point{-122.3 + float64(i%60)*0.001, 47.5 + float64(i/60)*0.001})
	}
	ids = append(ids, "bad", "b00007") // an invalid point, a repeated id
	pts = append(pts, orb.Point{500, 0}, orb.Point{0, 0})
	ix := NewPointIndex()
	if err := ix.Bulk(ids, pts); err != nil {
		t.Fatal(err)
	}
	ref := NewPointIndex()
	for i := range 3000 {
		ref.Put(ids[i], pts[i])
	}
	if ix.Len() != 3000 {
		t.Fatalf("Len = %d, want 3000", ix.Len())
	}
	shape := mustCompile(t, squares(t), Area{Circles: []Circle{{Center: orb.Point{-122.28, 47.52}, RadiusKm: 1.5}}})
	var a, b []string
	ix.Within(shape, func(id string) bool { a = append(a, id); return true })
	ref.Within(shape, func(id string) bool { b = append(b, id); return true })
	slices.Sort(a)
	slices.Sort(b)
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("Within after Bulk: %d ids, after Put: %d", len(a), len(b))
	}
	// Afterwards it is an index like any other.
	ix.Delete("b00001")
	ix.Put("new", orb.Point{-122.28, 47.52})
	ix.Put("b00002", orb.Point{-100, 40})
	got := map[string]orb.Point{}
	ix.Range(func(id string, p orb.Point) bool { got[id] = p; return true })
	if _, ok := got["b00001"]; ok || got["new"] == (orb.Point{}) || got["b00002"] != Quantize(orb.Point{-100, 40}) || len(got) != 3000 {
		t.Fatalf("after changes: %d ids", len(got))
	}
	if err := ix.Bulk([]string{"x"}, []orb.Point{{1, 1}}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Bulk on a filled index = %v", err)
	}
}
