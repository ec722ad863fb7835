package geo

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

func BenchmarkLocate(b *testing.B) {
	r := counties(b)
	seattle := orb.Point{-122.3321, 47.6062}
	for b.Loop() {
		r.Locate(seattle)
	}
}

func BenchmarkOverlapping(b *testing.B) {
	r := counties(b)
	for _, bm := range []struct {
		name string
		area Area
	}{
		{"King's polygon", Area{Polygons: region(b, r, king).Geometry}},
		{"circle 50km", Area{Circles: []Circle{{orb.Point{-122.3321, 47.6062}, 50}}}},
		{"Washington box", Area{Polygons: []orb.Polygon{rect(-124.8, 45.5, -116.9, 49)}}},
	} {
		s := mustCompile(b, r, bm.area)
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				r.Overlapping(s)
			}
		})
	}
}

// BenchmarkWithin finds the residents of King County among a million
// spread over Washington.
func BenchmarkWithin(b *testing.B) {
	r := counties(b)
	ix := NewPointIndex()
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 1_000_000 {
		ix.Put(fmt.Sprint(i), orb.Point{-124.8 + rng.Float64()*7.9, 45.5 + rng.Float64()*3.5})
	}
	s := mustCompile(b, r, Area{Polygons: region(b, r, king).Geometry})
	b.ResetTimer()
	for b.Loop() {
		n := 0
		ix.Within(s, func(string) bool { n++; return true })
	}
}
