package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":7},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]],[[0.2,0.1],[0.5,0.1],[0.5,0.3],[0.2,0.1]]],[]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0,0],[0,0],[0,0]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Polygon","coordinates":[[[0],[1,0,5],[1,1],[0,0]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[null,{"type":"Feature"}]}`))
	src := Source{File: "fuzz.geojson", IDProperty: "id", NameProperty: "name", Prefix: "f-"}
	f.Fuzz(func(t *testing.T, data []byte) {
		regions, err := decodeSource(data, src)
		if err != nil {
			return
		}
		for _, g := range regions {
			if !tokenSafe(g.ID) {
				t.Errorf("region id %q is not token safe", g.ID)
			}
			g.contains(g.Bound.Center())
		}
	})
}

func FuzzCompile(f *testing.F) {
	f.Add(0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 10.0)
	f.Add(0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0)              // bow-tie, point circle
	f.Add(179.0, 0.0, -179.0, 0.0, -179.0, 1.0, 179.0, 1.0, -5.0)   // antimeridian
	f.Add(0.0, 89.9, 90.0, 89.9, 180.0, 89.9, -90.0, 89.9, 1e9)     // pole
	f.Add(1e-300, 0.0, 2e-300, 0.0, 2e-300, 1e-300, 0.0, 0.0, 1e-9) // tiny
	f.Add(math.NaN(), 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, math.Inf(1))
	r := squares(f)
	ix := NewPointIndex()
	for i, p := range []orb.Point{{0.5, 0.5}, {1, 1}, {2.5, 0.5}, {11.5, 11.5}} {
		ix.Put(string(rune('a'+i)), p)
	}
	f.Fuzz(func(t *testing.T, x0, y0, x1, y1, x2, y2, x3, y3, radius float64) {
		ring := orb.Ring{{x0, y0}, {x1, y1}, {x2, y2}, {x3, y3}, {x0, y0}}
		for _, a := range []Area{
			{Polygons: []orb.Polygon{{ring}}},
			{Circles: []Circle{{orb.Point{x0, y0}, radius}}},
			{Polygons: []orb.Polygon{{ring}, rect(0, 0, 1, 1)}, Circles: []Circle{{orb.Point{x1, y1}, radius}}},
		} {
			s, err := r.Compile(a)
			if err != nil {
				continue
			}
			s.Contains(orb.Point{x2, y2})
			if area := s.AreaKm2(); !(area > 0) {
				t.Errorf("AreaKm2() = %g for a valid area", area)
			}
			r.Overlapping(s)
			ix.Within(s, func(string) bool { return true })
		}
	})
}
