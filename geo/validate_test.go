package geo

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestCompileValidation(t *testing.T) {
	r := squares(t)
	nan, inf := math.NaN(), math.Inf(1)
	poly := func(pts ...orb.Point) Area { return Area{Polygons: []orb.Polygon{{pts}}} }
	circle := func(lon, lat, km float64) Area { return Area{Circles: []Circle{{orb.Point{lon, lat}, km}}} }
	many := make(orb.Ring, 0, 10_002)
	for i := range 10_001 {
		a := 2 * math.Pi * float64(i) / 10_001
		many = append(many, orb.Point{math.Cos(a), math.Sin(a)})
	}
	many = append(many, many[0])
	withHole := func(hole orb.Ring) Area { return Area{Polygons: []orb.Polygon{{rect(0, 0, 4, 4)[0], hole}}} }

	tests := []struct {
		name   string
		area   Area
		part   string
		reason string
	}{
		{"empty area", Area{}, "area", "empty"},
		{"no rings", Area{Polygons: []orb.Polygon{{}}}, "polygon[0]", "no rings"},
		{"fewer than 4 points", poly(orb.Point{0, 0}, orb.Point{1, 0}, orb.Point{0, 0}), "polygon[0]", "3 points, want at least 4"},
		{"not closed", poly(orb.Point{0, 0}, orb.Point{1, 0}, orb.Point{1, 1}, orb.Point{0, 1}), "polygon[0]", "not closed"},
		{"longitude out of range", poly(orb.Point{0, 0}, orb.Point{181, 0}, orb.Point{1, 1}, orb.Point{0, 0}), "polygon[0]", "longitude 181 out of range"},
		{"latitude out of range", poly(orb.Point{0, 0}, orb.Point{1, -91}, orb.Point{1, 1}, orb.Point{0, 0}), "polygon[0]", "latitude -91 out of range"},
		{"NaN coordinate", poly(orb.Point{0, 0}, orb.Point{nan, 0}, orb.Point{1, 1}, orb.Point{0, 0}), "polygon[0]", "point 1: (lon NaN, lat 0) is not a finite number"},
		{"infinite coordinate", poly(orb.Point{0, 0}, orb.Point{1, inf}, orb.Point{1, 1}, orb.Point{0, 0}), "polygon[0]", "not a finite number"},
		{"zero area, collinear", poly(orb.Point{0, 0}, orb.Point{1, 1}, orb.Point{2, 2}, orb.Point{0, 0}), "polygon[0]", "zero area"},
		{"zero area, repeated point", poly(orb.Point{0, 0}, orb.Point{0, 0}, orb.Point{0, 0}, orb.Point{0, 0}), "polygon[0]", "zero area"},
		{"zero area, tiny", poly(orb.Point{0, 0}, orb.Point{1e-6, 0}, orb.Point{1e-6, 1e-6}, orb.Point{0, 0}), "polygon[0]", "zero area"},
		{"bow-tie", poly(orb.Point{0, 0}, orb.Point{2, 2}, orb.Point{2, 0}, orb.Point{0, 1}, orb.Point{0, 0}), "polygon[0]", "self-intersecting"},
		{"ring touching itself", poly(orb.Point{0, 0}, orb.Point{2, 0}, orb.Point{1, 1}, orb.Point{2, 2}, orb.Point{0, 2}, orb.Point{1, 1}, orb.Point{0, 0}), "polygon[0]", "self-intersecting"},
		{"overlapping edges", poly(orb.Point{0, 0}, orb.Point{2, 0}, orb.Point{2, 1}, orb.Point{1, 0}, orb.Point{3, 0}, orb.Point{3, 2}, orb.Point{0, 2}, orb.Point{0, 0}), "polygon[0]", "self-intersecting"},
		{"bow-tie, symmetric", poly(orb.Point{0, 0}, orb.Point{1, 1}, orb.Point{1, 0}, orb.Point{0, 1}, orb.Point{0, 0}), "polygon[0]", "self-intersecting"},
		{"antimeridian", poly(orb.Point{179, 0}, orb.Point{-179, 0}, orb.Point{-179, 1}, orb.Point{179, 1}, orb.Point{179, 0}), "polygon[0]", "crosses the antimeridian"},
		{"too many vertices", Area{Polygons: []orb.Polygon{{many}}}, "polygon[0]", "more than 10000"},
		{"too many in total", Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1), {many[:9_998]}}}, "polygon[1]", "too many vertices"},
		{"hole outside", withHole(rect(5, 5, 6, 6)[0]), "polygon[0]", "hole 1 lies outside"},
		{"hole crossing the outer ring", withHole(rect(3, 3, 5, 5)[0]), "polygon[0]", "hole 1 meets the outer ring"},
		{"holes overlapping", Area{Polygons: []orb.Polygon{{rect(0, 0, 4, 4)[0], rect(1, 1, 2, 2)[0], rect(1.5, 1.5, 3, 3)[0]}}}, "polygon[0]", "holes 1 and 2 meet"},
		{"hole in a hole", Area{Polygons: []orb.Polygon{{rect(0, 0, 4, 4)[0], rect(1, 1, 3, 3)[0], rect(1.5, 1.5, 2, 2)[0]}}}, "polygon[0]", "hole 2 lies inside hole 1"},
		{"bad hole", withHole(orb.Ring{{1, 1}, {2, 1}, {1, 1}}), "polygon[0]", "hole 1: 3 points"},
		{"second polygon", Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1), rect(0, 0, 0, 1)}}, "polygon[1]", "zero area"},
		{"negative radius", circle(0, 0, -1), "circle[0]", "negative radius"},
		{"NaN radius", circle(0, 0, nan), "circle[0]", "not a finite number"},
		{"zero radius, in no region", circle(50, 50, 0), "circle[0]", "radius 0 names the region containing (lon 50, lat 50), and no region contains it"},
		{"tiny radius", circle(0, 0, 1e-4), "circle[0]", "under 1 m"},
		{"huge radius", circle(0, 0, 20_001), "circle[0]", "exceeds 20000 km"},
		{"circle centre out of range", circle(0, 100, 1), "circle[0]", "center: latitude 100"},
		{"circle over the pole", circle(0, 89.99, 10), "circle[0]", "North Pole"},
		{"circle over the south pole", circle(0, -60, 5000), "circle[0]", "South Pole"},
		{"circle across the antimeridian", circle(179.99, 0, 10), "circle[0]", "crosses the antimeridian"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Compile(tt.area)
			var ge *GeometryError
			if !errors.As(err, &ge) {
				t.Fatalf("Compile() error = %v, want a *GeometryError", err)
			}
			if ge.Part != tt.part || !strings.Contains(ge.Reason, tt.reason) {
				t.Errorf("Compile() error = %v, want part %s and reason containing %q", err, tt.part, tt.reason)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	r := squares(t)
	tests := []struct {
		name string
		area Area
	}{
		{"clockwise ring", Area{Polygons: []orb.Polygon{{{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}}}}},
		{"repeated vertices", Area{Polygons: []orb.Polygon{{{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}, {0, 0}}}}}},
		{"spike", Area{Polygons: []orb.Polygon{{{{0, 0}, {1, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}}}},
		{"fold back", Area{Polygons: []orb.Polygon{{{{0, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 0}}}}}},
		{"spike at the closing point", Area{Polygons: []orb.Polygon{{{{1, 0}, {1, 1}, {0, 1}, {0, 0}, {-1, 0}, {0, 0}, {1, 0}}}}}},
		{"polygon with a hole", Area{Polygons: []orb.Polygon{{rect(0, 0, 4, 4)[0], rect(1, 1, 2, 2)[0]}}}},
		{"touching the antimeridian", Area{Polygons: []orb.Polygon{rect(179, 0, 180, 1)}}},
		{"at the vertex limit", Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}}},
		{"large circle", Area{Circles: []Circle{{orb.Point{0, 0}, 5_000}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.Compile(tt.area); err != nil {
				t.Errorf("Compile() error = %v", err)
			}
		})
	}
	t.Run("MaxVertices", func(t *testing.T) {
		small := squares(t)
		small.MaxVertices = 4
		var ge *GeometryError
		if _, err := small.Compile(Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}}); !errors.As(err, &ge) || !strings.Contains(ge.Reason, "more than 4") {
			t.Errorf("Compile() error = %v, want too many vertices", err)
		}
	})
	t.Run("unknown geocode", func(t *testing.T) {
		_, err := counties(t).Compile(Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}, Geocodes: []Geocode{{"SAME", "053999"}}})
		if !errors.Is(err, ErrUnknownGeocode) || !strings.Contains(err.Error(), "geocode[0]") {
			t.Errorf("Compile() error = %v, want ErrUnknownGeocode naming geocode[0]", err)
		}
	})
}
