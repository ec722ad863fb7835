package geo

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/simplify"
)

// geocodeFor is the geocode that names exactly the region whose id, less
// its source's prefix, is key; zero when there is none (a fips key that is
// not a five-digit county code).
func geocodeFor(kind, key string) Geocode {
	switch kind {
	case geocodeFIPS:
		if len(key) == 5 && strings.Trim(key, "0123456789") == "" {
			return Geocode{Name: "SAME", Value: "0" + key}
		}
	case geocodeUGC:
		return Geocode{Name: "UGC", Value: strings.ToUpper(key)}
	}
	return Geocode{}
}

// Outline is a region's boundary simplified for drawing at one map zoom.
type Outline struct {
	Region   *Region
	Geometry orb.MultiPolygon
}

// MaxOutlines bounds how many regions one Outlines call returns, so a
// whole-country view cannot ask for every county's boundary at once.
const MaxOutlines = 400

// Outlines returns the regions whose bounds meet b (in id order, at most
// MaxOutlines; more reports whether some were left out), each simplified
// for web-map zoom level zoom: vertices closer than about a pixel at that
// zoom are dropped, and rings that shrink below a triangle are left out.
// Outlines are for drawing only; alerts resolve against the full shapes.
func (r *Registry) Outlines(b orb.Bound, zoom int) (out []Outline, more bool) {
	for _, g := range r.candidates(b) {
		if len(out) == MaxOutlines {
			return out, true
		}
		out = append(out, Outline{Region: g, Geometry: g.Outline(zoom)})
	}
	return out, false
}

// Outline is the region's boundary simplified for web-map zoom level zoom
// (see Registry.Outlines); a region smaller than a pixel is its bound.
func (g *Region) Outline(zoom int) orb.MultiPolygon {
	zoom = min(max(zoom, 0), 20)
	// A 256-pixel tile spans 360/2^zoom degrees of longitude.
	tolerance := 360 / math.Exp2(float64(zoom)) / 256
	var mp orb.MultiPolygon
	for _, p := range g.Geometry {
		sp, ok := simplify.DouglasPeucker(tolerance).Simplify(p.Clone()).(orb.Polygon)
		if !ok || len(sp) == 0 || len(sp[0]) < 4 {
			continue
		}
		var kept orb.Polygon
		for _, ring := range sp {
			if len(ring) >= 4 {
				kept = append(kept, ring)
			}
		}
		mp = append(mp, kept)
	}
	if len(mp) == 0 {
		mp = orb.MultiPolygon{g.Bound.ToPolygon()}
	}
	return mp
}
