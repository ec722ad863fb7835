package geo

import (
	"iter"
	"math"

	"github.com/paulmach/orb"
)

// edge is a directed polygon edge with the polygon's interior on its left.
type edge struct{ a, b orb.Point }

func (e edge) bound() orb.Bound {
	return orb.Bound{
		Min: orb.Point{min(e.a[0], e.b[0]), min(e.a[1], e.b[1])},
		Max: orb.Point{max(e.a[0], e.b[0]), max(e.a[1], e.b[1])},
	}
}

// bandIndex buckets edges into horizontal bands of equal height, so that the
// edges near a latitude are found without scanning the whole polygon.
type bandIndex struct {
	y0, h float64 // bottom of band 0, band height
	start []int32 // the edges of band i are idx[start[i]:start[i+1]]
	idx   []int32
}

func newBandIndex(edges []edge, ylo, yhi float64) bandIndex {
	height := yhi - ylo
	var sumDy float64
	for _, e := range edges {
		sumDy += math.Abs(e.b[1] - e.a[1])
	}
	// About one band per edge, fewer when tall edges (each copied into every
	// band it spans) would store more than ~8 entries per edge.
	n := max(len(edges), 1)
	if sumDy > 0 {
		n = min(n, int(7*float64(len(edges))*height/sumDy)+1)
	}
	bi := bandIndex{y0: ylo, h: 1, start: make([]int32, n+1)}
	if height > 0 {
		bi.h = height / float64(n)
	}
	span := func(e edge) (int, int) {
		return bi.band(min(e.a[1], e.b[1])), bi.band(max(e.a[1], e.b[1]))
	}
	for _, e := range edges {
		lo, hi := span(e)
		for b := lo; b <= hi; b++ {
			bi.start[b+1]++
		}
	}
	for b := 1; b <= n; b++ {
		bi.start[b] += bi.start[b-1]
	}
	bi.idx = make([]int32, bi.start[n])
	next := append([]int32(nil), bi.start[:n]...)
	for i, e := range edges {
		lo, hi := span(e)
		for b := lo; b <= hi; b++ {
			bi.idx[next[b]] = int32(i)
			next[b]++
		}
	}
	return bi
}

// band returns the band holding latitude y, clamped to the index.
func (bi *bandIndex) band(y float64) int {
	f := (y - bi.y0) / bi.h
	last := len(bi.start) - 2
	switch {
	case !(f > 0): // also NaN
		return 0
	case f >= float64(last):
		return last
	}
	return int(f)
}

// near yields, once each, the indexes of the edges whose latitude range meets
// [ylo, yhi].
func (bi *bandIndex) near(edges []edge, ylo, yhi float64) iter.Seq[int] {
	return func(yield func(int) bool) {
		b0, b1 := bi.band(ylo), bi.band(yhi)
		for b := b0; b <= b1; b++ {
			for _, i := range bi.idx[bi.start[b]:bi.start[b+1]] {
				e := edges[i]
				elo, ehi := min(e.a[1], e.b[1]), max(e.a[1], e.b[1])
				if elo > yhi || ehi < ylo {
					continue
				}
				// An edge spanning several bands is yielded from the first
				// band of its overlap with the query only.
				if b != b0 && bi.band(max(elo, ylo)) != b {
					continue
				}
				if !yield(int(i)) {
					return
				}
			}
		}
	}
}

// ppoly is a polygon (outer ring and holes) prepared for repeated queries:
// rings cleaned of repeated vertices and spikes, edges oriented with the
// interior on their left, and a band index over the edges.
type ppoly struct {
	edges []edge
	bound orb.Bound
	index bandIndex
}

func preparePolygon(p orb.Polygon) *ppoly {
	pp := &ppoly{}
	first := true
	for k, ring := range p {
		ring = cleanRing(ring)
		reverse := (k == 0) != (planarArea(ring) > 0) // outer counter-clockwise, holes clockwise
		for i := 0; i+1 < len(ring); i++ {
			e := edge{ring[i], ring[i+1]}
			if reverse {
				e.a, e.b = e.b, e.a
			}
			pp.edges = append(pp.edges, e)
			if first {
				pp.bound, first = e.bound(), false
			} else {
				pp.bound = pp.bound.Union(e.bound())
			}
		}
	}
	pp.index = newBandIndex(pp.edges, pp.bound.Min[1], pp.bound.Max[1])
	return pp
}

// cleanRing returns closed ring r without repeated consecutive vertices and
// without spikes: vertices where the ring turns straight back, within
// BoundaryTolerance, along the way it came (a, b, a, or a fold a, b, c with
// c on the way back). Spikes enclose nothing but would make the boundary
// along them ambiguous; simplified boundary data has many. The result may
// have fewer than 4 points.
func cleanRing(r orb.Ring) orb.Ring {
	c := make(orb.Ring, 0, len(r))
	for _, p := range r {
		for n := len(c); n > 1 && spike(c[n-2], c[n-1], p); n-- {
			c = c[:n-1]
		}
		if len(c) == 0 || p != c[len(c)-1] {
			c = append(c, p)
		}
	}
	// Spikes at the closing point or, once that is moved, just before it.
	for n := len(c); n >= 4; n = len(c) {
		switch {
		case spike(c[n-2], c[0], c[1]):
			c = c[1 : n-1]
		case spike(c[n-3], c[n-2], c[0]):
			c = c[:n-2]
		default:
			return c
		}
		if c[len(c)-1] != c[0] {
			c = append(c, c[0])
		}
	}
	return c
}

// spike reports whether the path a, b, c turns back at b along the way it
// came: a and c on the same side of b and on one line, within
// BoundaryTolerance.
func spike(a, b, c orb.Point) bool {
	if (a[0]-b[0])*(c[0]-b[0])+(a[1]-b[1])*(c[1]-b[1]) <= 0 {
		return false
	}
	_, dc := project(a, b, c)
	_, da := project(c, b, a)
	return dc <= BoundaryTolerance || da <= BoundaryTolerance
}

// planarArea is the shoelace area of r in square degrees, positive when r
// runs counter-clockwise.
func planarArea(r orb.Ring) float64 {
	var sum float64
	for i := 0; i+1 < len(r); i++ {
		// Relative to r[0] to keep the products small.
		sum += (r[i][0]-r[0][0])*(r[i+1][1]-r[0][1]) - (r[i+1][0]-r[0][0])*(r[i][1]-r[0][1])
	}
	return sum / 2
}

type position uint8

const (
	outside position = iota
	onBoundary
	inside
)

// locate tells whether p is inside pp, outside or on its boundary, exactly:
// a crossing-number test over the edges of p's band, with robust
// orientation predicates.
func (pp *ppoly) locate(p orb.Point) position {
	if !pp.bound.Contains(p) {
		return outside
	}
	b := pp.index.band(p[1])
	in := false
	for _, i := range pp.index.idx[pp.index.start[b]:pp.index.start[b+1]] {
		a, c := pp.edges[i].a, pp.edges[i].b
		switch {
		case (a[1] > p[1]) != (c[1] > p[1]):
			o := orient(a, c, p)
			if o == 0 {
				return onBoundary
			}
			// The rightward ray from p crosses an upward edge with p on its
			// left, or a downward edge with p on its right.
			if (o > 0) == (c[1] > a[1]) {
				in = !in
			}
		case a[1] == p[1] || c[1] == p[1]:
			if orient(a, c, p) == 0 && onSegment(a, c, p) {
				return onBoundary
			}
		}
	}
	if in {
		return inside
	}
	return outside
}
