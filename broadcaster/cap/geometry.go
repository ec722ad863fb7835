package cap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// ParsePolygon parses a CAP <polygon>: whitespace-separated "lat,lon" pairs
// in WGS 84, at least four, the first equal to the last. The ring it returns
// is in orb's lon,lat order. Only CAP's rules are checked here; whether the
// ring is simple or has an area is for the geo package to judge.
func ParsePolygon(s string) (orb.Ring, error) {
	fields := strings.Fields(s)
	ring := make(orb.Ring, 0, len(fields))
	for i, f := range fields {
		p, err := parsePoint(f)
		if err != nil {
			return nil, fmt.Errorf("point %d: %w", i, err)
		}
		ring = append(ring, p)
	}
	if len(ring) < 4 {
		return nil, fmt.Errorf("polygon has %d points; at least 4 are required", len(ring))
	}
	if ring[0] != ring[len(ring)-1] {
		return nil, fmt.Errorf("polygon is not closed: first point %s differs from last %s", fields[0], fields[len(fields)-1])
	}
	return ring, nil
}

// ParseCircle parses a CAP <circle>, "lat,lon radius" with the radius in
// kilometres, into its centre (lon,lat) and radius.
func ParseCircle(s string) (center orb.Point, radiusKm float64, err error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return orb.Point{}, 0, fmt.Errorf("circle %q is not \"lat,lon radius\"", s)
	}
	center, err = parsePoint(fields[0])
	if err != nil {
		return orb.Point{}, 0, fmt.Errorf("circle centre: %w", err)
	}
	radiusKm, err = parseNumber(fields[1])
	if err != nil || radiusKm < 0 {
		return orb.Point{}, 0, fmt.Errorf("circle radius %q is not a number of kilometres >= 0", fields[1])
	}
	return center, radiusKm, nil
}

// parsePoint parses CAP's "lat,lon" into orb's lon,lat.
func parsePoint(s string) (orb.Point, error) {
	latS, lonS, ok := strings.Cut(s, ",")
	if !ok {
		return orb.Point{}, fmt.Errorf("%q is not a lat,lon pair", s)
	}
	lat, err := parseNumber(latS)
	if err != nil || lat < -90 || lat > 90 {
		// The classic mistake: a GeoJSON-style lon,lat pair.
		if lon, lerr := parseNumber(lonS); err == nil && lerr == nil && lon >= -90 && lon <= 90 && lat >= -180 && lat <= 180 {
			return orb.Point{}, fmt.Errorf("latitude %q is not in [-90, 90]: latitude and longitude look swapped (CAP writes lat,lon)", latS)
		}
		return orb.Point{}, fmt.Errorf("latitude %q is not a number in [-90, 90]", latS)
	}
	lon, err := parseNumber(lonS)
	if err != nil || lon < -180 || lon > 180 {
		return orb.Point{}, fmt.Errorf("longitude %q is not a number in [-180, 180]", lonS)
	}
	return orb.Point{lon, lat}, nil
}

// parseNumber parses a finite decimal number. strconv alone would also take
// "NaN", "Inf" and hexadecimal; it does reject overflow to infinity.
func parseNumber(s string) (float64, error) {
	if s == "" || strings.Trim(s, "0123456789+-.eE") != "" {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	return strconv.ParseFloat(s, 64)
}
