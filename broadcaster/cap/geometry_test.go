package cap

import (
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestParsePolygon(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    orb.Ring
		wantErr string
	}{
		{"lat,lon becomes lon,lat", "47.5,-122.3 47.6,-122.3 47.6,-122.2 47.5,-122.3",
			orb.Ring{{-122.3, 47.5}, {-122.3, 47.6}, {-122.2, 47.6}, {-122.3, 47.5}}, ""},
		{"any whitespace separates pairs", "\n1,2\t3,4  5,6\r\n1.0,2.00 ",
			orb.Ring{{2, 1}, {4, 3}, {6, 5}, {2, 1}}, ""},
		{"extremes are in range", "-90,-180 90,180 0,0 -90,-180",
			orb.Ring{{-180, -90}, {180, 90}, {0, 0}, {-180, -90}}, ""},
		{"not closed", "1,2 3,4 5,6 7,8", nil, "polygon is not closed"},
		{"too few points", "1,2 3,4 1,2", nil, "polygon has 3 points"},
		{"infinite", "1,2 3,1e999 5,6 1,2", nil, `point 1: longitude "1e999"`},
		{"hexadecimal", "1,2 0x1p3,4 5,6 1,2", nil, `point 1: latitude "0x1p3"`},
		{"space after comma", "1, 2 3,4 5,6 1,2", nil, `point 0: longitude ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolygon(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ring = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseCircle(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantCenter orb.Point
		wantRadius float64
		wantErr    string
	}{
		{"lat,lon becomes lon,lat", "32.9525,-115.5527 15.2", orb.Point{-115.5527, 32.9525}, 15.2, ""},
		{"zero radius is a point", "  0,0   0 ", orb.Point{0, 0}, 0, ""},
		{"negative radius", "0,0 -0.1", orb.Point{}, 0, "radius"},
		{"missing radius", "0,0", orb.Point{}, 0, "lat,lon radius"},
		{"extra field", "0,0 1 km", orb.Point{}, 0, "lat,lon radius"},
		{"longitude out of range", "0,181 1", orb.Point{}, 0, "circle centre: longitude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, err := ParseCircle(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c != tt.wantCenter || r != tt.wantRadius {
				t.Errorf("got %v %v, want %v %v", c, r, tt.wantCenter, tt.wantRadius)
			}
		})
	}
}

// The boil-water sample is meant to lie inside King County, WA (roughly
// 47.08..47.78 N, 122.54..121.06 W); keep it well inside if it is edited.
func TestBoilWaterSamplePolygon(t *testing.T) {
	data, err := os.ReadFile("testdata/boil_water.xml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	inner := orb.Bound{Min: orb.Point{-122.35, 47.35}, Max: orb.Point{-121.90, 47.65}}
	for i, in := range a.Info {
		ring, err := ParsePolygon(in.Area[0].Polygon[0])
		if err != nil {
			t.Fatalf("info %d: %v", i, err)
		}
		if b := ring.Bound(); !inner.Contains(b.Min) || !inner.Contains(b.Max) {
			t.Errorf("info %d: polygon bound %v leaves %v", i, b, inner)
		}
	}
}
