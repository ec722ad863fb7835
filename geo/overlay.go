package geo

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// BoundaryTolerance is the distance in degrees (about 0.1 m, the precision
// of coordinates with 6 decimals) under which two boundaries count as one
// when deciding overlap and area. Point containment ignores it.
const BoundaryTolerance = 1e-6

// toleranceKm is BoundaryTolerance along a meridian.
const toleranceKm = BoundaryTolerance * rad * EarthRadiusKm

// relation is how a piece of one polygon's boundary lies against another
// polygon.
type relation uint8

const (
	relOutside relation = iota
	relInside
	relSame     // along the other's boundary, interiors on the same side
	relOpposite // along the other's boundary, interiors on opposite sides
)

// splitter cuts polygon edges into pieces at the points where other
// polygons' boundaries meet them, so that each piece lies wholly inside,
// outside or along each other polygon. It reuses its buffers between calls.
type splitter struct {
	ts   []float64
	rels []relation
}

// split cuts e where the boundary of any of others crosses it, touches it or
// comes within BoundaryTolerance of it, and calls fn for each piece in
// order with the piece's relation to each of others. It stops, returning
// false, when fn returns false.
func (s *splitter) split(e edge, others []*ppoly, fn func(a, b orb.Point, rels []relation) bool) bool {
	s.ts = append(s.ts[:0], 0, 1)
	eb := e.bound().Pad(BoundaryTolerance)
	for _, o := range others {
		if !eb.Intersects(o.bound) {
			continue
		}
		for k := range o.index.near(o.edges, eb.Min[1], eb.Max[1]) {
			if f := o.edges[k]; eb.Intersects(f.bound()) {
				s.cut(e, f)
			}
		}
	}
	slices.Sort(s.ts)
	s.ts = slices.Compact(s.ts)
	for i := 1; i < len(s.ts); i++ {
		ta, tb := s.ts[i-1], s.ts[i]
		m := lerp(e.a, e.b, (ta+tb)/2)
		s.rels = s.rels[:0]
		for _, o := range others {
			s.rels = append(s.rels, o.relation(e, m))
		}
		if !fn(lerp(e.a, e.b, ta), lerp(e.a, e.b, tb), s.rels) {
			return false
		}
	}
	return true
}

// cut records where f meets e: vertices of f near e, and a proper crossing.
func (s *splitter) cut(e, f edge) {
	for _, v := range [2]orb.Point{f.a, f.b} {
		if t, d := project(e.a, e.b, v); d <= BoundaryTolerance && t > 0 && t < 1 {
			s.ts = append(s.ts, t)
		}
	}
	if segmentsCross(e.a, e.b, f.a, f.b) {
		d3, _, _ := orientDet(f.a, f.b, e.a)
		d4, _, _ := orientDet(f.a, f.b, e.b)
		if d := d3 - d4; d != 0 {
			s.ts = append(s.ts, min(max(d3/d, 0), 1))
		}
	}
}

// relation classifies m, a point of a piece of edge e, against pp: along
// pp's boundary (within BoundaryTolerance of it, compared by direction with
// the nearest edge), inside or outside.
func (pp *ppoly) relation(e edge, m orb.Point) relation {
	if !pp.bound.Pad(BoundaryTolerance).Contains(m) {
		return relOutside
	}
	nearest, best := -1, BoundaryTolerance
	for k := range pp.index.near(pp.edges, m[1]-BoundaryTolerance, m[1]+BoundaryTolerance) {
		f := pp.edges[k]
		if _, d := project(f.a, f.b, m); d <= best {
			nearest, best = k, d
		}
	}
	if nearest >= 0 {
		f := pp.edges[nearest]
		if (e.b[0]-e.a[0])*(f.b[0]-f.a[0])+(e.b[1]-e.a[1])*(f.b[1]-f.a[1]) > 0 {
			return relSame
		}
		return relOpposite
	}
	if pp.locate(m) == inside {
		return relInside
	}
	return relOutside
}

// overlaps reports whether polygons a and b share area. If their interiors
// meet, the boundary of the common part is made of pieces of a's boundary
// inside b or along b's boundary with b's interior on the same side, and of
// pieces of b's boundary inside a; conversely any such piece has common area
// beside it. Pieces no longer than twice BoundaryTolerance are ignored, so
// slivers thinner than the tolerance do not count.
func overlaps(a, b *ppoly) bool {
	w := orb.Bound{
		Min: orb.Point{max(a.bound.Min[0], b.bound.Min[0]), max(a.bound.Min[1], b.bound.Min[1])},
		Max: orb.Point{min(a.bound.Max[0], b.bound.Max[0]), min(a.bound.Max[1], b.bound.Max[1])},
	}
	if !(w.Min[0] < w.Max[0] && w.Min[1] < w.Max[1]) {
		return false
	}
	var s splitter
	return entersInto(&s, a, b, w, true) || entersInto(&s, b, a, w, false)
}

// entersInto reports whether a piece of p's boundary within window w lies
// inside q, or along q's boundary with both interiors on the same side if
// same is set.
func entersInto(s *splitter, p, q *ppoly, w orb.Bound, same bool) bool {
	others := []*ppoly{q}
	for i := range p.index.near(p.edges, w.Min[1], w.Max[1]) {
		if e := p.edges[i]; e.bound().Intersects(w) {
			found := !s.split(e, others, func(a, b orb.Point, rels []relation) bool {
				if math.Hypot(b[0]-a[0], b[1]-a[1]) <= 2*BoundaryTolerance {
					return true
				}
				return !(rels[0] == relInside || same && rels[0] == relSame)
			})
			if found {
				return true
			}
		}
	}
	return false
}

// circleOverlaps reports whether disk c shares area with polygon pp: its
// centre is inside, or pp's boundary reaches into the disk by more than the
// tolerance.
func circleOverlaps(c circle, pp *ppoly) bool {
	if !c.bound.Intersects(pp.bound) {
		return false
	}
	if pp.locate(c.Center) == inside {
		return true
	}
	for i := range pp.index.near(pp.edges, c.bound.Min[1], c.bound.Max[1]) {
		e := pp.edges[i]
		if e.bound().Intersects(c.bound) && segmentDistKm(c.Center, e.a, e.b) < c.RadiusKm-toleranceKm {
			return true
		}
	}
	return false
}

// unionArea is the area in km² of the union of parts, by Green's theorem
// over the pieces of the parts' boundaries that bound the union: those
// inside no other part and not along another part's boundary, except that
// a boundary shared by parts on the same side counts once.
func unionArea(parts []*ppoly) float64 {
	if len(parts) == 0 {
		return 0
	}
	bound := parts[0].bound
	for _, p := range parts[1:] {
		bound = bound.Union(p.bound)
	}
	y0 := math.Sin(bound.Center()[1] * rad)
	var (
		s      splitter
		sum    float64
		others []*ppoly
		ids    []int
	)
	for i, p := range parts {
		others, ids = others[:0], ids[:0]
		for j, q := range parts {
			if j != i && p.bound.Pad(BoundaryTolerance).Intersects(q.bound) {
				others, ids = append(others, q), append(ids, j)
			}
		}
		for _, e := range p.edges {
			s.split(e, others, func(a, b orb.Point, rels []relation) bool {
				for k, rel := range rels {
					if rel == relInside || rel == relOpposite || rel == relSame && ids[k] < i {
						return true
					}
				}
				sum += greenTerm(a, b, y0)
				return true
			})
		}
	}
	return sum * EarthRadiusKm * EarthRadiusKm
}
