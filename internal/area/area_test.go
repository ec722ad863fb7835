package area

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/geo"
)

// loadCounties loads the bundled US counties once per test binary.
var loadCounties = sync.OnceValues(func() (*geo.Registry, error) { return geo.Load(geo.DefaultSources()) })

func counties(t testing.TB) *geo.Registry {
	t.Helper()
	reg, err := loadCounties()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

const (
	king   = "us-county-53033" // King County, WA
	pierce = "us-county-53053" // Pierce County, WA, King's southern neighbour

	// A small square in Seattle (lat,lon as CAP writes it), well inside King County.
	seattle = "47.54,-122.32 47.54,-122.30 47.56,-122.30 47.56,-122.32 47.54,-122.32"
	// A box astride the King-Pierce line near Auburn and Sumner.
	auburnSumner = "47.20,-122.26 47.20,-122.16 47.35,-122.16 47.35,-122.26 47.20,-122.26"
	notClosed    = "47.54,-122.32 47.54,-122.30 47.56,-122.30 47.56,-122.32"
	bowTie       = "47.54,-122.32 47.56,-122.30 47.54,-122.30 47.56,-122.32 47.54,-122.32"
)

func polygon(s string) cap.Area { return cap.Area{AreaDesc: "polygon", Polygon: []string{s}} }
func circle(s string) cap.Area  { return cap.Area{AreaDesc: "circle", Circle: []string{s}} }
func geocode(name, value string) cap.Area {
	return cap.Area{AreaDesc: "geocode", Geocode: []cap.NamedValue{{ValueName: name, Value: value}}}
}

// alert builds an alert with one info per list of areas.
func alert(infos ...[]cap.Area) *cap.Alert {
	a := &cap.Alert{Identifier: "x", Sender: "s", Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: cap.ScopePublic}
	for _, areas := range infos {
		a.Info = append(a.Info, cap.Info{Event: "e", Area: areas})
	}
	return a
}

func areas(list ...cap.Area) []cap.Area { return list }

func TestResolve(t *testing.T) {
	reg := counties(t)
	type problem struct{ path, message string } // message: a substring
	tests := []struct {
		name     string
		alert    *cap.Alert
		regions  []string
		problems []problem
		err      error
	}{
		{name: "polygon inside King County", alert: alert(areas(polygon(seattle))), regions: []string{king}},
		{name: "circle inside King County", alert: alert(areas(circle("47.55,-122.31 1"))), regions: []string{king}},
		{name: "polygon across two counties", alert: alert(areas(polygon(auburnSumner))), regions: []string{king, pierce}},
		{name: "SAME geocode", alert: alert(areas(geocode("SAME", "053033"))), regions: []string{king}},
		{name: "FIPS6 geocode", alert: alert(areas(geocode("FIPS6", "053033"))), regions: []string{king}},
		{name: "SAME subdivision of a county", alert: alert(areas(geocode("SAME", "353033"))), regions: []string{king}},
		{name: "areas of every info are joined", alert: alert(areas(polygon(seattle)), areas(geocode("SAME", "053053"))), regions: []string{king, pierce}},
		{name: "same area in two languages counts once", alert: alert(areas(polygon(seattle)), areas(polygon(seattle))), regions: []string{king}},
		{name: "unsupported geocode beside a polygon is ignored", alert: alert(areas(polygon(seattle), geocode("profile:CAP-CP:Location:0.3", "3537064"))), regions: []string{king}},
		{
			name:     "unknown SAME code",
			alert:    alert(areas(geocode("SAME", "053999"))),
			problems: []problem{{"alert/info[0]/area[0]/geocode[0]", "053999"}},
		},
		{
			name:     "SAME code not six digits",
			alert:    alert(areas(geocode("SAME", "53033"))),
			problems: []problem{{"alert/info[0]/area[0]/geocode[0]", "not 6 digits"}},
		},
		{
			name:     "polygon not closed",
			alert:    alert(areas(polygon(notClosed))),
			problems: []problem{{"alert/info[0]/area[0]/polygon[0]", "not closed"}},
		},
		{
			name: "bow-tie polygon at its own path",
			alert: alert(
				areas(polygon(seattle)),
				areas(polygon(seattle), cap.Area{AreaDesc: "two", Polygon: []string{seattle, bowTie}}),
			),
			problems: []problem{{"alert/info[1]/area[1]/polygon[1]", ""}},
		},
		{
			name:     "negative circle radius",
			alert:    alert(areas(circle("47.55,-122.31 -1"))),
			problems: []problem{{"alert/info[0]/area[0]/circle[0]", "radius"}},
		},
		{
			name:  "every problem reported",
			alert: alert(areas(polygon(notClosed), geocode("SAME", "053999")), areas(polygon(seattle), circle("95,0 1"))),
			problems: []problem{
				{"alert/info[0]/area[0]/polygon[0]", "not closed"},
				{"alert/info[0]/area[1]/geocode[0]", "053999"},
				{"alert/info[1]/area[1]/circle[0]", "latitude"},
			},
		},
		{name: "no info", alert: alert(), err: ErrNoArea},
		{name: "info without area", alert: alert(nil, nil), err: ErrNoArea},
		{
			name:     "unsupported geocode alone",
			alert:    alert(areas(geocode("profile:CAP-CP:Location:0.3", "3537064"))),
			problems: []problem{{"alert/info[0]/area[0]", "cannot place"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, probs, err := Resolve(reg, tc.alert)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Resolve error = %v, want %v", err, tc.err)
			}
			if len(probs) != len(tc.problems) {
				t.Fatalf("problems = %v, want %d: %v", probs, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if probs[i].Path != want.path || !strings.Contains(probs[i].Message, want.message) || probs[i].Message == "" {
					t.Errorf("problem %d = %v, want %s: ...%s...", i, probs[i], want.path, want.message)
				}
			}
			if tc.regions == nil {
				if res != nil {
					t.Errorf("Resolve returned an area %v with its problems or error", res.RegionIDs())
				}
				return
			}
			if res == nil || res.Shape == nil {
				t.Fatalf("Resolve returned no area")
			}
			if got := res.RegionIDs(); !slices.Equal(got, tc.regions) {
				t.Errorf("regions = %v, want %v", got, tc.regions)
			}
		})
	}
}
