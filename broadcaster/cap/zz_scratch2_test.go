package cap

import (
	"os"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/orb/geo"
)

func TestScratchKing(t *testing.T) {
	data, _ := os.ReadFile("../../../shared/data/regions/us_counties.geojson")
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil { t.Fatal(err) }
	ring, err := ParsePolygon("47.53,-122.26 47.53,-122.14 47.46,-122.11 47.41,-122.19 47.44,-122.27 47.53,-122.26")
	if err != nil { t.Fatal(err) }
	for _, f := range fc.Features {
		if f.Properties.MustString("fips", "") != "53033" { continue }
		t.Logf("%s %T", f.Properties.MustString("name",""), f.Geometry)
		g := f.Geometry
		for _, p := range ring {
			in := false
			switch g := g.(type) {
			case orb.Polygon: in = planar.PolygonContains(g, p)
			case orb.MultiPolygon: in = planar.MultiPolygonContains(g, p)
			}
			// min distance to boundary
			min := 1e18
			var rings []orb.Ring
			switch g := g.(type) {
			case orb.Polygon: rings = g
			case orb.MultiPolygon: for _, pp := range g { rings = append(rings, pp...) }
			}
			for _, r := range rings { for _, q := range r { if d := geo.Distance(p, q); d < min { min = d } } }
			t.Logf("%v in=%v nearest boundary vertex %.1f km", p, in, min/1000)
		}
	}
}
