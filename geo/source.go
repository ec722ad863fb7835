package geo

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/paulmach/orb"
)

// BuiltinUSCounties names the bundled US counties in Source.File.
const BuiltinUSCounties = "builtin:us_counties"

//go:embed data/us_counties.geojson.gz
var builtinData embed.FS

var builtinFiles = map[string]string{BuiltinUSCounties: "data/us_counties.geojson.gz"}

// Source is one configured GeoJSON region source (config key `regions`).
type Source struct {
	// File is the path of a GeoJSON FeatureCollection of Polygon and
	// MultiPolygon features (gzip-compressed if it ends in ".gz"), or
	// BuiltinUSCounties.
	File string
	// IDProperty is the feature property holding the region id. "id" means
	// the feature's top-level id when the feature has no such property.
	IDProperty string
	// NameProperty is the feature property holding the region's display
	// name; regions without it are named by their id.
	NameProperty string
	// Prefix is prepended to the lowercased id value to make the region id.
	Prefix string
	// Geocode names the CAP geocodes that resolve to this source: "" (none),
	// "fips" (SAME and FIPS6; and UGC counties, through the NWS tables) or
	// "ugc" (UGC, for instance NWS forecast zones).
	Geocode string
}

// DefaultSources returns the bundled US counties, with ids such as
// "us-county-53033" resolving SAME and FIPS6 geocodes, and UGC county codes
// through the bundled NWS tables.
func DefaultSources() []Source {
	return []Source{{File: BuiltinUSCounties, IDProperty: "fips", NameProperty: "name", Prefix: "us-county-", Geocode: "fips"}}
}

// LoadError reports a region source that could not be loaded.
type LoadError struct {
	File    string
	Feature int // index of the offending feature, -1 if the source as a whole is at fault
	Err     error
}

func (e *LoadError) Error() string {
	if e.Feature < 0 {
		return fmt.Sprintf("geo: regions %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("geo: regions %s: feature %d: %v", e.File, e.Feature, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

func (s Source) check() error {
	if s.File == "" {
		return errors.New("no file")
	}
	if s.IDProperty == "" {
		return errors.New("no id property")
	}
	switch s.Geocode {
	case "", geocodeFIPS, geocodeUGC:
	default:
		return fmt.Errorf("geocode %q: want %q, %q or none", s.Geocode, geocodeFIPS, geocodeUGC)
	}
	if s.Prefix != "" && !tokenSafe(s.Prefix) {
		return fmt.Errorf("prefix %q is not NATS-token safe (want lowercase a-z, 0-9, _ and -)", s.Prefix)
	}
	return nil
}

// read returns the source's GeoJSON, decompressed.
func (s Source) read() ([]byte, error) {
	var (
		path = s.File
		data []byte
		err  error
	)
	if name, ok := strings.CutPrefix(s.File, "builtin:"); ok {
		if path, ok = builtinFiles[s.File]; !ok {
			return nil, fmt.Errorf("unknown builtin %q (have %s)", name, BuiltinUSCounties)
		}
		data, err = builtinData.ReadFile(path)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err == nil {
		data, err = io.ReadAll(zr)
	}
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	return data, nil
}

type rawFeature struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Properties map[string]json.RawMessage `json:"properties"`
	Geometry   *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// decodeSource turns a GeoJSON FeatureCollection into one region per
// feature, in feature order. Errors are *LoadError naming the feature.
func decodeSource(data []byte, src Source) ([]*Region, error) {
	fail := func(feature int, err error) error { return &LoadError{File: src.File, Feature: feature, Err: err} }
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, fail(-1, fmt.Errorf("invalid GeoJSON: %w", err))
	}
	if fc.Type != "FeatureCollection" {
		return nil, fail(-1, fmt.Errorf("GeoJSON type %q, want FeatureCollection", fc.Type))
	}
	regions := make([]*Region, 0, len(fc.Features))
	for i, raw := range fc.Features {
		g, err := decodeFeature(raw, src)
		if err != nil {
			return nil, fail(i, err)
		}
		regions = append(regions, g)
	}
	return regions, nil
}

func decodeFeature(raw json.RawMessage, src Source) (*Region, error) {
	var f rawFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("invalid feature: %w", err)
	}
	if f.Type != "Feature" {
		return nil, fmt.Errorf("type %q, want Feature", f.Type)
	}
	idRaw, ok := f.Properties[src.IDProperty]
	if !ok && src.IDProperty == "id" {
		idRaw = f.ID
	}
	idValue, err := scalar(idRaw)
	if err != nil || idValue == "" {
		return nil, fmt.Errorf("no id: property %q must be a non-empty string or number", src.IDProperty)
	}
	id := src.Prefix + strings.ToLower(idValue)
	if !tokenSafe(id) {
		return nil, fmt.Errorf("id %q is not NATS-token safe (want lowercase a-z, 0-9, _ and -)", id)
	}
	name := id
	if raw, ok := f.Properties[src.NameProperty]; ok {
		if n, err := scalar(raw); err == nil && n != "" {
			name = n
		}
	}
	if src.File == BuiltinUSCounties {
		state, _ := scalar(f.Properties["state_abbr"])
		name = countyName(name, state, idValue)
	}
	if f.Geometry == nil {
		return nil, fmt.Errorf("region %s: no geometry", id)
	}
	mp, err := decodePolygons(f.Geometry.Type, f.Geometry.Coordinates)
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", id, err)
	}
	return newRegion(id, name, mp), nil
}

// scalar returns a JSON string's value or a JSON number's literal text.
func scalar(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", errors.New("not a string or number")
}

func decodePolygons(typ string, coords json.RawMessage) (orb.MultiPolygon, error) {
	var polys [][][][]float64
	switch typ {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(coords, &p); err != nil {
			return nil, fmt.Errorf("Polygon coordinates: %w", err)
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(coords, &polys); err != nil {
			return nil, fmt.Errorf("MultiPolygon coordinates: %w", err)
		}
	default:
		return nil, fmt.Errorf("geometry type %q, want Polygon or MultiPolygon", typ)
	}
	if len(polys) == 0 {
		return nil, errors.New("no polygons")
	}
	mp := make(orb.MultiPolygon, len(polys))
	for i, p := range polys {
		if len(p) == 0 {
			return nil, fmt.Errorf("polygon %d has no rings", i)
		}
		mp[i] = make(orb.Polygon, len(p))
		for k, r := range p {
			ring := make(orb.Ring, len(r))
			for j, pos := range r {
				if len(pos) < 2 {
					return nil, fmt.Errorf("polygon %d ring %d: position %d has %d numbers, want 2", i, k, j, len(pos))
				}
				ring[j] = orb.Point{pos[0], pos[1]}
			}
			if err := checkRegionRing(ring); err != nil {
				return nil, fmt.Errorf("polygon %d ring %d: %w", i, k, err)
			}
			mp[i][k] = ring
		}
	}
	return mp, nil
}

// checkRegionRing accepts what the queries need: a closed ring of valid
// coordinates that does not jump across the antimeridian. It does not check
// for self-intersections, which simplified boundary data often has.
func checkRegionRing(r orb.Ring) error {
	if len(r) < 4 {
		return fmt.Errorf("%d points, want at least 4", len(r))
	}
	if r[0] != r[len(r)-1] {
		return errors.New("not closed")
	}
	for j, p := range r {
		if reason := checkPoint(p); reason != "" {
			return fmt.Errorf("point %d: %s", j, reason)
		}
		if j > 0 && math.Abs(p[0]-r[j-1][0]) > 180 {
			return fmt.Errorf("crosses the antimeridian at point %d; split it at ±180°", j)
		}
	}
	return nil
}

// tokenSafe reports whether s is a non-empty lowercase NATS subject token.
func tokenSafe(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// countyName gives a bundled county its usual name: "King County, WA",
// "Orleans Parish, LA", "Richmond city, VA", "Juneau, AK".
func countyName(name, state, fips string) string {
	if state == "" {
		return name
	}
	suffix := " County"
	switch state {
	case "LA":
		suffix = " Parish"
	case "AK", "DC", "PR", "AS", "GU", "MP", "VI": // boroughs, municipios, islands...
		suffix = ""
	}
	switch {
	case fips == "32510": // Carson City
		suffix = ""
	case fips == "24510" || fips == "29510" || strings.HasPrefix(fips, "51") && fips[2:] >= "500":
		suffix = " city" // independent cities: Baltimore, St. Louis and Virginia's
	}
	return name + suffix + ", " + state
}
