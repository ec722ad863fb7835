package geo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// Grid "counties" for jurisdiction tests: squares "g-<col>-<row>" of 0.1°
// (about 8.5 km by 11 km) with south-west corners at lon -100+0.1·col, lat
// 40+0.1·row, for col, row in 0..3. East of lon -99.6 and south of lat 40
// is sea: no region.
const (
	gridLon0, gridLat0, gridStep = -100.0, 40.0, 0.1
)

func gridRegistry(tb testing.TB) *Registry {
	tb.Helper()
	var fs []map[string]any
	for col := range 4 {
		for row := range 4 {
			x, y := gridLon0+gridStep*float64(col), gridLat0+gridStep*float64(row)
			fs = append(fs, feature(map[string]any{"id": fmt.Sprintf("g-%d-%d", col, row)}, rect(x, y, x+gridStep, y+gridStep)))
		}
	}
	r, err := Load([]Source{{File: writeGeoJSON(tb, fs...), IDProperty: "id"}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// gx and gy are the lon and lat of grid line i (0 to 4).
func gx(i float64) float64 { return gridLon0 + gridStep*i }
func gy(i float64) float64 { return gridLat0 + gridStep*i }

// mLon and mLat convert metres to degrees of longitude (at lat) and latitude.
func mLon(m, lat float64) float64 { return m / metresPerDegree / math.Cos(lat*rad) }
func mLat(m float64) float64      { return m / metresPerDegree }

func TestOutsideGrid(t *testing.T) {
	r := gridRegistry(t)
	u := Jurisdiction{Regions: []string{"g-0-0", "g-0-1", "g-0-2", "g-1-0", "g-2-0", "g-2-1", "g-2-2"}}
	uOutline := orb.Polygon{{{gx(0), gy(0)}, {gx(3), gy(0)}, {gx(3), gy(3)}, {gx(2), gy(3)}, {gx(2), gy(1)}, {gx(1), gy(1)}, {gx(1), gy(3)}, {gx(0), gy(3)}, {gx(0), gy(0)}}}
	// A rectangle in g-0-1 whose east side is d metres east of the line
	// it shares with g-1-1 (west of it if d < 0).
	lat := gy(1.5)
	east := func(d float64) Area {
		return Area{Polygons: []orb.Polygon{rect(gx(0.3), gy(1.2), gx(1)+mLon(d, lat), gy(1.8))}}
	}
	// A square of side w metres centred in g-1-1, as a hole in a
	// jurisdiction polygon covering the 3x3 block.
	holed := func(w float64) Jurisdiction {
		c := orb.Point{gx(1.5), gy(1.5)}
		hx, hy := mLon(w/2, c[1]), mLat(w/2)
		return Jurisdiction{Area: orb.MultiPolygon{{rect(gx(0), gy(0), gx(3), gy(3))[0], rect(c[0]-hx, c[1]-hy, c[0]+hx, c[1]+hy)[0]}}}
	}
	block := Area{Polygons: []orb.Polygon{rect(gx(0), gy(0), gx(3), gy(3))}}
	// A circle centred in g-0-0, 1 km west of the line it shares with
	// g-1-0, reaching d metres beyond that line.
	circleAcross := func(d float64) Area {
		c := orb.Point{gx(1) - mLon(1000, gy(0.5)), gy(0.5)}
		return Area{Circles: []Circle{{c, (1000 + d) / 1000}}}
	}
	tests := []struct {
		name string
		area Area
		j    Jurisdiction
		tol  float64
		want []string
	}{
		{"in the U's notch", Area{Polygons: []orb.Polygon{rect(gx(1.4), gy(1.4), gx(1.6), gy(1.6))}}, u, 100, []string{"g-1-1"}},
		{"the U itself", Area{Polygons: []orb.Polygon{uOutline}}, u, 100, nil},
		{"the U itself, tolerance 0", Area{Polygons: []orb.Polygon{uOutline}}, u, 0, nil},
		{"the U as its own polygon", Area{Polygons: []orb.Polygon{uOutline}}, Jurisdiction{Area: orb.MultiPolygon{uOutline}}, 100, nil},
		{"the U and its notch", block, u, 100, []string{"g-1-1", "g-1-2"}},
		{"along the border from inside", east(0), u, 100, nil},
		{"1 km inside", east(-1000), u, 0, nil},
		{"crossing by 50 m", east(50), u, 100, nil},
		{"crossing by 95 m", east(95), u, 100, nil},
		{"crossing by 120 m", east(120), u, 100, []string{"g-1-1"}},
		{"crossing by 500 m", east(500), u, 100, []string{"g-1-1"}},
		{"crossing by 500 m, tolerance 1 km", east(500), u, 1000, nil},
		{"crossing by 50 m, tolerance 0", east(50), u, 0, []string{"g-1-1"}},
		{"across two counties of the jurisdiction", Area{Polygons: []orb.Polygon{rect(gx(0.5), gy(0.2), gx(1.5), gy(0.8))}},
			Jurisdiction{Regions: []string{"g-0-0", "g-1-0"}}, 100, nil},
		{"across counties, one by polygon", Area{Polygons: []orb.Polygon{rect(gx(0.5), gy(0.2), gx(1.5), gy(0.8))}},
			Jurisdiction{Regions: []string{"g-0-0"}, Area: orb.MultiPolygon{rect(gx(1), gy(0), gx(2), gy(1))}}, 100, nil},
		{"coastal, reaching 10 km out to sea", Area{Polygons: []orb.Polygon{rect(gx(3.5), gy(0.2), gx(4)+mLon(10_000, gy(1)), gy(1.8))}},
			Jurisdiction{Regions: []string{"g-3-0", "g-3-1"}}, 100, nil},
		{"coastal, and 1 km into the next county", Area{Polygons: []orb.Polygon{rect(gx(3.5), gy(0.2), gx(4)+mLon(10_000, gy(1)), gy(2)+mLat(1000))}},
			Jurisdiction{Regions: []string{"g-3-0", "g-3-1"}}, 100, []string{"g-3-2"}},
		{"circle crossing by 50 m", circleAcross(50), Jurisdiction{Regions: []string{"g-0-0"}}, 100, nil},
		{"circle crossing by 500 m", circleAcross(500), Jurisdiction{Regions: []string{"g-0-0"}}, 100, []string{"g-1-0"}},
		{"enclave", block, Jurisdiction{Regions: []string{"g-0-0", "g-0-1", "g-0-2", "g-1-0", "g-1-2", "g-2-0", "g-2-1", "g-2-2"}}, 100, []string{"g-1-1"}},
		{"hole 150 m wide", block, holed(150), 100, nil},
		{"hole 400 m wide", block, holed(400), 100, []string{"g-1-1"}},
		{"hole 400 m wide, tolerance 250 m", block, holed(400), 250, nil},
		{"empty jurisdiction", east(-1000), Jurisdiction{}, 100, []string{"g-0-1"}},
		{"all at sea", Area{Polygons: []orb.Polygon{rect(gx(5), gy(1), gx(6), gy(2))}}, u, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, r, tt.area)
			reaches, err := r.Reaches(s, tt.j, tt.tol)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range reaches {
				got = append(got, x.Region.ID)
				checkWitness(t, r, s, tt.j, tt.tol, x)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Outside() = %v, want %v (%v)", got, tt.want, reaches)
			}
		})
	}
}

// checkWitness verifies a Reach by brute force: its point is in the shape
// (circles within a metre), in its region and farther than tol from the
// jurisdiction.
func checkWitness(t *testing.T, r *Registry, s *Shape, j Jurisdiction, tol float64, x Reach) {
	t.Helper()
	if !x.Region.contains(x.Point) {
		t.Errorf("%v: point not in the region", x)
	}
	if !s.Contains(x.Point) && !nearCircle(s, x.Point, 1) && !nearEdges(s, x.Point, 1e-3) {
		t.Errorf("%v: point not in the shape", x)
	}
	if d := bruteDist(r, j, x.Point); !(d > tol) {
		t.Errorf("%v: point is %g m from the jurisdiction, not beyond %g m", x, d, tol)
	}
	if !strings.Contains(x.String(), x.Region.ID) {
		t.Errorf("String() = %q does not name the region", x)
	}
}

func nearCircle(s *Shape, p orb.Point, m float64) bool {
	for _, c := range s.circles {
		if haversineKm(c.Center, p)*1000 <= c.RadiusKm*1000+m {
			return true
		}
	}
	return false
}

// nearEdges reports whether p is within m metres of an edge of one of s's
// polygons or regions: witnesses on the boundary are computed, so they may
// be a rounding error outside it.
func nearEdges(s *Shape, p orb.Point, m float64) bool {
	parts := append([]*ppoly(nil), s.polys...)
	for _, g := range s.regions {
		parts = append(parts, g.polys...)
	}
	for _, pp := range parts {
		for _, e := range pp.edges {
			if segmentDistKm(p, e.a, e.b)*1000 <= m {
				return true
			}
		}
	}
	return false
}

// bruteDist is the distance in metres from p to the jurisdiction, by
// testing every polygon and edge.
func bruteDist(r *Registry, j Jurisdiction, p orb.Point) float64 {
	var mp orb.MultiPolygon
	for _, id := range j.Regions {
		g, _ := r.Region(id)
		mp = append(mp, g.Geometry...)
	}
	mp = append(mp, j.Area...)
	best := math.Inf(1)
	for _, poly := range mp {
		if preparePolygon(poly).locate(p) != outside {
			return 0
		}
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				best = min(best, segmentDistKm(p, ring[i-1], ring[i])*1000)
			}
		}
	}
	return best
}

func TestOutsideCounties(t *testing.T) {
	r := counties(t)
	const snohomish = "us-county-53061"
	kingRegion := region(t, r, king)
	kingPoly := Area{Polygons: kingRegion.Geometry}
	p, q, n := sharedEdge(t, kingRegion, region(t, r, pierce))
	m := lerp(p, q, 0.5)
	across := Area{Polygons: []orb.Polygon{{{
		{m[0] - 0.01, m[1] - 0.01}, {m[0] + 0.01, m[1] - 0.01}, {m[0] + 0.01, m[1] + 0.01}, {m[0] - 0.01, m[1] + 0.01}, {m[0] - 0.01, m[1] - 0.01},
	}}}}
	// A band 2 km long along the King-Pierce line, from 1 km inside King
	// to d metres inside Pierce (n points into King).
	length := math.Hypot(q[0]-p[0], q[1]-p[1])
	dir := orb.Point{(q[0] - p[0]) / length, (q[1] - p[1]) / length}
	band := func(d float64) Area {
		toM := func(v orb.Point, metres float64) orb.Point {
			// v is a unit vector in degrees; scale so that it spans metres.
			k := metres / (math.Hypot(v[0]*math.Cos(m[1]*rad), v[1]) * metresPerDegree)
			return orb.Point{v[0] * k, v[1] * k}
		}
		a, b := toM(dir, 1000), toM(n, 1000)
		c := toM(orb.Point{-n[0], -n[1]}, d)
		return Area{Polygons: []orb.Polygon{{{
			{m[0] - a[0] + b[0], m[1] - a[1] + b[1]}, {m[0] - a[0] + c[0], m[1] - a[1] + c[1]},
			{m[0] + a[0] + c[0], m[1] + a[1] + c[1]}, {m[0] + a[0] + b[0], m[1] + a[1] + b[1]},
			{m[0] - a[0] + b[0], m[1] - a[1] + b[1]},
		}}}}
	}
	kingJ := Jurisdiction{Regions: []string{king}}
	tests := []struct {
		name string
		area Area
		j    Jurisdiction
		want []string
	}{
		{"King's own polygon", kingPoly, kingJ, nil},
		{"King's polygon as the jurisdiction", kingPoly, Jurisdiction{Area: kingRegion.Geometry}, nil},
		{"King by SAME code", Area{Geocodes: []Geocode{{"SAME", "053033"}}}, kingJ, nil},
		{"Pierce by SAME code", Area{Geocodes: []Geocode{{"SAME", "053053"}}}, kingJ, []string{pierce}},
		{"across King and Pierce, both in", across, Jurisdiction{Regions: []string{king, pierce}}, nil},
		{"across King and Pierce, King only", across, kingJ, []string{pierce}},
		{"50 m into Pierce", band(50), kingJ, nil},
		{"500 m into Pierce", band(500), kingJ, []string{pierce}},
		{"Seattle waterfront, into Elliott Bay", Area{Circles: []Circle{{orb.Point{-122.345, 47.605}, 2}}}, kingJ, nil},
		{"Seattle to Everett", Area{Polygons: []orb.Polygon{rect(-122.35, 47.6, -122.2, 47.98)}}, kingJ, []string{snohomish}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, r, tt.area)
			reaches, err := r.Reaches(s, tt.j, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range reaches {
				got = append(got, x.Region.ID)
				checkWitness(t, r, s, tt.j, 100, x)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Outside() = %v, want %v (%v)", got, tt.want, reaches)
			}
		})
	}
}

func TestOutsideErrors(t *testing.T) {
	r := gridRegistry(t)
	s := mustCompile(t, r, Area{Polygons: []orb.Polygon{rect(gx(0.5), gy(0.5), gx(1.5), gy(1.5))}})
	if _, err := r.Outside(s, Jurisdiction{Regions: []string{"nowhere"}}, 100); err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("unknown region: error = %v", err)
	}
	for _, tol := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := r.Outside(s, Jurisdiction{Regions: []string{"g-0-0"}}, tol); err == nil {
			t.Errorf("tolerance %g: no error", tol)
		}
	}
	open := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}}}}
	var ge *GeometryError
	if _, err := r.Outside(s, Jurisdiction{Area: open}, 100); !errors.As(err, &ge) || ge.Part != "jurisdiction polygon[0]" {
		t.Errorf("open ring: error = %v, want a GeometryError for jurisdiction polygon[0]", err)
	}
}

// checkOutsideRandom compares Outside with brute force for a random shape
// and jurisdiction on the grid: every sampled point of the shape that is on
// land, outside the jurisdiction and clearly beyond the tolerance must have
// its regions reported, and every report must carry a valid witness.
func checkOutsideRandom(t *testing.T, r *Registry, seed uint64, tol float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	c := orb.Point{gx(2), gy(2)}
	scale := func(p orb.Polygon, k float64) orb.Polygon {
		out := make(orb.Polygon, len(p))
		for i, ring := range p {
			out[i] = make(orb.Ring, len(ring))
			for k2, v := range ring {
				out[i][k2] = orb.Point{c[0] + (v[0]-c[0])*k, c[1] + (v[1]-c[1])*k}
			}
		}
		return out
	}
	var j Jurisdiction
	for col := range 4 {
		for row := range 4 {
			if rng.IntN(3) == 0 {
				j.Regions = append(j.Regions, fmt.Sprintf("g-%d-%d", col, row))
			}
		}
	}
	if rng.IntN(2) == 0 {
		j.Area = append(j.Area, scale(randomPolygon(rng, orb.Point{c[0] + rng.Float64()*0.2 - 0.1, c[1] + rng.Float64()*0.2 - 0.1}), 0.2))
	}
	var a Area
	for range 1 + rng.IntN(2) {
		a.Polygons = append(a.Polygons, scale(randomPolygon(rng, orb.Point{c[0] + rng.Float64()*0.2 - 0.1, c[1] + rng.Float64()*0.2 - 0.1}), 0.15))
	}
	if rng.IntN(2) == 0 {
		a.Circles = append(a.Circles, Circle{orb.Point{c[0] + rng.Float64()*0.3 - 0.15, c[1] + rng.Float64()*0.3 - 0.15}, 0.5 + rng.Float64()*8})
	}
	if rng.IntN(3) == 0 {
		a.Polygons = nil // circles only, or the fallback square
	}
	if len(a.Polygons)+len(a.Circles) == 0 {
		a.Polygons = append(a.Polygons, rect(gx(1.9), gy(1.9), gx(2.1), gy(2.1)))
	}
	s, err := r.Compile(a)
	if err != nil {
		return // random polygons are valid, but scaling may round two vertices together
	}
	reaches, err := r.Reaches(s, j, tol)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	got := make(map[string]bool)
	for _, x := range reaches {
		got[x.Region.ID] = true
		checkWitness(t, r, s, j, tol, x)
	}
	slack := 2*max(tol/16, 0.5) + 1
	b := s.Bound()
	const n = 70
	for i := range n * n {
		p := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*(float64(i%n)+rng.Float64())/n, b.Min[1] + (b.Max[1]-b.Min[1])*(float64(i/n)+rng.Float64())/n}
		if !s.Contains(p) {
			continue
		}
		regions := r.Locate(p)
		if len(regions) == 0 || bruteDist(r, j, p) <= tol+slack {
			continue
		}
		for _, g := range regions {
			if !got[g.ID] && !slices.Contains(j.Regions, g.ID) {
				t.Fatalf("seed %d, tolerance %g m: %s is in %s, %g m outside the jurisdiction, but Outside reports %v",
					seed, tol, fmtPoint(p), g.ID, bruteDist(r, j, p), reaches)
			}
		}
	}
}

func TestOutsideMatchesBruteForce(t *testing.T) {
	r := gridRegistry(t)
	for seed := range uint64(60) {
		checkOutsideRandom(t, r, seed, []float64{0, 100, 1000, 3000}[seed%4])
	}
}

func FuzzOutside(f *testing.F) {
	f.Add(uint64(1), 100.0)
	f.Add(uint64(2), 0.0)
	f.Add(uint64(3), 2500.0)
	r := gridRegistry(f)
	f.Fuzz(func(t *testing.T, seed uint64, tol float64) {
		if !(tol >= 0 && tol <= 10_000) {
			return
		}
		checkOutsideRandom(t, r, seed, tol)
	})
}

// shifted returns g's polygons moved m metres east.
func shifted(g *Region, m float64) Area {
	var a Area
	for _, p := range g.Geometry {
		q := make(orb.Polygon, len(p))
		for i, ring := range p {
			q[i] = make(orb.Ring, len(ring))
			for k, v := range ring {
				q[i][k] = orb.Point{v[0] + mLon(m, v[1]), v[1]}
			}
		}
		a.Polygons = append(a.Polygons, q)
	}
	return a
}

// BenchmarkOutside checks counties' own polygons, moved east, against the
// county: by 80 m (accepted at 100 m: every neighbour is searched along the
// whole shared border, the costly case) and by 1 km (refused).
func BenchmarkOutside(b *testing.B) {
	r := counties(b)
	loose := *r
	loose.MaxVertices = 1_000_000
	for _, bm := range []struct {
		name   string
		county string
		shift  float64
	}{
		{"King-own", king, 0},
		{"King-80m", king, 80},
		{"King-1km", king, 1000},
		{"Harris-80m", "us-county-48201", 80},
		{"Harris-1km", "us-county-48201", 1000},
	} {
		s := mustCompile(b, &loose, shifted(region(b, r, bm.county), bm.shift))
		j := Jurisdiction{Regions: []string{bm.county}}
		b.Run(bm.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				out, err := r.Outside(s, j, 100)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "regions")
		})
	}
}
