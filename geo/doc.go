// Package geo resolves an alert's area to named regions and residents, and
// checks it against a jurisdiction.
//
// A [Registry] holds regions (US counties by default, or any GeoJSON
// FeatureCollection of polygons) with NATS-token-safe ids. It finds the regions
// containing a point ([Registry.Locate]), resolves CAP geocodes
// ([Registry.Geocode]: SAME and FIPS6, and UGC counties through the bundled
// NWS tables; zones need a region source of their own) and compiles an
// [Area] (a union of polygons, geodesic circles and geocodes) into a
// [Shape]. [Registry.Overlapping] lists the regions that share area with a
// shape, [Registry.Outside] those where it reaches beyond a [Jurisdiction],
// and [Registry.LikelySwapped] tells an area given with latitude and
// longitude swapped.
//
// A [PointSet] finds, among millions of points identified by uint32
// handles, those inside a shape, exactly and in milliseconds; a
// [PointIndex] does the same for string ids (residents). Both take changes
// while being read, without stalling lookups. They store points rounded to
// [PointPrecision] (about 1 cm).
//
// Coordinates are orb lon/lat points in degrees (WGS84). Polygon edges are
// straight lines in lon/lat, as in GeoJSON and CAP; circles are geodesic on a
// sphere of radius [EarthRadiusKm], and distances too. Point containment is
// exact for the given float64 coordinates (robust orientation predicates),
// and points on a boundary, holes' included, are inside (orb's
// planar.PolygonContains puts points on a hole's edge outside; elsewhere
// the two agree). Region overlap treats boundaries closer than
// [BoundaryTolerance] as shared, so that an area drawn along a county line
// does not leak into the neighbouring county.
//
// The package knows nothing of CAP XML (callers convert CAP "lat,lon" pairs to
// orb points), of NATS or of configuration. Polygons crossing the antimeridian
// and circles covering a pole are refused, not split.
package geo
