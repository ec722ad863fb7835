package geo

import (
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

const (
	king   = "us-county-53033"
	pierce = "us-county-53053"
)

// sharedEdge returns the longest edge pq that regions a and b share, and the
// unit normal n pointing into a.
func sharedEdge(t *testing.T, a, b *Region) (p, q, n orb.Point) {
	t.Helper()
	type seg struct{ a, b orb.Point }
	theirs := make(map[seg]bool)
	for _, poly := range b.Geometry {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				theirs[seg{ring[i-1], ring[i]}], theirs[seg{ring[i], ring[i-1]}] = true, true
			}
		}
	}
	best := 0.0
	for _, poly := range a.Geometry {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				if l := math.Hypot(ring[i][0]-ring[i-1][0], ring[i][1]-ring[i-1][1]); theirs[seg{ring[i-1], ring[i]}] && l > best {
					best, p, q = l, ring[i-1], ring[i]
				}
			}
		}
	}
	if best == 0 {
		t.Fatalf("%s and %s share no edge", a.ID, b.ID)
	}
	n = orb.Point{-(q[1] - p[1]) / best, (q[0] - p[0]) / best}
	if m := lerp(p, q, 0.5); !a.contains(orb.Point{m[0] + n[0]*1e-4, m[1] + n[1]*1e-4}) {
		n = orb.Point{-n[0], -n[1]}
	}
	return p, q, n
}

func TestOverlappingCounties(t *testing.T) {
	r := counties(t)
	kingRegion, pierceRegion := region(t, r, king), region(t, r, pierce)
	p, q, n := sharedEdge(t, kingRegion, pierceRegion)
	m := lerp(p, q, 0.5)
	length := math.Hypot(q[0]-p[0], q[1]-p[1])
	d := orb.Point{(q[0] - p[0]) / length, (q[1] - p[1]) / length}
	at := func(along, across float64) orb.Point {
		return orb.Point{m[0] + d[0]*along + n[0]*across, m[1] + d[1]*along + n[1]*across}
	}
	// band returns a rectangle along the shared edge, between offsets from
	// to to across it (positive into King, in degrees).
	half := min(length/4, 0.005)
	band := func(from, to float64) orb.Polygon {
		return orb.Polygon{{at(-half, from), at(half, from), at(half, to), at(-half, to), at(-half, from)}}
	}
	const meter = 1e-5 // degrees, roughly
	center := at(0, 0.005)
	distKm := segmentDistKm(center, p, q)
	t.Logf("edge %v-%v (%.4f°), circle centre %.3f km from it", p, q, length, distKm)

	var kingArea Area
	kingArea.Polygons = append(kingArea.Polygons, kingRegion.Geometry...)

	tests := []struct {
		name string
		area Area
		want []string
	}{
		{"small polygon inside King", Area{Polygons: []orb.Polygon{rect(-122.35, 47.59, -122.31, 47.62)}}, []string{king}},
		{"King's own polygon", kingArea, []string{king}},
		{"straddling King and Pierce", Area{Polygons: []orb.Polygon{band(-0.004, 0.004)}}, []string{king, pierce}},
		{"1 m inside King", Area{Polygons: []orb.Polygon{band(meter, 0.004)}}, []string{king}},
		{"1 m inside Pierce", Area{Polygons: []orb.Polygon{band(-0.004, -meter)}}, []string{pierce}},
		{"along the line in King", Area{Polygons: []orb.Polygon{band(0, 0.004)}}, []string{king}},
		{"circle reaching across", Area{Circles: []Circle{{center, 2 * distKm}}}, []string{king, pierce}},
		{"circle short of the line", Area{Circles: []Circle{{center, distKm / 2}}}, []string{king}},
		{"SAME geocode", Area{Geocodes: []Geocode{{"SAME", "053033"}}}, []string{king}},
		{"polygon and geocode", Area{Polygons: []orb.Polygon{band(-0.004, -meter)}, Geocodes: []Geocode{{"SAME", "053033"}}}, []string{king, pierce}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, r, tt.area)
			if got := ids(r.Overlapping(s)); !slices.Equal(got, tt.want) {
				t.Errorf("Overlapping() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOverlappingShapes(t *testing.T) {
	r := squares(t)
	u := orb.Polygon{{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}
	hole := rect(11, 11, 12, 12)
	hole[0].Reverse()
	tests := []struct {
		name string
		area Area
		want []string
	}{
		{"U shape around a square", Area{Polygons: []orb.Polygon{u}},
			[]string{"sq-0-0", "sq-0-1", "sq-0-2", "sq-1-0", "sq-2-0", "sq-2-1", "sq-2-2"}},
		{"exactly one square", Area{Polygons: []orb.Polygon{rect(1, 1, 2, 2)}}, []string{"sq-1-1"}},
		{"touching a corner", Area{Polygons: []orb.Polygon{rect(2, 2, 2.5, 2.5)}}, []string{"sq-2-2"}},
		{"touching along an edge", Area{Polygons: []orb.Polygon{rect(3, 0, 4, 3)}}, []string{}},
		{"square bigger than a region", Area{Polygons: []orb.Polygon{rect(0.5, 0.5, 2.5, 1.5)}},
			[]string{"sq-0-0", "sq-0-1", "sq-1-0", "sq-1-1", "sq-2-0", "sq-2-1"}},
		{"region inside the polygon", Area{Polygons: []orb.Polygon{rect(-1, -1, 4, 4)}},
			[]string{"sq-0-0", "sq-0-1", "sq-0-2", "sq-1-0", "sq-1-1", "sq-1-2", "sq-2-0", "sq-2-1", "sq-2-2"}},
		{"the ring's hole, clockwise", Area{Polygons: []orb.Polygon{hole}}, []string{"plug"}},
		{"inside the hole", Area{Polygons: []orb.Polygon{rect(11.2, 11.2, 11.8, 11.8)}}, []string{"plug"}},
		{"polygon with a hole around the plug", Area{Polygons: []orb.Polygon{{rect(10.5, 10.5, 12.5, 12.5)[0], rect(10.9, 10.9, 12.1, 12.1)[0]}}}, []string{"ring"}},
		{"circle inside the hole", Area{Circles: []Circle{{orb.Point{11.5, 11.5}, 40}}}, []string{"plug"}},
		{"circle reaching the ring", Area{Circles: []Circle{{orb.Point{11.5, 11.5}, 60}}}, []string{"plug", "ring"}},
		{"circle in a corner", Area{Circles: []Circle{{orb.Point{1, 1}, 1}}}, []string{"sq-0-0", "sq-0-1", "sq-1-0", "sq-1-1"}},
		{"far away", Area{Polygons: []orb.Polygon{rect(50, 50, 51, 51)}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, r, tt.area)
			if got := ids(r.Overlapping(s)); !slices.Equal(got, tt.want) {
				t.Errorf("Overlapping() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAreaKm2(t *testing.T) {
	r := counties(t)
	// orb's geo.Area, on a sphere of radius orb.EarthRadius metres, is exact
	// for lon/lat rectangles and close for short edges.
	scale := math.Pow(EarthRadiusKm*1000/orb.EarthRadius, 2) / 1e6
	square := rect(0, 0, 1, 1)
	circleKm2 := 2 * math.Pi * EarthRadiusKm * EarthRadiusKm * (1 - math.Cos(10/EarthRadiusKm))
	kingKm2 := orbgeo.Area(region(t, r, king).Geometry) * scale
	// The triangle (0,0) (10,0) (0,60), its hypotenuse straight in lon/lat
	// (λ = 10 - φ/6, in degrees): ∫ λ cos φ dφ over φ in [0, 60°].
	phi := math.Pi / 3
	triangleKm2 := (10*rad*math.Sin(phi) - (phi*math.Sin(phi)+math.Cos(phi)-1)/6) * EarthRadiusKm * EarthRadiusKm
	tests := []struct {
		name string
		area Area
		want float64
		tol  float64 // relative
	}{
		{"square", Area{Polygons: []orb.Polygon{square}}, orbgeo.Area(square) * scale, 1e-9},
		{"same square twice", Area{Polygons: []orb.Polygon{square, square}}, orbgeo.Area(square) * scale, 1e-9},
		{"overlapping rectangles", Area{Polygons: []orb.Polygon{rect(0, 0, 2, 1), rect(1, 0, 3, 1)}}, orbgeo.Area(rect(0, 0, 3, 1)) * scale, 1e-9},
		{"adjacent rectangles", Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1), rect(1, 0, 3, 1)}}, orbgeo.Area(rect(0, 0, 3, 1)) * scale, 1e-9},
		{"circle", Area{Circles: []Circle{{orb.Point{-122, 47}, 10}}}, circleKm2, 2e-4},
		{"same circle twice", Area{Circles: []Circle{{orb.Point{-122, 47}, 10}, {orb.Point{-122, 47}, 10}}}, circleKm2, 2e-4},
		{"King by geocode and polygon", Area{Polygons: region(t, r, king).Geometry, Geocodes: []Geocode{{"SAME", "053033"}}}, kingKm2, 1e-5},
		{"long edges", Area{Polygons: []orb.Polygon{{{{0, 0}, {10, 0}, {0, 60}, {0, 0}}}}}, triangleKm2, 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustCompile(t, r, tt.area).AreaKm2()
			if math.Abs(got-tt.want) > tt.tol*tt.want {
				t.Errorf("AreaKm2() = %g, want %g", got, tt.want)
			}
		})
	}
}
