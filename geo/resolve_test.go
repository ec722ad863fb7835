package geo

import (
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// onRawEdge reports whether p lies exactly on an edge of mp as given
// (before cleaning), by exact predicates.
func onRawEdge(mp orb.MultiPolygon, p orb.Point) bool {
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				if orient(ring[i-1], ring[i], p) == 0 && onSegment(ring[i-1], ring[i], p) {
					return true
				}
			}
		}
	}
	return false
}

// orbContains is planar.MultiPolygonContains, skipping polygons whose bound
// excludes p (which cannot contain it), so that the reference is fast
// enough for a test.
func orbContains(mp orb.MultiPolygon, bounds []orb.Bound, p orb.Point) bool {
	for i, poly := range mp {
		if bounds[i].Contains(p) && planar.PolygonContains(poly, p) {
			return true
		}
	}
	return false
}

// TestResolveMatchesNaive checks the benchmarks' shapes on the first
// million residents: the index finds exactly the points orb's
// planar.MultiPolygonContains finds, except points exactly on a boundary,
// where the rules differ (Herald: inside; orb: inside on an outer ring,
// outside on a hole's), and exactly those Shape.Contains finds. For the
// worst case, whose 5,000 edges orb tests one by one, orb checks every
// 50th point (every point with HERALD_GEO_SLOW=1 in the environment).
func TestResolveMatchesNaive(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 100_000
	}
	for _, c := range resolveCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.shape == nil {
				t.Skip("../shared/data/regions/nws_ugc_counties.geojson not available")
			}
			pts := residents(c.set, n)
			ps := NewPointSetFrom(pts)
			in := make([]bool, n)
			count := 0
			ps.Within(c.shape, func(h uint32) bool { in[h] = true; count++; return true })
			if got := ps.Count(c.shape); got != count {
				t.Errorf("Count = %d, Within found %d", got, count)
			}
			bounds := make([]orb.Bound, len(c.mp))
			for i, poly := range c.mp {
				bounds[i] = poly.Bound()
			}
			bound := c.mp.Bound()
			step := 1
			if c.name == "Worst" && !slowTests() {
				step = 50
			}
			orbCount, heraldCount, onEdge := 0, 0, 0
			for i, p := range pts {
				if in[i] != c.shape.Contains(p) {
					t.Fatalf("%s: Within says %v, Contains %v", fmtPoint(p), in[i], !in[i])
				}
				if i%step != 0 {
					continue
				}
				o := bound.Contains(p) && orbContains(c.mp, bounds, p)
				if o != in[i] {
					if !onRawEdge(c.mp, p) {
						t.Fatalf("%s, not on the boundary: Herald says %v, orb %v", fmtPoint(p), in[i], o)
					}
					onEdge++
				}
				if o {
					orbCount++
				}
				if in[i] {
					heraldCount++
				}
			}
			t.Logf("%d of %d residents inside; compared with orb: %d vs %d, %d on the boundary", count, n, heraldCount, orbCount, onEdge)
			if heraldCount-orbCount != onEdge && orbCount-heraldCount != onEdge {
				t.Errorf("counts differ by more than the boundary points")
			}
		})
	}
}
