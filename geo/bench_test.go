package geo

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
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

// Residents for the national-scale benchmarks (issue 5): uniform over the
// contiguous US, or all inside the bound of the worst-case polygon. The 1M
// sets are the first million of the 10M ones. Points are generated already
// rounded to PointPrecision, so the index and the naive loop see the same
// coordinates.
var (
	usBound = orb.Bound{Min: orb.Point{-125, 24}, Max: orb.Point{-66, 50}}

	residentsMu    sync.Mutex
	residentsCache = map[string][]orb.Point{}
	pointSetCache  = map[string]*PointSet{}
)

// residents returns the first n points of the deterministic set named
// "us" or "worst", generating it once per process.
func residents(set string, n int) []orb.Point {
	residentsMu.Lock()
	defer residentsMu.Unlock()
	if pts, ok := residentsCache[set]; ok && len(pts) >= n {
		return pts[:n]
	}
	b, seed := usBound, uint64(2024)
	if set == "worst" {
		b, seed = worstPolygon().Bound(), 2025
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = Quantize(orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])})
	}
	residentsCache[set] = pts
	return pts
}

// residentSet returns a PointSet of residents(set, n), built once.
func residentSet(set string, n int) *PointSet {
	pts := residents(set, n)
	residentsMu.Lock()
	defer residentsMu.Unlock()
	key := fmt.Sprint(set, n)
	if ps, ok := pointSetCache[key]; ok {
		return ps
	}
	ps := NewPointSetFrom(pts)
	pointSetCache[key] = ps
	return ps
}

// worstPolygon is the worst case's 5,000-vertex polygon: a wobbly disk of
// radius about 1° around (-100, 40), concave, with lobes at three scales,
// its vertices on the index's grid.
var worstPolygon = sync.OnceValue(func() orb.Polygon {
	const n = 5000
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / n
		r := 1 + 0.25*math.Sin(5*a) + 0.1*math.Sin(23*a+1) + 0.03*math.Sin(97*a+2)
		ring = append(ring, Quantize(orb.Point{-100 + r*math.Cos(a)/math.Cos(40*rad), 40 + r*math.Sin(a)}))
	}
	return orb.Polygon{append(ring, ring[0])}
})

// sharedData returns the path of a file in ../shared/data, skipping the
// test when it is absent (as in a fresh clone).
func sharedData(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join("..", "..", "shared", "data", name)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s not available: %v", name, err)
	}
	return path
}

var loadNWSCounties = sync.OnceValues(func() (*Registry, error) {
	return Load([]Source{{File: filepath.Join("..", "..", "shared", "data", "regions", "nws_ugc_counties.geojson"),
		IDProperty: "UGC", NameProperty: "COUNTYNAME", Prefix: "nws-", Geocode: "ugc"}})
})

// resolveCase is a benchmark shape: compiled as Herald would, and as the
// naive loop's MultiPolygon.
type resolveCase struct {
	name  string
	set   string // residents
	shape *Shape
	mp    orb.MultiPolygon
}

func resolveCases(tb testing.TB) []resolveCase {
	tb.Helper()
	r := counties(tb)
	la := mustCompile(tb, r, Area{Geocodes: []Geocode{{"SAME", "006037"}}})
	texas := mustCompile(tb, r, Area{Geocodes: []Geocode{{"SAME", "048000"}}})
	var texasMP orb.MultiPolygon
	for _, g := range texas.regions {
		texasMP = append(texasMP, g.Geometry...)
	}
	cases := []resolveCase{
		{"LA", "us", la, region(tb, r, "us-county-06037").Geometry},
		{"Talbot", "us", nil, nil},
		{"Texas", "us", texas, texasMP},
		{"Worst", "worst", mustCompile(tb, r, Area{Polygons: []orb.Polygon{worstPolygon()}}), orb.MultiPolygon{worstPolygon()}},
	}
	// Talbot County, MD, by its UGC code in the NWS counties, when
	// ../shared/data has them.
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "data", "regions", "nws_ugc_counties.geojson")); err == nil {
		nws, err := loadNWSCounties()
		if err != nil {
			tb.Fatal(err)
		}
		cases[1].shape = mustCompile(tb, nws, Area{Geocodes: []Geocode{{"UGC", "MDC041"}}})
		cases[1].mp = region(tb, nws, "nws-mdc041").Geometry
	}
	return cases
}

// ms is a duration in milliseconds, for ReportMetric.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkResolve finds the residents inside each shape with the index
// (PointSet.Within, one goroutine), reporting the count and the median time
// of at least 21 runs.
func BenchmarkResolve(b *testing.B) {
	for _, c := range resolveCases(b) {
		for _, size := range []int{1_000_000, 10_000_000} {
			b.Run(fmt.Sprintf("%s-%dM", c.name, size/1_000_000), func(b *testing.B) {
				if c.shape == nil {
					b.Skip("../shared/data/regions/nws_ugc_counties.geojson not available")
				}
				ps := residentSet(c.set, size)
				var times []time.Duration
				n := 0
				resolve := func() {
					t0 := time.Now()
					n = 0
					ps.Within(c.shape, func(uint32) bool { n++; return true })
					times = append(times, time.Since(t0))
				}
				for b.Loop() {
					resolve()
				}
				// At least 21 samples for the median, even with
				// -benchtime=1x (as the naive runs need): untimed.
				for len(times) < 21 {
					resolve()
				}
				b.ReportMetric(float64(n), "residents")
				b.ReportMetric(ms(median(times)), "ms-p50")
			})
		}
	}
}

// BenchmarkResolveCount is BenchmarkResolve counting with Count, on every
// core (GOMAXPROCS), as a preview does.
func BenchmarkResolveCount(b *testing.B) {
	for _, c := range resolveCases(b) {
		b.Run(fmt.Sprintf("%s-10M", c.name), func(b *testing.B) {
			if c.shape == nil {
				b.Skip("../shared/data/regions/nws_ugc_counties.geojson not available")
			}
			ps := residentSet(c.set, 10_000_000)
			n := 0
			for b.Loop() {
				n = ps.Count(c.shape)
			}
			b.ReportMetric(float64(n), "residents")
		})
	}
}

// naiveWorstTimeout is about what the naive loop needs for Worst-10M:
// orb tests every one of the 5,000 edges for each of the 10M residents.
const naiveWorstTimeout = 40 * time.Minute

// BenchmarkResolveNaive counts the same residents with orb's
// planar.MultiPolygonContains per point after a bounding-box test. Run it
// with -benchtime=1x: Texas-10M takes about 10 s, Worst-1M about 2 min and
// Worst-10M about 20 min (run only when -timeout allows, 0 or over 40m).
func BenchmarkResolveNaive(b *testing.B) {
	for _, c := range resolveCases(b) {
		for _, size := range []int{1_000_000, 10_000_000} {
			b.Run(fmt.Sprintf("%s-%dM", c.name, size/1_000_000), func(b *testing.B) {
				if c.mp == nil {
					b.Skip("../shared/data/regions/nws_ugc_counties.geojson not available")
				}
				if c.name == "Worst" && size == 10_000_000 {
					if d := flag.Lookup("test.timeout").Value.(flag.Getter).Get().(time.Duration); d > 0 && d < naiveWorstTimeout {
						b.Skipf("takes about 20 minutes: run with -timeout 0 (now %v)", d)
					}
				}
				pts := residents(c.set, size)
				bound := c.mp.Bound()
				n := 0
				for b.Loop() {
					n = 0
					for _, p := range pts {
						if bound.Contains(p) && planar.MultiPolygonContains(c.mp, p) {
							n++
						}
					}
				}
				b.ReportMetric(float64(n), "residents")
			})
		}
	}
}

// BenchmarkIndexBuild builds indexes of 10M residents: a PointSet in one
// pass, a PointSet by Put, and a PointIndex of 25-byte ids (like Herald's
// resident ids) by Put, as the residents' KV watch does. It reports the
// bytes per resident the index accounts for and those the heap grew by.
func BenchmarkIndexBuild(b *testing.B) {
	const n = 10_000_000
	pts := residents("us", n)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	report := func(b *testing.B, size int, before uint64, keep any) {
		b.ReportMetric(float64(size)/n, "B/resident")
		b.ReportMetric(float64(heap()-before)/n, "heap-B/resident")
		runtime.KeepAlive(keep)
	}
	b.Run("Bulk-10M", func(b *testing.B) {
		var ps *PointSet
		before := heap()
		for b.Loop() {
			ps = nil
			ps = NewPointSetFrom(pts)
		}
		b.StopTimer()
		report(b, ps.SizeBytes(), before, ps)
	})
	b.Run("Put-10M", func(b *testing.B) {
		var ps *PointSet
		before := heap()
		for b.Loop() {
			ps = nil
			ps = NewPointSet()
			for i, p := range pts {
				ps.Put(uint32(i), p)
			}
			ps.settle()
		}
		b.StopTimer()
		report(b, ps.SizeBytes(), before, ps)
	})
	b.Run("IDs-10M", func(b *testing.B) {
		var ix *PointIndex
		before := heap()
		id := []byte("r" + "aaaaaaaaaaaaaaaaaaaaaaaa")
		for b.Loop() {
			ix = nil
			ix = NewPointIndex()
			for i, p := range pts {
				residentID(id, i)
				ix.Put(string(id), p)
			}
			ix.set.Load().settle()
		}
		b.StopTimer()
		report(b, ix.SizeBytes(), before, ix)
	})
}

// residentID writes into id (25 bytes) an id shaped like Herald's: "r" and
// 24 base32 characters, distinct for each i.
func residentID(id []byte, i int) {
	const digits = "abcdefghijklmnopqrstuvwxyz234567"
	x := uint64(i) * 0x9E3779B97F4A7C15 // spread, like a hash
	for k := 1; k < len(id); k++ {
		id[k] = digits[x&31]
		x = x>>5 | x<<59
	}
}

// BenchmarkResolveChanging is BenchmarkResolve over 10M residents of which
// 150,000 have moved since the last merge (just under half the change log
// that starts one), so lookups read the log too.
func BenchmarkResolveChanging(b *testing.B) {
	pts := residents("us", 10_000_000)
	ps := NewPointSetFrom(pts)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 150_000 {
		ps.Put(uint32(rng.IntN(len(pts))), Quantize(orb.Point{usBound.Min[0] + rng.Float64()*59, usBound.Min[1] + rng.Float64()*26}))
	}
	for _, c := range resolveCases(b) {
		if c.set != "us" || c.shape == nil {
			continue
		}
		b.Run(c.name+"-10M", func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = 0
				ps.Within(c.shape, func(uint32) bool { n++; return true })
			}
			b.ReportMetric(float64(n), "residents")
		})
	}
}
