package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func TestCleanRing(t *testing.T) {
	tests := []struct {
		name     string
		in, want orb.Ring
	}{
		{"clean", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{"repeats", orb.Ring{{0, 0}, {0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 0}}, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{"zig-zag", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {1, 2}, {1, 1}, {1, 2}, {1, 1}, {0, 0}}, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{"fold", orb.Ring{{0, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 0}}, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{"spike at the start", orb.Ring{{0, 0}, {-1, 0}, {0, 0}, {1, 0}, {1, 1}, {0, 0}}, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{"spike at the closing point", orb.Ring{{-1, 0}, {0, 0}, {1, 0}, {1, 1}, {0, 0}, {-1, 0}}, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{"fold across the closing point", orb.Ring{{0, 2}, {0, 1}, {1, 0}, {0, 0}, {0, 2}}, orb.Ring{{0, 1}, {1, 0}, {0, 0}, {0, 1}}},
		{"collinear", orb.Ring{{0, 0}, {1, 1}, {2, 2}, {0, 0}}, orb.Ring{{0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanRing(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("cleanRing(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestOrientIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20_000 {
		// Nearly collinear points, where floating point alone errs.
		a := orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90}
		d := orb.Point{rng.Float64() - 0.5, rng.Float64() - 0.5}
		t1, t2 := rng.Float64()*10, rng.Float64()*10
		b := orb.Point{a[0] + t1*d[0], a[1] + t1*d[1]}
		c := orb.Point{a[0] + t2*d[0], a[1] + t2*d[1]}
		if got, want := orient(a, b, c), orientExact(a, b, c); got != want {
			t.Fatalf("orient(%v, %v, %v) = %d, exact %d", a, b, c, got, want)
		}
	}
}

// starRing returns a simple ring of n vertices at increasing angles around
// c, at random distances between rmin and rmax degrees: concave when those
// differ.
func starRing(rng *rand.Rand, c orb.Point, n int, rmin, rmax float64) orb.Ring {
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * (float64(i) + rng.Float64()*0.9) / float64(n)
		d := rmin + rng.Float64()*(rmax-rmin)
		ring = append(ring, orb.Point{c[0] + d*math.Cos(a), c[1] + d*math.Sin(a)})
	}
	return append(ring, ring[0])
}

// randomPolygon returns a concave polygon around c, with a hole half the
// time.
func randomPolygon(rng *rand.Rand, c orb.Point) orb.Polygon {
	p := orb.Polygon{starRing(rng, c, 8+rng.IntN(40), 0.3, 1)}
	if rng.IntN(2) == 0 { // within 0.3·cos(1.9π/8) of c, inside any edge of the outer ring
		p = append(p, starRing(rng, c, 3+rng.IntN(10), 0.05, 0.2))
	}
	return p
}

func TestContainsMatchesOrb(t *testing.T) {
	r := squares(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		c := orb.Point{rng.Float64()*300 - 150, rng.Float64()*140 - 70}
		p := randomPolygon(rng, c)
		s, err := r.Compile(Area{Polygons: []orb.Polygon{p}})
		if err != nil {
			t.Fatalf("polygon %d: %v", i, err)
		}
		for range 300 {
			q := orb.Point{c[0] + rng.Float64()*2.2 - 1.1, c[1] + rng.Float64()*2.2 - 1.1}
			if got, want := s.Contains(q), planar.PolygonContains(p, q); got != want {
				t.Fatalf("polygon %d %v: Contains(%v) = %v, planar.PolygonContains = %v", i, p, q, got, want)
			}
		}
	}
}

// randomShape returns a union of polygons and circles around c.
func randomShape(t *testing.T, r *Registry, rng *rand.Rand, c orb.Point) *Shape {
	var a Area
	for range rng.IntN(3) {
		a.Polygons = append(a.Polygons, randomPolygon(rng, orb.Point{c[0] + rng.Float64() - 0.5, c[1] + rng.Float64() - 0.5}))
	}
	for range rng.IntN(3) {
		a.Circles = append(a.Circles, Circle{orb.Point{c[0] + rng.Float64() - 0.5, c[1] + rng.Float64() - 0.5}, 1 + rng.Float64()*80})
	}
	if len(a.Polygons)+len(a.Circles) == 0 {
		a.Polygons = append(a.Polygons, randomPolygon(rng, c))
	}
	return mustCompile(t, r, a)
}

func TestWithinMatchesBruteForce(t *testing.T) {
	r := squares(t)
	rng := rand.New(rand.NewPCG(3, 4))
	c := orb.Point{-100, 40}
	ix := NewPointIndex()
	pts := make(map[string]orb.Point)
	put := func(p orb.Point) {
		id := fmt.Sprint("p", len(pts))
		pts[id] = p
		ix.Put(id, p)
	}
	for range 20_000 {
		put(orb.Point{c[0] + rng.Float64()*4 - 2, c[1] + rng.Float64()*4 - 2})
	}
	// Points on cell boundaries and corners.
	for x := c[0] - 2; x <= c[0]+2; x += pointCellDeg {
		for y := c[1] - 2; y <= c[1]+2; y += 4 * pointCellDeg {
			put(orb.Point{x, y})
		}
	}
	// Moved and deleted points must not linger.
	for i := range 1000 {
		id := fmt.Sprint("p", i)
		if i%2 == 0 {
			ix.Delete(id)
			delete(pts, id)
		} else {
			pts[id] = orb.Point{c[0] + rng.Float64()*4 - 2, c[1] + rng.Float64()*4 - 2}
			ix.Put(id, pts[id])
		}
	}
	if ix.Len() != len(pts) {
		t.Fatalf("Len() = %d, want %d", ix.Len(), len(pts))
	}
	shapes := []*Shape{mustCompile(t, r, Area{Polygons: []orb.Polygon{rect(c[0]-1, c[1]-1, c[0]+pointCellDeg*3, c[1]+pointCellDeg*5)}})}
	for range 40 {
		shapes = append(shapes, randomShape(t, r, rng, c))
	}
	// Few points in many cells: Within visits the occupied cells only.
	sparse := NewPointIndex()
	sparsePts := make(map[string]orb.Point)
	for id, p := range pts {
		if len(sparsePts) == 300 {
			break
		}
		sparse.Put(id, p)
		sparsePts[id] = p
	}
	for _, tt := range []struct {
		name string
		ix   *PointIndex
		pts  map[string]orb.Point
	}{{"dense", ix, pts}, {"sparse", sparse, sparsePts}} {
		for i, s := range shapes {
			var want []string
			for id, p := range tt.pts {
				if s.Contains(Quantize(p)) { // the index stores points rounded
					want = append(want, id)
				}
			}
			var got []string
			tt.ix.Within(s, func(id string) bool { got = append(got, id); return true })
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s shape %d: Within found %d points, brute force %d", tt.name, i, len(got), len(want))
			}
		}
	}
	t.Run("stops", func(t *testing.T) {
		n := 0
		ix.Within(shapes[0], func(string) bool { n++; return n < 3 })
		if n != 3 {
			t.Errorf("fn called %d times after returning false at 3", n)
		}
	})
}

func TestPointIndexConcurrent(t *testing.T) {
	r := squares(t)
	s := mustCompile(t, r, Area{Polygons: []orb.Polygon{rect(0, 0, 1, 1)}})
	ix := NewPointIndex()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0))
			for i := range 2000 {
				id := fmt.Sprint(w, "-", i%200)
				if i%5 == 0 {
					ix.Delete(id)
				} else {
					ix.Put(id, orb.Point{rng.Float64() * 2, rng.Float64() * 2})
				}
			}
		})
		wg.Go(func() {
			for range 50 {
				ix.Within(s, func(id string) bool {
					ix.Put(id, orb.Point{0.5, 0.5}) // calling back into the index must not deadlock
					return true
				})
			}
		})
	}
	wg.Wait()
	ix.Put("nan", orb.Point{math.NaN(), 0})
	if n := ix.Len(); n > 4*200 {
		t.Errorf("Len() = %d, more than the %d ids used", n, 4*200)
	}
}
