// Package geo resolves an alert's area to named regions and answers point
// lookups.
//
// A [Registry] holds regions (US counties by default, or any GeoJSON
// FeatureCollection of polygons) with NATS-token-safe ids. It finds the regions
// containing a point ([Registry.Locate]), resolves CAP geocodes
// ([Registry.Geocode]) and compiles an [Area] (a union of polygons, geodesic
// circles and geocodes) into a [Shape]. [Registry.Overlapping] lists the
// regions that share area with a shape, and a [PointIndex] finds the residents
// inside it.
//
// Coordinates are orb lon/lat points in degrees (WGS84). Polygon edges are
// straight lines in lon/lat, as in GeoJSON and CAP; circles are geodesic on a
// sphere of radius [EarthRadiusKm]. Point containment is exact for the given
// float64 coordinates (robust orientation predicates), and points on a
// boundary are inside. Region overlap treats boundaries closer than
// [BoundaryTolerance] as shared, so that an area drawn along a county line does
// not leak into the neighbouring county.
//
// The package knows nothing of CAP XML (callers convert CAP "lat,lon" pairs to
// orb points), of NATS or of configuration. Polygons crossing the antimeridian
// and circles covering a pole are refused, not split.
package geo
