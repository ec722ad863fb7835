package geo

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/paulmach/orb"
)

// TestHospitalsInTheirCounties places the HIFLD hospitals of ../shared/data
// (skipped when absent): each must lie in the county its county_fips names,
// resolved as the SAME geocode would be (the bundled county, or the NWS
// polygon for the few counties the bundle lacks). The bundled counties are
// simplified, so hospitals near a county line or the coast may fall just
// outside: those within 2 km are allowed, and there are about 40 of the
// 8,013.
func TestHospitalsInTheirCounties(t *testing.T) {
	r := counties(t)
	data, err := os.ReadFile(sharedData(t, "points/us_hospitals_hifld.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				Name       string `json:"name"`
				State      string `json:"state"`
				CountyFIPS string `json:"county_fips"`
			} `json:"properties"`
			Geometry struct {
				Coordinates orb.Point `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	shapes := make(map[string]*Shape)
	border := 0
	for _, f := range fc.Features {
		h, p := f.Properties, f.Geometry.Coordinates
		s, ok := shapes[h.CountyFIPS]
		if !ok {
			if s, err = r.Compile(Area{Geocodes: []Geocode{{"SAME", "0" + h.CountyFIPS}}}); err != nil {
				t.Errorf("%s, %s: county %s: %v", h.Name, h.State, h.CountyFIPS, err)
				continue
			}
			shapes[h.CountyFIPS] = s
		}
		if s.Contains(p) {
			continue
		}
		if d := distToParts(p, s.parts().polys); d > 2000 {
			t.Errorf("%s, %s at %s: %.0f m from county %s", h.Name, h.State, fmtPoint(p), d, h.CountyFIPS)
		}
		border++
	}
	if len(fc.Features) < 8000 || border > 50 {
		t.Errorf("%d hospitals, %d near but outside their county", len(fc.Features), border)
	}
	t.Logf("%d hospitals, %d within 2 km of their county but outside its simplified boundary", len(fc.Features), border)
}
