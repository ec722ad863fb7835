package geo

import (
	"testing"

	"github.com/paulmach/orb"
)

func TestOutlines(t *testing.T) {
	r := counties(t)
	seattle := orb.Bound{Min: orb.Point{-122.5, 47.3}, Max: orb.Point{-121.9, 47.7}}
	vertices := func(zoom int) (n int, found bool) {
		out, more := r.Outlines(seattle, zoom)
		if more {
			t.Fatalf("zoom %d: a county-sized box was cut", zoom)
		}
		for _, ol := range out {
			if ol.Region.ID == "us-county-53033" {
				found = true
				if ol.Region.Geocode != (Geocode{Name: "SAME", Value: "053033"}) {
					t.Errorf("King County geocode = %+v", ol.Region.Geocode)
				}
				for _, p := range ol.Geometry {
					for _, ring := range p {
						n += len(ring)
						if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
							t.Fatalf("zoom %d: ring of %d points, open or degenerate", zoom, len(ring))
						}
					}
				}
			}
		}
		return n, found
	}
	lo, ok1 := vertices(5)
	hi, ok2 := vertices(14)
	if !ok1 || !ok2 {
		t.Fatal("King County missing from its own box")
	}
	full := 0
	reg, _ := r.Region("us-county-53033")
	for _, p := range reg.Geometry {
		for _, ring := range p {
			full += len(ring)
		}
	}
	if !(lo < hi && hi <= full) {
		t.Errorf("vertices: zoom 5 %d, zoom 14 %d, full %d; want fewer when zoomed out, never more than the shape", lo, hi, full)
	}

	us := orb.Bound{Min: orb.Point{-125, 24}, Max: orb.Point{-66, 50}}
	out, more := r.Outlines(us, 3)
	if !more || len(out) != MaxOutlines {
		t.Errorf("whole country: %d outlines, more=%v; want %d and more", len(out), more, MaxOutlines)
	}
}
