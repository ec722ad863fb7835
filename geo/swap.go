package geo

import (
	"github.com/paulmach/orb"
)

// LikelySwapped reports whether a's polygons and circles look like they were
// given with latitude and longitude swapped, the classic mistake when
// reading CAP's "lat,lon" pairs into (lon, lat) points: as given they are
// invalid or share area with no region, yet swapped they are valid and do.
// Geocodes are ignored. Callers use it to explain an area that is refused,
// or that reaches no region: Compile already says so in its GeometryError
// when a part is invalid as given.
func (r *Registry) LikelySwapped(a Area) bool {
	a = Area{Polygons: a.Polygons, Circles: a.Circles}
	if len(a.Polygons)+len(a.Circles) == 0 {
		return false
	}
	return !r.reachesRegion(a) && r.reachesRegion(swapArea(a))
}

// reachesRegion reports whether a is valid and shares area with a region.
func (r *Registry) reachesRegion(a Area) bool {
	s, err := r.compile(a, false)
	return err == nil && len(r.Overlapping(s)) > 0
}

func swapArea(a Area) Area {
	out := Area{Polygons: make([]orb.Polygon, len(a.Polygons)), Circles: make([]Circle, len(a.Circles))}
	for i, p := range a.Polygons {
		out.Polygons[i] = make(orb.Polygon, len(p))
		for k, ring := range p {
			out.Polygons[i][k] = make(orb.Ring, len(ring))
			for j, v := range ring {
				out.Polygons[i][k][j] = orb.Point{v[1], v[0]}
			}
		}
	}
	for i, c := range a.Circles {
		out.Circles[i] = Circle{Center: orb.Point{c.Center[1], c.Center[0]}, RadiusKm: c.RadiusKm}
	}
	return out
}

// swapHint marks e, an error about part, if the part looks swapped.
func (r *Registry) swapHint(e *GeometryError, part Area) *GeometryError {
	if r.reachesRegion(swapArea(part)) {
		e.Swapped = true
		e.Reason += "; swapped, the coordinates would be valid and on a region: are latitude and longitude the wrong way round? (points are lon, lat; CAP writes lat,lon)"
	}
	return e
}
