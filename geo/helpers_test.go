package geo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/paulmach/orb"
)

var loadCounties = sync.OnceValues(func() (*Registry, error) { return Load(DefaultSources()) })

// counties returns the registry of bundled US counties, loaded once.
func counties(tb testing.TB) *Registry {
	tb.Helper()
	r, err := loadCounties()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// region returns a county by id.
func region(tb testing.TB, r *Registry, id string) *Region {
	tb.Helper()
	g, ok := r.Region(id)
	if !ok {
		tb.Fatalf("no region %s", id)
	}
	return g
}

func rect(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// feature returns a GeoJSON Feature of polygons with properties.
func feature(props map[string]any, polys ...orb.Polygon) map[string]any {
	geom := map[string]any{"type": "MultiPolygon", "coordinates": polys}
	if len(polys) == 1 {
		geom = map[string]any{"type": "Polygon", "coordinates": polys[0]}
	}
	return map[string]any{"type": "Feature", "properties": props, "geometry": geom}
}

// writeFile writes data to a file in a test directory and returns its path.
func writeFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// writeGeoJSON writes a FeatureCollection of features and returns its path.
func writeGeoJSON(tb testing.TB, features ...map[string]any) string {
	tb.Helper()
	data, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": features})
	if err != nil {
		tb.Fatal(err)
	}
	return writeFile(tb, "regions.geojson", data)
}

// squares returns a registry of unit squares "sq-<col>-<row>" covering
// [0, 3] x [0, 3], and "ring" ([10, 13]² with hole [11, 12]²) with "plug"
// filling its hole.
func squares(tb testing.TB) *Registry {
	tb.Helper()
	var fs []map[string]any
	for col := range 3 {
		for row := range 3 {
			x, y := float64(col), float64(row)
			fs = append(fs, feature(map[string]any{"id": fmt.Sprintf("sq-%d-%d", col, row)}, rect(x, y, x+1, y+1)))
		}
	}
	ring := rect(10, 10, 13, 13)
	ring = append(ring, rect(11, 11, 12, 12)[0])
	fs = append(fs, feature(map[string]any{"id": "ring"}, ring), feature(map[string]any{"id": "plug"}, rect(11, 11, 12, 12)))
	r, err := Load([]Source{{File: writeGeoJSON(tb, fs...), IDProperty: "id"}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func ids(regions []*Region) []string {
	out := []string{}
	for _, g := range regions {
		out = append(out, g.ID)
	}
	return out
}

func mustCompile(tb testing.TB, r *Registry, a Area) *Shape {
	tb.Helper()
	s, err := r.Compile(a)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// slowTests reports whether HERALD_GEO_SLOW asks for the slow, exhaustive
// variants of some tests.
func slowTests() bool { return os.Getenv("HERALD_GEO_SLOW") != "" }
