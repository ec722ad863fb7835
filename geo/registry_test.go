package geo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestLoadBuiltin(t *testing.T) {
	r := counties(t)
	if r.Len() != 3231 {
		t.Errorf("Len() = %d, want 3231", r.Len())
	}
	for id, name := range map[string]string{
		"us-county-53033": "King County, WA",
		"us-county-22071": "Orleans Parish, LA",
		"us-county-51760": "Richmond city, VA",
		"us-county-51159": "Richmond County, VA",
		"us-county-51036": "Charles City County, VA",
		"us-county-32510": "Carson City, NV",
		"us-county-02110": "Juneau, AK",
	} {
		if g := region(t, r, id); g.Name != name {
			t.Errorf("%s: Name = %q, want %q", id, g.Name, name)
		}
	}
	if _, ok := r.Region("us-county-99999"); ok {
		t.Error(`Region("us-county-99999") found`)
	}
}

func TestLoadSources(t *testing.T) {
	sq := rect(0, 0, 1, 1)
	path := writeGeoJSON(t,
		feature(map[string]any{"code": "A1", "label": "Area One"}, sq),
		feature(map[string]any{"code": 7}, rect(1, 0, 2, 1), rect(3, 0, 4, 1)),
	)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"Z9","properties":{},"geometry":{"type":"Polygon","coordinates":[[[5,5],[6,5],[6,6],[5,5]]]}}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	gzPath := writeFile(t, "regions.geojson.gz", buf.Bytes())

	r, err := Load([]Source{
		{File: path, IDProperty: "code", NameProperty: "label", Prefix: "zone-"},
		{File: gzPath, IDProperty: "id", Prefix: "top-"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ id, name string }{
		{"zone-a1", "Area One"},
		{"zone-7", "zone-7"}, // no name property: named by id
		{"top-z9", "top-z9"}, // top-level feature id
	}
	for _, tt := range tests {
		g, ok := r.Region(tt.id)
		if !ok || g.Name != tt.name {
			t.Errorf("Region(%q) = %v, %v; want name %q", tt.id, g, ok, tt.name)
		}
	}
	if g, _ := r.Region("zone-7"); len(g.Geometry) != 2 {
		t.Errorf("zone-7 has %d polygons, want 2", len(g.Geometry))
	}
}

func TestLoadErrors(t *testing.T) {
	sq := rect(0, 0, 1, 1)
	good := feature(map[string]any{"id": "a"}, sq)
	tests := []struct {
		name    string
		source  func(t *testing.T) []Source
		feature int // -1: the whole file
		want    string
	}{
		{"missing file", func(t *testing.T) []Source {
			return []Source{{File: filepath.Join(t.TempDir(), "nope.geojson"), IDProperty: "id"}}
		}, -1, "no such file"},
		{"bad JSON", func(t *testing.T) []Source {
			return []Source{{File: writeFile(t, "bad.geojson", []byte(`{"type": "FeatureCollection", "features": [`)), IDProperty: "id"}}
		}, -1, "invalid GeoJSON"},
		{"bad gzip", func(t *testing.T) []Source {
			return []Source{{File: writeFile(t, "r.geojson.gz", []byte(`{}`)), IDProperty: "id"}}
		}, -1, "gunzip"},
		{"not a collection", func(t *testing.T) []Source {
			return []Source{{File: writeFile(t, "f.geojson", []byte(`{"type": "Feature"}`)), IDProperty: "id"}}
		}, -1, "want FeatureCollection"},
		{"bad feature JSON", func(t *testing.T) []Source {
			return []Source{{File: writeFile(t, "f.geojson", []byte(`{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": 5}]}`)), IDProperty: "id"}}
		}, 0, "invalid feature"},
		{"id not token safe", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, good, feature(map[string]any{"id": "King County"}, sq)), IDProperty: "id"}}
		}, 1, `id "king county" is not NATS-token safe`},
		{"id dot", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, feature(map[string]any{"id": "a.b"}, sq)), IDProperty: "id"}}
		}, 0, "not NATS-token safe"},
		{"no id", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, feature(map[string]any{"name": "x"}, sq)), IDProperty: "fips"}}
		}, 0, `property "fips"`},
		{"id not scalar", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, feature(map[string]any{"id": []int{1}}, sq)), IDProperty: "id"}}
		}, 0, "no id"},
		{"duplicate id", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, good, good), IDProperty: "id"}}
		}, 1, `duplicate region id "a"`},
		{"duplicate id across sources", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, good), IDProperty: "id"}, {File: writeGeoJSON(t, good), IDProperty: "id"}}
		}, 0, "feature 0)"},
		{"point geometry", func(t *testing.T) []Source {
			f := map[string]any{"type": "Feature", "properties": map[string]any{"id": "p"}, "geometry": map[string]any{"type": "Point", "coordinates": []float64{1, 2}}}
			return []Source{{File: writeGeoJSON(t, f), IDProperty: "id"}}
		}, 0, `geometry type "Point"`},
		{"no geometry", func(t *testing.T) []Source {
			f := map[string]any{"type": "Feature", "properties": map[string]any{"id": "p"}}
			return []Source{{File: writeGeoJSON(t, f), IDProperty: "id"}}
		}, 0, "no geometry"},
		{"open ring", func(t *testing.T) []Source {
			open := orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}
			return []Source{{File: writeGeoJSON(t, feature(map[string]any{"id": "o"}, open)), IDProperty: "id"}}
		}, 0, "not closed"},
		{"out of range", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, feature(map[string]any{"id": "o"}, rect(0, 0, 1, 95))), IDProperty: "id"}}
		}, 0, "latitude 95 out of range"},
		{"antimeridian", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, feature(map[string]any{"id": "o"}, rect(-179, 0, 179, 1))), IDProperty: "id"}}
		}, 0, "antimeridian"},
		{"bad prefix", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, good), IDProperty: "id", Prefix: "Zone."}}
		}, -1, `prefix "Zone."`},
		{"bad geocode kind", func(t *testing.T) []Source {
			return []Source{{File: writeGeoJSON(t, good), IDProperty: "id", Geocode: "zip"}}
		}, -1, `geocode "zip"`},
		{"unknown builtin", func(t *testing.T) []Source {
			return []Source{{File: "builtin:world", IDProperty: "id"}}
		}, -1, `unknown builtin "world"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sources := tt.source(t)
			_, err := Load(sources)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load() error = %v, want a *LoadError", err)
			}
			if le.Feature != tt.feature {
				t.Errorf("Feature = %d, want %d (%v)", le.Feature, tt.feature, err)
			}
			file := sources[len(sources)-1].File
			if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s and say %q", err, file, tt.want)
			}
			if tt.feature >= 0 && !strings.Contains(err.Error(), "feature ") {
				t.Errorf("error %q does not name the feature", err)
			}
		})
	}
	t.Run("missing file unwraps", func(t *testing.T) {
		_, err := Load([]Source{{File: filepath.Join(t.TempDir(), "x"), IDProperty: "id"}})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v is not fs.ErrNotExist", err)
		}
	})
}

func TestLocate(t *testing.T) {
	r := counties(t)
	tests := []struct {
		name string
		p    orb.Point // lon, lat
		want []string
	}{
		{"Seattle", orb.Point{-122.3321, 47.6062}, []string{"us-county-53033"}},
		{"Los Angeles", orb.Point{-118.2437, 34.0522}, []string{"us-county-06037"}},
		{"Pacific Ocean", orb.Point{-140, 30}, []string{}},
		{"Aleutians west of 180", orb.Point{172.9, 52.9}, []string{"us-county-02016"}},
		{"not a point", orb.Point{200, 0}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(r.Locate(tt.p)); !slices.Equal(got, tt.want) {
				t.Errorf("Locate(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestLocateHoles(t *testing.T) {
	r := squares(t)
	tests := []struct {
		p    orb.Point
		want []string
	}{
		{orb.Point{10.5, 10.5}, []string{"ring"}},
		{orb.Point{11.5, 11.5}, []string{"plug"}},                           // in the hole
		{orb.Point{11, 11.5}, []string{"plug", "ring"}},                     // on the hole's edge: both boundaries
		{orb.Point{1, 1}, []string{"sq-0-0", "sq-0-1", "sq-1-0", "sq-1-1"}}, // a shared corner
	}
	for _, tt := range tests {
		if got := ids(r.Locate(tt.p)); !slices.Equal(got, tt.want) {
			t.Errorf("Locate(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestGeocode(t *testing.T) {
	r := counties(t)
	tests := []struct {
		name, valueName, value string
		want                   []string
		err                    error
	}{
		{"SAME county", "SAME", "053033", []string{"us-county-53033"}, nil},
		{"FIPS6 county", "FIPS6", "053033", []string{"us-county-53033"}, nil},
		{"SAME part of county", "SAME", "853033", []string{"us-county-53033"}, nil},
		{"lowercase valueName", "same", "006037", []string{"us-county-06037"}, nil},
		{"SAME unknown county", "SAME", "053999", nil, ErrUnknownGeocode},
		{"SAME too short", "SAME", "53033", nil, ErrUnknownGeocode},
		{"SAME not digits", "SAME", "05303x", nil, ErrUnknownGeocode},
		{"SAME unknown state", "SAME", "099000", nil, ErrUnknownGeocode},
		{"UGC county through the NWS table", "UGC", "WAC033", []string{"us-county-53033"}, nil},
		{"UGC county, lowercase", "UGC", "mdc041", []string{"us-county-24041"}, nil},
		{"UGC zone without a zone source", "UGC", "WAZ558", nil, ErrUnsupportedGeocode},
		{"UGC marine zone", "UGC", "PZZ110", nil, ErrUnsupportedGeocode},
		{"UGC not a code", "UGC", "WAX033", nil, ErrUnknownGeocode},
		{"UGC unknown county", "UGC", "WAC999", nil, ErrUnknownGeocode},
		{"SAME marine zone", "SAME", "057110", nil, ErrUnsupportedGeocode},
		{"SAME part of a county with its own polygon", "SAME", "104003", []string{"us-county-04003"}, nil},
		{"SAME county missing from the counties", "SAME", "002063", []string{}, nil},
		{"SAME territory without counties", "SAME", "064000", []string{}, nil},
		{"UGC county missing from the counties", "UGC", "PWC004", []string{}, nil},
		{"other valueName", "EMMA_ID", "123", nil, ErrUnsupportedGeocode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Geocode(tt.valueName, tt.value)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Geocode(%q, %q) error = %v, want %v", tt.valueName, tt.value, err, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.valueName) {
				t.Errorf("error %q does not name the geocode", err)
			}
			if g := ids(got); err == nil && !slices.Equal(g, tt.want) {
				t.Errorf("Geocode(%q, %q) = %v, want %v", tt.valueName, tt.value, g, tt.want)
			}
		})
	}
	t.Run("SAME whole state", func(t *testing.T) {
		got, err := r.Geocode("SAME", "053000")
		if err != nil || len(got) != 39 || !slices.IsSortedFunc(got, func(a, b *Region) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("Geocode(SAME, 053000) = %d regions, %v; want the 39 counties of Washington, sorted", len(got), err)
		}
	})
	if !r.SupportsGeocode("SAME") || !r.SupportsGeocode("UGC") || r.SupportsGeocode("EMMA_ID") {
		t.Error("SupportsGeocode: want SAME and UGC, not EMMA_ID")
	}
}

func TestGeocodeUGC(t *testing.T) {
	path := writeGeoJSON(t, feature(map[string]any{"UGC": "WAC033", "COUNTYNAME": "King"}, rect(0, 0, 1, 1)))
	r, err := Load([]Source{{File: path, IDProperty: "UGC", NameProperty: "COUNTYNAME", Prefix: "nws-", Geocode: "ugc"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Geocode("UGC", "WAC033")
	if err != nil || !slices.Equal(ids(got), []string{"nws-wac033"}) {
		t.Errorf("Geocode(UGC, WAC033) = %v, %v", ids(got), err)
	}
	if _, err := r.Geocode("UGC", "WAZ558"); !errors.Is(err, ErrUnknownGeocode) {
		t.Errorf("Geocode(UGC, WAZ558) error = %v, want ErrUnknownGeocode", err)
	}
	if _, err := r.Geocode("SAME", "053033"); !errors.Is(err, ErrUnsupportedGeocode) {
		t.Errorf("Geocode(SAME) error = %v, want ErrUnsupportedGeocode", err)
	}
}
