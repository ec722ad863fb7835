package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

const (
	// DefaultMaxVertices is the most vertices an Area may have in all its
	// polygons when Registry.MaxVertices is zero.
	DefaultMaxVertices = 10_000
	// MaxRadiusKm is the largest circle radius: half the Earth's
	// circumference, beyond which a radius means nothing.
	MaxRadiusKm = 20_000
	// minAreaKm2 is the area (1 m²) under which a polygon is degenerate,
	// and minRadiusKm (1 m) likewise for a circle.
	minAreaKm2  = 1e-6
	minRadiusKm = 1e-3
)

// GeometryError reports an invalid part of an Area.
type GeometryError struct {
	Part   string // "polygon[1]", "circle[0]" or "area"
	Reason string
	// Swapped is set when the part, read with latitude and longitude
	// swapped, would be valid and on a region (see Registry.LikelySwapped).
	// Reason then says so.
	Swapped bool
}

func (e *GeometryError) Error() string { return "geo: " + e.Part + ": " + e.Reason }

// fmtPoint formats p for messages, naming the axes since CAP writes lat,lon
// and orb lon,lat.
func fmtPoint(p orb.Point) string { return fmt.Sprintf("(lon %g, lat %g)", p[0], p[1]) }

// checkPoint returns why p is not a valid lon/lat, or "".
func checkPoint(p orb.Point) string {
	switch {
	case math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0):
		return fmt.Sprintf("%s is not a finite number", fmtPoint(p))
	case p[0] < -180 || p[0] > 180:
		return fmt.Sprintf("longitude %g out of range [-180, 180]", p[0])
	case p[1] < -90 || p[1] > 90:
		return fmt.Sprintf("latitude %g out of range [-90, 90]", p[1])
	}
	return ""
}

// validatePolygon returns p cleaned of repeated vertices and spikes (see
// cleanRing), or why p is not a valid polygon: a closed outer ring and holes inside it, each of at
// least 4 points and non-zero area, with valid coordinates, no
// antimeridian crossing, and no ring touching itself or another ring.
func validatePolygon(p orb.Polygon) (orb.Polygon, string) {
	if len(p) == 0 {
		return nil, "no rings"
	}
	clean := make(orb.Polygon, len(p))
	for k, ring := range p {
		ringName := ""
		if k > 0 {
			ringName = fmt.Sprintf("hole %d: ", k)
		}
		if len(ring) < 4 {
			return nil, fmt.Sprintf("%s%d points, want at least 4 (first = last)", ringName, len(ring))
		}
		for i, pt := range ring {
			if reason := checkPoint(pt); reason != "" {
				return nil, fmt.Sprintf("%spoint %d: %s", ringName, i, reason)
			}
			if i > 0 && math.Abs(pt[0]-ring[i-1][0]) > 180 {
				return nil, fmt.Sprintf("%scrosses the antimeridian between points %d and %d (longitude %g to %g); split it at ±180°",
					ringName, i-1, i, ring[i-1][0], pt[0])
			}
		}
		if ring[0] != ring[len(ring)-1] {
			return nil, fmt.Sprintf("%snot closed: first point %s differs from last %s", ringName, fmtPoint(ring[0]), fmtPoint(ring[len(ring)-1]))
		}
		if clean[k] = cleanRing(ring); len(clean[k]) < 4 {
			return nil, ringName + "zero area"
		}
	}
	if reason := selfIntersection(clean); reason != "" {
		return nil, reason
	}
	for k, ring := range clean {
		if math.Abs(ringAreaKm2(ring)) < minAreaKm2 {
			if k > 0 {
				return nil, fmt.Sprintf("hole %d: zero area", k)
			}
			return nil, "zero area"
		}
	}
	outer := preparePolygon(clean[:1])
	for k := 1; k < len(clean); k++ {
		if outer.locate(clean[k][0]) != inside {
			return nil, fmt.Sprintf("hole %d lies outside the outer ring", k)
		}
		for j := 1; j < len(clean); j++ {
			if j != k && preparePolygon(orb.Polygon{clean[j]}).locate(clean[k][0]) == inside {
				return nil, fmt.Sprintf("hole %d lies inside hole %d", k, j)
			}
		}
	}
	return clean, ""
}

// selfIntersection returns where two edges of p meet other than at the
// vertex joining consecutive edges, or "". Rings may not touch even at a
// point. The rings must be clean (see cleanRing).
func selfIntersection(p orb.Polygon) string {
	type at struct{ ring, pos, n int }
	var (
		edges []edge
		where []at
		bound = p[0].Bound()
	)
	for k, r := range p {
		for i := 0; i+1 < len(r); i++ {
			edges = append(edges, edge{r[i], r[i+1]})
			where = append(where, at{k, i, len(r) - 1})
		}
		bound = bound.Union(r.Bound())
	}
	index := newBandIndex(edges, bound.Min[1], bound.Max[1])
	for i, e := range edges {
		eb := e.bound()
		for j := range index.near(edges, eb.Min[1], eb.Max[1]) {
			f, wi, wj := edges[j], where[i], where[j]
			if j <= i || !eb.Intersects(f.bound()) {
				continue
			}
			// Consecutive edges meet at their vertex, and cannot overlap
			// further since cleanRing removed spikes.
			consecutive := wi.ring == wj.ring && (wj.pos-wi.pos == 1 || wi.pos == 0 && wj.pos == wi.n-1)
			if consecutive || !segmentsIntersect(e.a, e.b, f.a, f.b) {
				continue
			}
			switch {
			case wi.ring != wj.ring && wi.ring == 0:
				return fmt.Sprintf("hole %d meets the outer ring near %s", wj.ring, fmtPoint(e.a))
			case wi.ring != wj.ring:
				return fmt.Sprintf("holes %d and %d meet near %s", wi.ring, wj.ring, fmtPoint(e.a))
			}
			return fmt.Sprintf("self-intersecting: edge %s-%s meets edge %s-%s",
				fmtPoint(e.a), fmtPoint(e.b), fmtPoint(f.a), fmtPoint(f.b))
		}
	}
	return ""
}

// validateCircle returns c's bound, or why c is not a valid circle.
func validateCircle(c Circle) (orb.Bound, string) {
	if reason := checkPoint(c.Center); reason != "" {
		return orb.Bound{}, "center: " + reason
	}
	switch r := c.RadiusKm; {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return orb.Bound{}, fmt.Sprintf("radius %g is not a finite number", r)
	case r < 0:
		return orb.Bound{}, fmt.Sprintf("negative radius %g km", r)
	case r < minRadiusKm:
		return orb.Bound{}, fmt.Sprintf("radius %g km is under 1 m: it covers no area (radius 0 names the region containing the centre)", r)
	case r > MaxRadiusKm:
		return orb.Bound{}, fmt.Sprintf("radius %g km exceeds %d km", r, MaxRadiusKm)
	}
	return circleBound(c)
}
