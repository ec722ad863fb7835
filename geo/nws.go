package geo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"strings"
	"sync"
)

//go:embed data/nws_same_to_ugc.tsv.gz data/nws_same_areas.geojson.gz data/nws_ugc_extra.geojson.gz
var nwsData embed.FS

// nwsTables are the NWS tables that resolve, for registries with a "fips"
// source, the geocodes that are not plain counties: UGC county codes (by
// way of their SAME code), SAME codes for states and parts of counties
// (which have polygons of their own), and UGC counties missing from the
// bundled counties (also with polygons). See data/README.md.
type nwsTables struct {
	ugcToSAME map[string]string   // "WAC033" -> "053033", "PZZ110" -> "057110"
	sameToUGC map[string]string   // the reverse
	sameAreas map[string][]*ppoly // by SAME code
	ugcAreas  map[string][]*ppoly // by UGC code
}

var loadNWS = sync.OnceValues(func() (*nwsTables, error) {
	t := &nwsTables{ugcToSAME: make(map[string]string), sameToUGC: make(map[string]string)}
	tsv, err := gunzipFile(nwsData, "data/nws_same_to_ugc.tsv.gz")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(tsv))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 2 || f[0] == "SAME" || f[1] == "" {
			continue
		}
		t.ugcToSAME[f[1]], t.sameToUGC[f[0]] = f[0], f[1]
	}
	if t.sameAreas, err = nwsAreas("data/nws_same_areas.geojson.gz", "SAME"); err != nil {
		return nil, err
	}
	if t.ugcAreas, err = nwsAreas("data/nws_ugc_extra.geojson.gz", "UGC"); err != nil {
		return nil, err
	}
	return t, nil
})

func gunzipFile(fsys embed.FS, name string) ([]byte, error) {
	data, err := fsys.ReadFile(name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("geo: %s: %w", name, err)
	}
	return io.ReadAll(zr)
}

func nwsAreas(name, key string) (map[string][]*ppoly, error) {
	data, err := gunzipFile(nwsData, name)
	if err != nil {
		return nil, err
	}
	regions, err := decodeSource(data, Source{File: name, IDProperty: key})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]*ppoly, len(regions))
	for _, g := range regions {
		out[strings.ToUpper(g.ID)] = g.polys
	}
	return out, nil
}

// geocodeMatch is what a geocode names: regions whose whole area it covers,
// or polygons of the NWS tables with the regions (counties) they are part
// of.
type geocodeMatch struct {
	regions []*Region // whole regions: named and in the area
	areas   []*ppoly  // polygons in the area
	within  []*Region // regions the polygons are part of, named
}

func (m geocodeMatch) named() []*Region {
	out := append(append([]*Region(nil), m.regions...), m.within...)
	return sortByID(out)
}

// nwsSAME resolves a SAME code (6 digits, checked) that names no region of
// the fips source byKey through the NWS tables.
func nwsSAME(name, value string, byKey map[string][]*Region) (geocodeMatch, error) {
	t, err := loadNWS()
	if err != nil {
		return geocodeMatch{}, err
	}
	if areas := t.sameAreas[value]; len(areas) > 0 {
		// A state or territory, or a part of a county.
		m := geocodeMatch{areas: areas}
		if value[0] != '0' {
			m.within = byKey[value[1:]]
		}
		return m, nil
	}
	ugc := t.sameToUGC[value]
	switch {
	case len(ugc) == 6 && ugc[2] == 'Z':
		return geocodeMatch{}, fmt.Errorf("%w: %s %s is NWS marine zone %s, and no region source holds zones", ErrUnsupportedGeocode, name, value, ugc)
	case len(t.ugcAreas[ugc]) > 0:
		return geocodeMatch{areas: t.ugcAreas[ugc]}, nil
	}
	return geocodeMatch{}, fmt.Errorf("%w: %s %s", ErrUnknownGeocode, name, value)
}
