package geo

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/paulmach/orb"
)

// Circle is a geodesic disk: the points within RadiusKm of Center along the
// surface of a sphere of radius EarthRadiusKm.
type Circle struct {
	Center   orb.Point
	RadiusKm float64
}

// Geocode is a CAP geocode, such as {"SAME", "053033"}.
type Geocode struct{ Name, Value string }

// Area is the union of its polygons, circles and geocoded regions. Polygon
// rings may run either way round; the first ring is the outer one, the
// others holes.
type Area struct {
	Polygons []orb.Polygon
	Circles  []Circle
	Geocodes []Geocode
}

// Shape is a validated Area prepared for queries. It is immutable and safe
// for concurrent use.
type Shape struct {
	polys   []*ppoly // drawn, and geocoded areas that name no region
	circles []circle
	regions []*Region // named by the area's geocodes (or zero-radius circles), whole
	tables  []*ppoly  // geocoded areas from the NWS tables: parts of...
	named   []*Region // ...these regions, which the area names but does not cover
	bound   orb.Bound
	area    func() float64
}

type circle struct {
	Circle
	bound orb.Bound
}

// circleVertices is how many vertices stand in for a circle's edge in
// AreaKm2: the inscribed polygon's area is 0.01% short of the disk's.
const circleVertices = 256

// Compile validates a and prepares it for queries. Invalid geometry gives a
// *GeometryError; a geocode that does not resolve gives an error wrapping
// ErrUnknownGeocode or ErrUnsupportedGeocode. Repeated consecutive polygon
// vertices, and spikes going to a point and straight back, are dropped.
func (r *Registry) Compile(a Area) (*Shape, error) { return r.compile(a, true) }

// compile is Compile; hints says whether to look for swapped coordinates
// in invalid parts (not when checking a swapped area).
func (r *Registry) compile(a Area, hints bool) (*Shape, error) {
	hint := func(e *GeometryError, part Area) error {
		if hints {
			return r.swapHint(e, part)
		}
		return e
	}
	if len(a.Polygons)+len(a.Circles)+len(a.Geocodes) == 0 {
		return nil, &GeometryError{Part: "area", Reason: "empty: no polygon, circle or geocode"}
	}
	limit := r.MaxVertices
	if limit <= 0 {
		limit = DefaultMaxVertices
	}
	s := &Shape{}
	var bounds []orb.Bound
	vertices := 0
	for i, p := range a.Polygons {
		part := fmt.Sprintf("polygon[%d]", i)
		for _, ring := range p {
			vertices += len(ring)
		}
		if vertices > limit {
			return nil, &GeometryError{Part: part, Reason: fmt.Sprintf("too many vertices: the area has more than %d", limit)}
		}
		clean, reason := validatePolygon(p)
		if reason != "" {
			return nil, hint(&GeometryError{Part: part, Reason: reason}, Area{Polygons: []orb.Polygon{p}})
		}
		pp := preparePolygon(clean)
		s.polys = append(s.polys, pp)
		bounds = append(bounds, pp.bound)
	}
	for i, c := range a.Circles {
		if c.RadiusKm == 0 && checkPoint(c.Center) == "" {
			continue // a region, below
		}
		b, reason := validateCircle(c)
		if reason != "" {
			return nil, hint(&GeometryError{Part: fmt.Sprintf("circle[%d]", i), Reason: reason}, Area{Circles: []Circle{c}})
		}
		s.circles = append(s.circles, circle{c, b})
		bounds = append(bounds, b)
	}
	seen := make(map[*Region]bool)
	addRegions := func(regions []*Region) {
		for _, reg := range regions {
			if !seen[reg] {
				seen[reg] = true
				s.regions = append(s.regions, reg)
				bounds = append(bounds, reg.Bound)
			}
		}
	}
	for i, c := range a.Circles {
		if c.RadiusKm != 0 || checkPoint(c.Center) != "" {
			continue
		}
		// CAP's radius 0: the region containing the point.
		regions := r.Locate(c.Center)
		if len(regions) == 0 {
			return nil, hint(&GeometryError{Part: fmt.Sprintf("circle[%d]", i),
				Reason: fmt.Sprintf("radius 0 names the region containing %s, and no region contains it", fmtPoint(c.Center))}, Area{Circles: []Circle{c}})
		}
		addRegions(regions)
	}
	for i, g := range a.Geocodes {
		m, err := r.resolveGeocode(g.Name, g.Value)
		if err != nil {
			return nil, fmt.Errorf("geo: geocode[%d]: %w", i, err)
		}
		addRegions(m.regions)
		for _, pp := range m.areas {
			if len(m.within) > 0 {
				s.tables = append(s.tables, pp)
			} else {
				s.polys = append(s.polys, pp)
			}
			bounds = append(bounds, pp.bound)
		}
		for _, reg := range m.within {
			if !slices.Contains(s.named, reg) {
				s.named = append(s.named, reg)
			}
		}
	}
	if len(bounds) == 0 { // cannot happen: every geocode names something
		return nil, &GeometryError{Part: "area", Reason: "resolves to nothing"}
	}
	s.bound = bounds[0]
	for _, b := range bounds[1:] {
		s.bound = s.bound.Union(b)
	}
	s.area = sync.OnceValue(s.unionArea)
	return s, nil
}

// Contains reports whether p is in the shape, boundary included. Polygons
// are exact for the given coordinates; circles compare the haversine
// distance with the radius.
func (s *Shape) Contains(p orb.Point) bool {
	if !s.bound.Contains(p) {
		return false
	}
	for _, pp := range s.polys {
		if pp.locate(p) != outside {
			return true
		}
	}
	for _, c := range s.circles {
		if c.bound.Contains(p) && haversineKm(c.Center, p) <= c.RadiusKm {
			return true
		}
	}
	for _, g := range s.regions {
		if g.Bound.Contains(p) && g.contains(p) {
			return true
		}
	}
	for _, pp := range s.tables {
		if pp.locate(p) != outside {
			return true
		}
	}
	return false
}

// Bound returns the lon/lat bound of the shape.
func (s *Shape) Bound() orb.Bound { return s.bound }

// AreaKm2 returns the area of the shape on the sphere, counting overlapping
// parts once. Polygons (edges straight in lon/lat) are exact up to
// rounding; circles are taken as inscribed 256-gons, 0.01% small. It is
// computed on first use.
func (s *Shape) AreaKm2() float64 { return s.area() }

func (s *Shape) unionArea() float64 {
	parts := append([]*ppoly(nil), s.polys...)
	for _, c := range s.circles {
		ring := make(orb.Ring, circleVertices+1)
		for i := range circleVertices {
			ring[i] = destination(c.Center, 2*math.Pi*float64(i)/circleVertices, c.RadiusKm)
		}
		ring[circleVertices] = ring[0]
		parts = append(parts, preparePolygon(orb.Polygon{ring}))
	}
	for _, g := range s.regions {
		parts = append(parts, g.polys...)
	}
	return unionArea(append(parts, s.tables...))
}

// Overlapping returns the regions that share area with s, sorted by id:
// the regions its geocodes name (for a part of a county, the county), and
// those whose interiors meet the interior of one of its polygons or
// circles. Touching along an edge or at a point does not count, nor do
// slivers thinner than BoundaryTolerance, so an area drawn along a region's
// boundary does not reach its neighbours.
func (r *Registry) Overlapping(s *Shape) []*Region {
	hit := make(map[*Region]bool)
	for _, g := range s.regions {
		hit[g] = true
	}
	for _, g := range s.named {
		hit[g] = true
	}
	for _, pp := range s.polys {
		for _, g := range r.candidates(pp.bound) {
			if !hit[g] && g.overlaps(func(q *ppoly) bool { return overlaps(pp, q) }) {
				hit[g] = true
			}
		}
	}
	for _, c := range s.circles {
		for _, g := range r.candidates(c.bound) {
			if !hit[g] && g.overlaps(func(q *ppoly) bool { return circleOverlaps(c, q) }) {
				hit[g] = true
			}
		}
	}
	out := make([]*Region, 0, len(hit))
	for g := range hit {
		out = append(out, g)
	}
	return sortByID(out)
}

// overlaps reports whether test holds for one of the region's polygons.
func (g *Region) overlaps(test func(*ppoly) bool) bool {
	for _, q := range g.polys {
		if test(q) {
			return true
		}
	}
	return false
}
