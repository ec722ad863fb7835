package geo

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// TestNWSTablesResolve checks every code of the bundled NWS table against
// the default registry: UGC counties resolve, SAME codes resolve to a
// county or polygon or are marine zones, which are unsupported.
func TestNWSTablesResolve(t *testing.T) {
	r := counties(t)
	tables, err := loadNWS()
	if err != nil {
		t.Fatal(err)
	}
	if len(tables.ugcToSAME) < 3900 || len(tables.sameAreas) != 127 || len(tables.ugcAreas) != 40 {
		t.Fatalf("tables: %d UGC codes, %d SAME areas, %d extra counties", len(tables.ugcToSAME), len(tables.sameAreas), len(tables.ugcAreas))
	}
	for ugc, same := range tables.ugcToSAME {
		for _, code := range []Geocode{{"UGC", ugc}, {"SAME", same}} {
			s, err := r.Compile(Area{Geocodes: []Geocode{code}})
			if ugc[2] == 'Z' {
				if !errors.Is(err, ErrUnsupportedGeocode) || !strings.Contains(err.Error(), ugc) {
					t.Errorf("%s %s: error %v, want ErrUnsupportedGeocode naming the zone", code.Name, code.Value, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %v", code.Name, code.Value, err)
				continue
			}
			// Falls Church city, VA (51610) is a line in the bundled
			// counties: simplification collapsed it.
			if s.AreaKm2() <= 0 && same != "051610" {
				t.Errorf("%s %s: no area", code.Name, code.Value)
			}
		}
	}
	for same := range tables.sameAreas {
		if _, err := r.Compile(Area{Geocodes: []Geocode{{"SAME", same}}}); err != nil {
			t.Errorf("SAME %s: %v", same, err)
		}
	}
}

func TestCompileGeocodeAreas(t *testing.T) {
	r := counties(t)
	const cochise = "us-county-04003"
	tests := []struct {
		name      string
		code      Geocode
		regions   []string
		in, notIn orb.Point
	}{
		// Northwest Cochise County, AZ (around Benson), not the south-east
		// (Douglas).
		{"part of a county", Geocode{"SAME", "104003"}, []string{cochise}, orb.Point{-110.29, 31.97}, orb.Point{-109.55, 31.35}},
		{"the whole county", Geocode{"SAME", "004003"}, []string{cochise}, orb.Point{-109.55, 31.35}, orb.Point{-111, 31.9}},
		{"a part the NWS has no polygon for", Geocode{"SAME", "504003"}, []string{cochise}, orb.Point{-109.55, 31.35}, orb.Point{-111, 31.9}},
		{"UGC county", Geocode{"UGC", "AZC003"}, []string{cochise}, orb.Point{-109.55, 31.35}, orb.Point{-111, 31.9}},
		{"state by counties", Geocode{"SAME", "004000"}, nil, orb.Point{-111.9, 33.4}, orb.Point{-117, 34}},
		// Palau: in no county of the registry, placed by its NWS polygon.
		{"Palau", Geocode{"UGC", "PWC150"}, []string{}, orb.Point{}, orb.Point{-111, 31.9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, r, Area{Geocodes: []Geocode{tt.code}})
			got := ids(r.Overlapping(s))
			if tt.regions != nil && !slices.Equal(got, tt.regions) {
				t.Errorf("Overlapping() = %v, want %v", got, tt.regions)
			}
			if tt.in != (orb.Point{}) && !s.Contains(tt.in) {
				t.Errorf("Contains(%v) = false", tt.in)
			}
			if s.Contains(tt.notIn) {
				t.Errorf("Contains(%v) = true", tt.notIn)
			}
		})
	}
	whole := mustCompile(t, r, Area{Geocodes: []Geocode{{"SAME", "004003"}}}).AreaKm2()
	part := mustCompile(t, r, Area{Geocodes: []Geocode{{"SAME", "104003"}}}).AreaKm2()
	if !(part > 0.05*whole && part < 0.6*whole) {
		t.Errorf("north-west Cochise is %.0f km², Cochise %.0f km²", part, whole)
	}
}

func TestZeroRadiusCircle(t *testing.T) {
	r := counties(t)
	seattle := orb.Point{-122.3321, 47.6062}
	s := mustCompile(t, r, Area{Circles: []Circle{{seattle, 0}}})
	if got := ids(r.Overlapping(s)); !slices.Equal(got, []string{king}) {
		t.Errorf("Overlapping() = %v, want King", got)
	}
	if !s.Contains(orb.Point{-121.9, 47.4}) {
		t.Error("radius 0 does not cover the whole county")
	}
	_, err := r.Compile(Area{Circles: []Circle{{orb.Point{-140, 30}, 0}}})
	var ge *GeometryError
	if !errors.As(err, &ge) || ge.Part != "circle[0]" || !strings.Contains(ge.Reason, "no region contains it") {
		t.Errorf("radius 0 at sea: error = %v", err)
	}
}

func TestLikelySwapped(t *testing.T) {
	r := counties(t)
	swap := func(p orb.Polygon) orb.Polygon { return swapArea(Area{Polygons: []orb.Polygon{p}}).Polygons[0] }
	seattle := rect(-122.35, 47.59, -122.31, 47.62)
	pennsylvania := rect(-78, 40, -77.9, 40.1) // swapped: lon 40, lat -78, Antarctica
	tests := []struct {
		name string
		area Area
		want bool
	}{
		{"right way round", Area{Polygons: []orb.Polygon{seattle}}, false},
		{"swapped, latitude out of range", Area{Polygons: []orb.Polygon{swap(seattle)}}, true},
		{"swapped, valid both ways", Area{Polygons: []orb.Polygon{swap(pennsylvania)}}, true},
		{"swapped circle", Area{Circles: []Circle{{orb.Point{47.6, -122.3}, 5}}}, true},
		{"at sea both ways", Area{Polygons: []orb.Polygon{rect(-40, 30, -39, 31)}}, false},
		{"geocode only", Area{Geocodes: []Geocode{{"SAME", "053033"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.LikelySwapped(tt.area); got != tt.want {
				t.Errorf("LikelySwapped() = %v, want %v", got, tt.want)
			}
		})
	}
	_, err := r.Compile(Area{Polygons: []orb.Polygon{swap(seattle)}})
	var ge *GeometryError
	if !errors.As(err, &ge) || !ge.Swapped || !strings.Contains(ge.Reason, "latitude -122.35 out of range") || !strings.Contains(ge.Reason, "wrong way round") {
		t.Errorf("Compile(swapped) error = %v, want a GeometryError saying swapped", err)
	}
	_, err = r.Compile(Area{Polygons: []orb.Polygon{rect(-40, 95, -39, 96)}})
	if !errors.As(err, &ge) || ge.Swapped {
		t.Errorf("Compile(out of range, not swapped) error = %v, want no swap hint", err)
	}
}
