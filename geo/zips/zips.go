// Package zips looks up the centroid of a US ZIP code, so that a resident who
// gives only a ZIP (for example by texting "JOIN 98101") can be placed on the
// map.
//
// The table is bundled: the Census 2021 ZIP Code Tabulation Area (ZCTA)
// centroids in data/ (see data/README.md for the source and licence). A ZCTA
// approximates the area a ZIP code delivers to, so its centroid is good enough
// to pick a resident's county, not their street. ZIP codes without a ZCTA (PO
// boxes, single large buildings, military mail) are not in the table and are
// reported as unknown.
//
// The package does not geocode addresses, tell whether a ZIP is still in
// service, or map ZIPs to regions (geo does that with the point). It imports
// only the standard library and orb.
package zips

import (
	"bytes"
	"cmp"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/paulmach/orb"
)

//go:embed data/us_zip_centroids.csv.gz
var bundled []byte

// Table maps 5-digit ZIP codes to their centroids. It is read-only once
// built, so it is safe for concurrent use.
type Table struct {
	rows []row // sorted by zip: binary search keeps the table compact
}

type row struct {
	zip uint32
	pt  orb.Point
}

// load parses the bundled table once per process: it never changes, and
// every caller can share the result.
var load = sync.OnceValues(parseBundled)

func parseBundled() (*Table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bundled))
	if err != nil {
		return nil, fmt.Errorf("zips: bundled table: %w", err)
	}
	t, err := parse(zr)
	if err != nil {
		return nil, fmt.Errorf("zips: bundled table: %w", err)
	}
	return t, nil
}

// Load returns the bundled ZIP centroid table. The first call parses it (a
// few milliseconds); later calls return the same Table.
func Load() (*Table, error) { return load() }

// Len reports how many ZIP codes the table holds.
func (t *Table) Len() int { return len(t.rows) }

// Lookup returns the centroid of zip as an orb point (lon, lat). zip is five
// ASCII digits, optionally followed by "-" and the four digits of a ZIP+4,
// which are ignored because the table is per 5-digit ZIP. ok is false when
// zip is malformed or not in the table.
func (t *Table) Lookup(zip string) (p orb.Point, ok bool) {
	z, ok := parseZIP(zip)
	if !ok {
		return orb.Point{}, false
	}
	i, found := slices.BinarySearchFunc(t.rows, z, func(r row, z uint32) int { return cmp.Compare(r.zip, z) })
	if !found {
		return orb.Point{}, false
	}
	return t.rows[i].pt, true
}

// parseZIP accepts "12345" and "12345-6789" and returns 12345.
func parseZIP(s string) (uint32, bool) {
	switch {
	case len(s) == 5:
	case len(s) == 10 && s[5] == '-' && digits(s[6:]):
	default:
		return 0, false
	}
	if !digits(s[:5]) {
		return 0, false
	}
	var z uint32
	for _, c := range []byte(s[:5]) {
		z = z*10 + uint32(c-'0')
	}
	return z, true
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parse reads a "zip,lat,lon" CSV. It refuses the whole table on the first
// bad row: the data is bundled, so a bad row is a packaging mistake that a
// test should catch, not something to skip at run time.
func parse(r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if head[0] != "zip" || head[1] != "lat" || head[2] != "lon" {
		return nil, fmt.Errorf("header %q: want zip,lat,lon", head)
	}
	t := &Table{rows: make([]row, 0, 34_000)}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // a *csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		rw, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		t.rows = append(t.rows, rw)
	}
	slices.SortFunc(t.rows, func(a, b row) int { return cmp.Compare(a.zip, b.zip) })
	for i := 1; i < len(t.rows); i++ {
		if t.rows[i].zip == t.rows[i-1].zip {
			return nil, fmt.Errorf("zip %05d: listed twice", t.rows[i].zip)
		}
	}
	return t, nil
}

func parseRow(rec []string) (row, error) {
	z, ok := parseZIP(rec[0])
	if !ok || len(rec[0]) != 5 {
		return row{}, fmt.Errorf("zip %q: want 5 digits", rec[0])
	}
	lat, err := parseDegrees(rec[1], 90)
	if err != nil {
		return row{}, fmt.Errorf("zip %s: lat: %w", rec[0], err)
	}
	lon, err := parseDegrees(rec[2], 180)
	if err != nil {
		return row{}, fmt.Errorf("zip %s: lon: %w", rec[0], err)
	}
	return row{zip: z, pt: orb.Point{lon, lat}}, nil
}

func parseDegrees(s string, limit float64) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || v < -limit || v > limit {
		return 0, fmt.Errorf("%s: outside ±%g", s, limit)
	}
	return v, nil
}
