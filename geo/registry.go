package geo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
)

// Geocode kinds of a Source.
const (
	geocodeFIPS = "fips"
	geocodeUGC  = "ugc"
)

var (
	// ErrUnknownGeocode means a geocode of a supported kind names no region
	// (or is malformed).
	ErrUnknownGeocode = errors.New("geo: unknown geocode")
	// ErrUnsupportedGeocode means no region source resolves geocodes of that
	// valueName.
	ErrUnsupportedGeocode = errors.New("geo: unsupported geocode")
)

// Region is a named area from a region source.
type Region struct {
	ID       string // NATS-token safe: lowercase [a-z0-9_-]
	Name     string // for people: "King County, WA"
	Geometry orb.MultiPolygon
	Bound    orb.Bound
	// Geocode is the CAP geocode that names exactly this region ("SAME"
	// 053033 for a county of a fips source), empty when its source has
	// none. Maps offer it for picking whole regions.
	Geocode Geocode

	polys []*ppoly
}

func newRegion(id, name string, mp orb.MultiPolygon) *Region {
	g := &Region{ID: id, Name: name, Geometry: mp, Bound: mp.Bound()}
	for _, p := range mp {
		if pp := preparePolygon(p); len(pp.edges) > 0 { // simplification collapses some islands
			g.polys = append(g.polys, pp)
		}
	}
	return g
}

// contains reports whether p is inside the region or on its boundary.
func (g *Region) contains(p orb.Point) bool {
	for _, pp := range g.polys {
		if pp.locate(p) != outside {
			return true
		}
	}
	return false
}

// Registry holds the regions of the configured sources. Apart from
// MaxVertices it is immutable after Load, and it is safe for concurrent use.
type Registry struct {
	// MaxVertices limits the vertices of an Area that Compile accepts; zero
	// means DefaultMaxVertices. Set it before sharing the Registry.
	MaxVertices int

	regions  []*Region // sorted by id; the grid refers to them by index
	byID     map[string]*Region
	geocodes map[string]map[string][]*Region // geocode kind -> lowercase id value -> regions
	grid     map[[2]int32][]int32
}

// regionCellDeg is the cell size of the grid over region bounds: about a
// county, so a point meets a handful of candidates.
const regionCellDeg = 0.5

func regionCell(p orb.Point) [2]int32 {
	return [2]int32{int32(math.Floor(p[0] / regionCellDeg)), int32(math.Floor(p[1] / regionCellDeg))}
}

// Load reads the regions of sources. Region ids must be unique across all
// sources. Errors are *LoadError naming the file and feature.
func Load(sources []Source) (*Registry, error) {
	r := &Registry{
		byID:     make(map[string]*Region),
		geocodes: make(map[string]map[string][]*Region),
		grid:     make(map[[2]int32][]int32),
	}
	type origin struct {
		file    string
		feature int
	}
	first := make(map[string]origin)
	for _, src := range sources {
		if err := src.check(); err != nil {
			return nil, &LoadError{File: src.File, Feature: -1, Err: err}
		}
		data, err := src.read()
		if err != nil {
			return nil, &LoadError{File: src.File, Feature: -1, Err: err}
		}
		regions, err := decodeSource(data, src)
		if err != nil {
			return nil, err
		}
		for i, g := range regions {
			if o, dup := first[g.ID]; dup {
				return nil, &LoadError{File: src.File, Feature: i,
					Err: fmt.Errorf("duplicate region id %q (first in %s feature %d)", g.ID, o.file, o.feature)}
			}
			first[g.ID] = origin{src.File, i}
			r.byID[g.ID] = g
			r.regions = append(r.regions, g)
			if src.Geocode != "" {
				if r.geocodes[src.Geocode] == nil {
					r.geocodes[src.Geocode] = make(map[string][]*Region)
				}
				key := strings.TrimPrefix(g.ID, src.Prefix)
				r.geocodes[src.Geocode][key] = append(r.geocodes[src.Geocode][key], g)
				g.Geocode = geocodeFor(src.Geocode, key)
			}
		}
	}
	sortByID(r.regions)
	for i, g := range r.regions {
		lo, hi := regionCell(g.Bound.Min), regionCell(g.Bound.Max)
		for x := lo[0]; x <= hi[0]; x++ {
			for y := lo[1]; y <= hi[1]; y++ {
				r.grid[[2]int32{x, y}] = append(r.grid[[2]int32{x, y}], int32(i))
			}
		}
	}
	return r, nil
}

// Region returns the region with the given id.
func (r *Registry) Region(id string) (*Region, bool) {
	g, ok := r.byID[id]
	return g, ok
}

// Len returns the number of regions.
func (r *Registry) Len() int { return len(r.regions) }

// Locate returns the regions containing p (boundary included), sorted by
// id.
func (r *Registry) Locate(p orb.Point) []*Region {
	if checkPoint(p) != "" {
		return nil
	}
	var out []*Region
	for _, i := range r.grid[regionCell(p)] { // ascending, so sorted by id
		if g := r.regions[i]; g.Bound.Contains(p) && g.contains(p) {
			out = append(out, g)
		}
	}
	return out
}

// candidates returns, in id order, the regions whose bounds meet b.
func (r *Registry) candidates(b orb.Bound) []*Region {
	lo, hi := regionCell(b.Min), regionCell(b.Max)
	seen := make([]bool, len(r.regions))
	var idx []int32
	for x := lo[0]; x <= hi[0]; x++ {
		for y := lo[1]; y <= hi[1]; y++ {
			for _, i := range r.grid[[2]int32{x, y}] {
				if !seen[i] && r.regions[i].Bound.Intersects(b) {
					seen[i] = true
					idx = append(idx, i)
				}
			}
		}
	}
	slices.Sort(idx)
	out := make([]*Region, len(idx))
	for k, i := range idx {
		out[k] = r.regions[i]
	}
	return out
}

// geocodeKind maps a CAP geocode valueName to the Source.Geocode resolving
// it.
func geocodeKind(name string) string {
	switch strings.ToUpper(name) {
	case "SAME", "FIPS6":
		return geocodeFIPS
	case "UGC":
		return geocodeUGC
	}
	return ""
}

// SupportsGeocode reports whether Geocode resolves geocodes of valueName
// name with the loaded sources. A "fips" source also resolves UGC county
// codes, through the bundled NWS tables.
func (r *Registry) SupportsGeocode(name string) bool {
	switch geocodeKind(name) {
	case geocodeFIPS:
		return r.geocodes[geocodeFIPS] != nil
	case geocodeUGC:
		return r.geocodes[geocodeUGC] != nil || r.geocodes[geocodeFIPS] != nil
	}
	return false
}

// Geocode returns the regions a CAP geocode names, sorted by id.
//
// SAME and FIPS6 values are six digits, a subdivision digit and a county
// FIPS code, and resolve through "fips" sources. County code xx000 (a whole
// state) names every county of state xx. A subdivision digit 1-9 names a
// part of the county: Compile uses the part's own polygon when the NWS
// tables have one, else the whole county; Geocode returns the county.
// States and counties without regions (the freely associated states, say)
// resolve to NWS polygons in Compile and to no region here.
//
// UGC values (e.g. "WAC033", "WAZ558") resolve through "ugc" sources and,
// for counties (xxCnnn), through the NWS UGC-to-SAME table and the "fips"
// sources. Forecast and marine zones (xxZnnn) need a "ugc" source holding
// them.
//
// An unsupported valueName, or a zone without a source for it, gives
// ErrUnsupportedGeocode; a value naming nothing gives ErrUnknownGeocode.
func (r *Registry) Geocode(name, value string) ([]*Region, error) {
	m, err := r.resolveGeocode(name, value)
	if err != nil {
		return nil, err
	}
	return m.named(), nil
}

func (r *Registry) resolveGeocode(name, value string) (geocodeMatch, error) {
	value = strings.TrimSpace(value)
	switch geocodeKind(name) {
	case geocodeFIPS:
		if byKey := r.geocodes[geocodeFIPS]; byKey != nil {
			return resolveSAME(name, value, byKey)
		}
	case geocodeUGC:
		if r.SupportsGeocode(name) {
			return r.resolveUGC(name, value)
		}
	}
	return geocodeMatch{}, fmt.Errorf("%w: %s (no region source resolves it)", ErrUnsupportedGeocode, name)
}

func resolveSAME(name, value string, byKey map[string][]*Region) (geocodeMatch, error) {
	if len(value) != 6 || strings.Trim(value, "0123456789") != "" {
		return geocodeMatch{}, fmt.Errorf("%w: %s %q is not 6 digits", ErrUnknownGeocode, name, value)
	}
	county := value[1:]
	if state, whole := strings.CutSuffix(county, "000"); whole {
		var out []*Region
		for k, regions := range byKey {
			if strings.HasPrefix(k, state) && len(k) == 5 {
				out = append(out, regions...)
			}
		}
		if len(out) > 0 {
			return geocodeMatch{regions: sortByID(out)}, nil
		}
		if m, err := nwsSAME(name, value, byKey); err == nil || !errors.Is(err, ErrUnknownGeocode) {
			return m, err
		}
		return geocodeMatch{}, fmt.Errorf("%w: %s %s (no counties of state %s)", ErrUnknownGeocode, name, value, state)
	}
	if value[0] != '0' {
		// A part of a county: its own polygon if the NWS has one.
		if m, err := nwsSAME(name, value, byKey); err == nil {
			return m, nil
		}
	}
	if regions := byKey[county]; len(regions) > 0 {
		return geocodeMatch{regions: sortByID(slices.Clone(regions))}, nil
	}
	return nwsSAME(name, "0"+county, byKey)
}

// validUGC reports whether v looks like a UGC code: two letters, C (county)
// or Z (zone), three digits.
func validUGC(v string) bool {
	return len(v) == 6 && strings.Trim(v[:2], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" &&
		(v[2] == 'C' || v[2] == 'Z') && strings.Trim(v[3:], "0123456789") == ""
}

func (r *Registry) resolveUGC(name, value string) (geocodeMatch, error) {
	zones := r.geocodes[geocodeUGC]
	if regions := zones[strings.ToLower(value)]; len(regions) > 0 {
		return geocodeMatch{regions: sortByID(slices.Clone(regions))}, nil
	}
	upper := strings.ToUpper(value)
	counties := r.geocodes[geocodeFIPS]
	switch {
	case !validUGC(upper):
		return geocodeMatch{}, fmt.Errorf("%w: %s %q is not a UGC code (two letters, C or Z, three digits)", ErrUnknownGeocode, name, value)
	case upper[2] == 'Z' && zones == nil:
		return geocodeMatch{}, fmt.Errorf("%w: %s %s is an NWS zone, and no region source holds zones (add one with geocode %q)",
			ErrUnsupportedGeocode, name, value, geocodeUGC)
	case upper[2] == 'Z' || counties == nil:
		return geocodeMatch{}, fmt.Errorf("%w: %s %s", ErrUnknownGeocode, name, value)
	}
	t, err := loadNWS()
	if err != nil {
		return geocodeMatch{}, err
	}
	same, ok := t.ugcToSAME[upper]
	if !ok {
		return geocodeMatch{}, fmt.Errorf("%w: %s %s (not in the NWS county table)", ErrUnknownGeocode, name, value)
	}
	m, err := resolveSAME("SAME", same, counties)
	if err != nil {
		return geocodeMatch{}, fmt.Errorf("%s %s: %w", name, value, err)
	}
	return m, nil
}

func sortByID(regions []*Region) []*Region {
	slices.SortFunc(regions, func(a, b *Region) int { return strings.Compare(a.ID, b.ID) })
	return regions
}
