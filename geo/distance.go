package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// metresPerDegree is the length of a degree of latitude (and of longitude at
// the equator) on the sphere of radius EarthRadiusKm.
const metresPerDegree = EarthRadiusKm * 1000 * rad

// segGrid buckets segments into square lon/lat cells so that the segments
// near a point are found without scanning them all. Only the part of each
// segment inside the window it was built for is indexed. It is not safe for
// concurrent use (queries share a scratch buffer).
type segGrid struct {
	cell  float64 // degrees
	cells map[[2]int32][]int32
	segs  []edge
	seen  []uint32 // query stamp per segment, to report each once
	stamp uint32
}

// newSegGrid indexes the parts of segs inside window. Each segment is
// sampled at half-cell steps and every sample's cell records it, so a point
// of the segment is within a quarter cell of a recorded cell.
func newSegGrid(segs []edge, window orb.Bound, cell float64) *segGrid {
	g := &segGrid{cell: cell, cells: make(map[[2]int32][]int32)}
	for _, e := range segs {
		if !e.bound().Intersects(window) {
			continue
		}
		i := int32(len(g.segs))
		g.segs = append(g.segs, e)
		t0, t1 := clipToBound(e, window)
		n := int(math.Ceil(math.Hypot(e.b[0]-e.a[0], e.b[1]-e.a[1])*(t1-t0)/(cell/2))) + 1
		last := [2]int32{math.MaxInt32, math.MaxInt32}
		for k := 0; k <= n; k++ {
			p := lerp(e.a, e.b, t0+(t1-t0)*float64(k)/float64(n))
			key := [2]int32{int32(math.Floor(p[0] / cell)), int32(math.Floor(p[1] / cell))}
			if key != last {
				if list := g.cells[key]; len(list) == 0 || list[len(list)-1] != i {
					g.cells[key] = append(list, i)
				}
				last = key
			}
		}
	}
	g.seen = make([]uint32, len(g.segs))
	return g
}

// clipToBound returns the parameter range of e inside b (padded by a cell's
// rounding), or the whole segment if that cannot be decided simply.
func clipToBound(e edge, b orb.Bound) (t0, t1 float64) {
	t0, t1 = 0, 1
	for axis := range 2 {
		lo, hi := b.Min[axis], b.Max[axis]
		a, d := e.a[axis], e.b[axis]-e.a[axis]
		if d == 0 {
			continue
		}
		u0, u1 := (lo-a)/d, (hi-a)/d
		if u0 > u1 {
			u0, u1 = u1, u0
		}
		t0, t1 = max(t0, u0), min(t1, u1)
	}
	if !(t0 <= t1) {
		return 0, 1 // touches the window only at a corner, by rounding
	}
	return t0, t1
}

// nearest returns the geodesic distance in metres from p to the nearest
// segment, or capM if no segment is closer than capM.
//
// Candidates are compared in the equirectangular projection centred on p and
// the winner measured with the haversine formula; within a few kilometres of
// p the projection's distortion is below 0.02% of the distance.
func (g *segGrid) nearest(p orb.Point, capM float64) float64 {
	if len(g.segs) == 0 {
		return capM
	}
	g.stamp++
	if g.stamp == 0 { // wrapped: forget old stamps
		clear(g.seen)
		g.stamp = 1
	}
	dLat := capM/metresPerDegree + g.cell/2
	k := math.Cos(min(math.Abs(p[1])+dLat, 89.9) * rad)
	dLon := capM/metresPerDegree/k + g.cell/2
	x0, x1 := int32(math.Floor((p[0]-dLon)/g.cell)), int32(math.Floor((p[0]+dLon)/g.cell))
	y0, y1 := int32(math.Floor((p[1]-dLat)/g.cell)), int32(math.Floor((p[1]+dLat)/g.cell))
	kp := math.Cos(p[1] * rad)
	best, bestT, bestSeg := math.Inf(1), 0.0, -1
	visit := func(list []int32) {
		for _, i := range list {
			if g.seen[i] == g.stamp {
				continue
			}
			g.seen[i] = g.stamp
			e := g.segs[i]
			ax, ay := (e.a[0]-p[0])*kp, e.a[1]-p[1]
			dx, dy := (e.b[0]-e.a[0])*kp, e.b[1]-e.a[1]
			t := 0.0
			if l2 := dx*dx + dy*dy; l2 > 0 {
				t = min(max(-(ax*dx+ay*dy)/l2, 0), 1)
			}
			qx, qy := ax+t*dx, ay+t*dy
			if d2 := qx*qx + qy*qy; d2 < best {
				best, bestT, bestSeg = d2, t, int(i)
			}
		}
	}
	if int64(x1-x0+1)*int64(y1-y0+1) > int64(2*len(g.cells)) {
		// A wide query over a sparse grid: walk the occupied cells.
		for key, list := range g.cells {
			if x0 <= key[0] && key[0] <= x1 && y0 <= key[1] && key[1] <= y1 {
				visit(list)
			}
		}
	} else {
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				visit(g.cells[[2]int32{x, y}])
			}
		}
	}
	if bestSeg < 0 {
		return capM
	}
	e := g.segs[bestSeg]
	return min(haversineKm(p, lerp(e.a, e.b, bestT))*1000, capM)
}

// pathLenM bounds the length in metres of segment ab, straight in lon/lat:
// along it a degree of longitude is at most as long as at the latitude
// nearest the equator.
func pathLenM(a, b orb.Point) float64 {
	latMin := min(math.Abs(a[1]), math.Abs(b[1]))
	if (a[1] < 0) != (b[1] < 0) {
		latMin = 0
	}
	return math.Hypot((b[0]-a[0])*math.Cos(latMin*rad), b[1]-a[1]) * metresPerDegree
}

// boxRadiusM bounds the geodesic distance in metres from the centre of b to
// any point of b: the length of the straight lon/lat path to the farthest
// corner, reckoned with degrees of longitude as long as at the latitude
// nearest the equator.
func boxRadiusM(b orb.Bound) float64 {
	latMin := min(math.Abs(b.Min[1]), math.Abs(b.Max[1]))
	if (b.Min[1] < 0) != (b.Max[1] < 0) {
		latMin = 0
	}
	return math.Hypot((b.Max[0]-b.Min[0])/2*math.Cos(latMin*rad), (b.Max[1]-b.Min[1])/2) * metresPerDegree
}
