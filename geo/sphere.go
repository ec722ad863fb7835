package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// EarthRadiusKm is the mean Earth radius (IUGG) of the sphere on which
// circles and areas are computed; its distances are within about 0.5% of
// the WGS84 ellipsoid's.
const EarthRadiusKm = 6371.0088

const rad = math.Pi / 180

// haversineKm is the great-circle distance between p and q.
func haversineKm(p, q orb.Point) float64 {
	sLat := math.Sin((q[1] - p[1]) * rad / 2)
	sLon := math.Sin((q[0] - p[0]) * rad / 2)
	h := sLat*sLat + math.Cos(p[1]*rad)*math.Cos(q[1]*rad)*sLon*sLon
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(min(h, 1)))
}

// destination is the point distKm from p along the great circle leaving p
// at bearing (radians clockwise from north).
func destination(p orb.Point, bearing, distKm float64) orb.Point {
	d := distKm / EarthRadiusKm
	lat1, lon1 := p[1]*rad, p[0]*rad
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(bearing))
	lon2 := lon1 + math.Atan2(math.Sin(bearing)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
	return orb.Point{lon2 / rad, lat2 / rad}
}

// circleBound returns the lon/lat bound of a geodesic disk, or why the disk
// cannot be handled in lon/lat.
func circleBound(c Circle) (orb.Bound, string) {
	d := c.RadiusKm / EarthRadiusKm / rad // angular radius, degrees
	lat := c.Center[1]
	switch {
	case lat+d >= 90:
		return orb.Bound{}, "covers the North Pole"
	case lat-d <= -90:
		return orb.Bound{}, "covers the South Pole"
	}
	// Widest longitude of a spherical cap: sin Δλ = sin δ / cos φ.
	dLon := math.Asin(min(math.Sin(d*rad)/math.Cos(lat*rad), 1)) / rad
	b := orb.Bound{
		Min: orb.Point{c.Center[0] - dLon, lat - d},
		Max: orb.Point{c.Center[0] + dLon, lat + d},
	}.Pad(1e-9) // rounding
	if b.Min[0] < -180 || b.Max[0] > 180 {
		return orb.Bound{}, "crosses the antimeridian; split it into circles or polygons on each side"
	}
	return b, ""
}

// segmentDistKm is the geodesic distance from c to the nearest point of
// segment ab (straight in lon/lat). The nearest point is found in an
// equirectangular projection centred on c, which for segments and radii of
// a few hundred km puts it within millimetres of the true one.
func segmentDistKm(c, a, b orb.Point) float64 {
	k := math.Cos(c[1] * rad)
	ax, ay := (a[0]-c[0])*k, a[1]-c[1]
	dx, dy := (b[0]-a[0])*k, b[1]-a[1]
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = min(max(-(ax*dx+ay*dy)/l2, 0), 1)
	}
	return haversineKm(c, lerp(a, b, t))
}

// boxDistKm bounds the geodesic distance from c to the points of lon/lat box
// b: the least (0 if c is inside) and the greatest. Along a parallel the
// distance grows with the longitude difference, and along a meridian it has
// a single minimum, so the extremes lie at corners or at those minima. The
// greatest distance assumes b does not contain c's antipode.
func boxDistKm(c orb.Point, b orb.Bound) (lo, hi float64) {
	corners := [4]orb.Point{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}}
	lo = math.Inf(1)
	for _, p := range corners {
		d := haversineKm(c, p)
		lo, hi = min(lo, d), max(hi, d)
	}
	if b.Contains(c) {
		return 0, hi
	}
	lon := min(max(c[0], b.Min[0]), b.Max[0])
	lo = min(lo, haversineKm(c, orb.Point{lon, b.Min[1]}), haversineKm(c, orb.Point{lon, b.Max[1]}))
	for _, mLon := range [2]float64{b.Min[0], b.Max[0]} {
		cosDLon := math.Cos((mLon - c[0]) * rad)
		if cosDLon <= 0 {
			return 0, hi // too far round the globe to bound simply; claim nothing
		}
		lat := math.Atan(math.Tan(c[1]*rad)/cosDLon) / rad
		lo = min(lo, haversineKm(c, orb.Point{mLon, min(max(lat, b.Min[1]), b.Max[1])}))
	}
	return lo, hi
}

// greenTerm is the contribution of the directed segment ab, straight in
// lon/lat, to the area on the unit sphere enclosed by a boundary: -∮ y dx
// in the cylindrical equal-area projection (x the longitude in radians, y
// the sine of the latitude, here less y0 to limit rounding). Integrated
// exactly along the edge, so the area is exact on the sphere; x only
// enters as a difference, so longitude needs no origin.
func greenTerm(a, b orb.Point, y0 float64) float64 {
	half := (b[1] - a[1]) * rad / 2
	sinc := 1.0
	if half != 0 {
		sinc = math.Sin(half) / half
	}
	// ∫ sin φ dλ along the edge = Δλ (cos φa - cos φb) / Δφ.
	return -(b[0] - a[0]) * rad * (math.Sin((a[1]+b[1])*rad/2)*sinc - y0)
}

// ringAreaKm2 is the signed area of ring r, positive when counter-clockwise.
func ringAreaKm2(r orb.Ring) float64 {
	var sum float64
	for i := 0; i+1 < len(r); i++ {
		sum += greenTerm(r[i], r[i+1], 0)
	}
	return sum * EarthRadiusKm * EarthRadiusKm
}
