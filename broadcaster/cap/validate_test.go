package cap

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// validAlert returns a fresh alert that passes every rule, for the rule
// table to break one rule at a time.
func validAlert() *Alert {
	return &Alert{
		Identifier: "ID-1",
		Sender:     "s@herald.example",
		Sent:       "2026-11-25T10:00:00-08:00",
		Status:     "Actual",
		MsgType:    "Alert",
		Scope:      "Public",
		Info: []Info{{
			Language:     "en-US",
			Category:     []string{"Health"},
			Event:        "Boil Water Advisory",
			ResponseType: []string{"Prepare"},
			Urgency:      "Immediate",
			Severity:     "Severe",
			Certainty:    "Observed",
			EventCode:    []NamedValue{{ValueName: "HERALD", Value: "BWA"}},
			Effective:    "2026-11-25T10:00:00-08:00",
			Onset:        "2026-11-25T09:00:00-08:00",
			Expires:      "2026-11-28T10:00:00-08:00",
			Parameter:    []NamedValue{{ValueName: "source", Value: "lab"}},
			Resource:     []Resource{{ResourceDesc: "map", MimeType: "image/png", Size: "1024"}},
			Area: []Area{{
				AreaDesc: "Renton",
				Polygon:  []string{"47.53,-122.26 47.53,-122.14 47.41,-122.19 47.53,-122.26"},
				Circle:   []string{"47.48,-122.20 2.5"},
				Geocode:  []NamedValue{{ValueName: "SAME", Value: "053033"}},
				Altitude: "0",
				Ceiling:  "100.5",
			}},
		}},
	}
}

func TestValidAlertHasNoProblems(t *testing.T) {
	if ps := validAlert().Validate(); ps != nil {
		t.Fatalf("Validate: %v", ps)
	}
	if err := validAlert().Validate().Err(); err != nil {
		t.Fatalf("Err() = %v, want nil", err)
	}
}

func TestValidateRules(t *testing.T) {
	info := func(f func(*Info)) func(*Alert) { return func(a *Alert) { f(&a.Info[0]) } }
	area := func(f func(*Area)) func(*Alert) { return func(a *Alert) { f(&a.Info[0].Area[0]) } }
	tests := []struct {
		name     string
		mutate   func(*Alert)
		path     string
		fragment string
	}{
		{"identifier required", func(a *Alert) { a.Identifier = "" }, "alert/identifier", "required"},
		{"identifier without spaces", func(a *Alert) { a.Identifier = "ID 1" }, "alert/identifier", "must not contain spaces"},
		{"identifier without commas", func(a *Alert) { a.Identifier = "ID,1" }, "alert/identifier", "commas"},
		{"identifier without <", func(a *Alert) { a.Identifier = "ID<1" }, "alert/identifier", "<"},
		{"identifier without &", func(a *Alert) { a.Identifier = "ID&1" }, "alert/identifier", "&"},
		{"sender required", func(a *Alert) { a.Sender = "" }, "alert/sender", "required"},
		{"sender without spaces", func(a *Alert) { a.Sender = "Public Health" }, "alert/sender", "spaces"},
		{"sent required", func(a *Alert) { a.Sent = "" }, "alert/sent", "required"},
		{"sent not in Z (UTC)", func(a *Alert) { a.Sent = "2026-11-25T18:00:00Z" }, "alert/sent", "+00:00"},
		{"sent has an offset", func(a *Alert) { a.Sent = "2026-11-25T10:00:00" }, "alert/sent", "no offset"},
		{"sent without fractional seconds", func(a *Alert) { a.Sent = "2026-11-25T10:00:00.5-08:00" }, "alert/sent", "YYYY-MM-DDThh:mm:ss±hh:mm"},
		{"sent is a real date", func(a *Alert) { a.Sent = "2026-02-30T10:00:00-08:00" }, "alert/sent", "YYYY-MM-DD"},
		{"status required", func(a *Alert) { a.Status = "" }, "alert/status", "required"},
		{"status enumeration", func(a *Alert) { a.Status = "actual" }, "alert/status", `"actual" is not one of Actual, Exercise, System, Test, Draft`},
		{"msgType enumeration", func(a *Alert) { a.MsgType = "Notice" }, "alert/msgType", "Alert, Update, Cancel, Ack, Error"},
		{"scope required", func(a *Alert) { a.Scope = "" }, "alert/scope", "required"},
		{"scope enumeration", func(a *Alert) { a.Scope = "Everyone" }, "alert/scope", "Public, Restricted, Private"},
		{"restriction for Restricted", func(a *Alert) { a.Scope = "Restricted" }, "alert/restriction", "required when scope is Restricted"},
		{"addresses for Private", func(a *Alert) { a.Scope = "Private" }, "alert/addresses", "required when scope is Private"},
		{"references for Update", func(a *Alert) { a.MsgType = "Update" }, "alert/references", "required when msgType is Update"},
		{"references for Cancel", func(a *Alert) { a.MsgType = "Cancel" }, "alert/references", "required when msgType is Cancel"},
		{"references for Ack", func(a *Alert) { a.MsgType = "Ack" }, "alert/references", "required when msgType is Ack"},
		{"references for Error", func(a *Alert) { a.MsgType = "Error" }, "alert/references", "required when msgType is Error"},
		{"references are triples", func(a *Alert) { a.MsgType, a.References = "Cancel", "s@herald.example,ID-0" }, "alert/references", "not sender,identifier,sent"},
		{"references have a CAP sent", func(a *Alert) {
			a.MsgType, a.References = "Cancel", "s@herald.example,ID-0,2026-11-25T10:00:00-08:00 s@herald.example,ID-00,2026-11-25"
		}, "alert/references", "reference 1"},
		{"language tag", info(func(i *Info) { i.Language = "en_US" }), "alert/info[0]/language", "not a language tag"},
		{"HAN type", info(func(i *Info) { i.Parameter = []NamedValue{{ValueName: HANParameter, Value: "Health Warning"}} }), "alert/info[0]/parameter[0]/value", "not a HAN type"},
		{"category required", info(func(i *Info) { i.Category = nil }), "alert/info[0]/category", "at least one category"},
		{"category enumeration", info(func(i *Info) { i.Category = []string{"Health", "Medical"} }), "alert/info[0]/category[1]", "Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other"},
		{"event required", info(func(i *Info) { i.Event = "" }), "alert/info[0]/event", "required"},
		{"responseType enumeration", info(func(i *Info) { i.ResponseType = []string{"Shelter", "Run"} }), "alert/info[0]/responseType[1]", "Shelter, Evacuate, Prepare, Execute, Avoid, Monitor, Assess, AllClear, None"},
		{"urgency required", info(func(i *Info) { i.Urgency = "" }), "alert/info[0]/urgency", "required"},
		{"urgency enumeration", info(func(i *Info) { i.Urgency = "Now" }), "alert/info[0]/urgency", "Immediate, Expected, Future, Past, Unknown"},
		{"severity required", info(func(i *Info) { i.Severity = "" }), "alert/info[0]/severity", "required"},
		{"severity enumeration", info(func(i *Info) { i.Severity = "Sever" }), "alert/info[0]/severity", "Extreme, Severe, Moderate, Minor, Unknown"},
		{"certainty required", info(func(i *Info) { i.Certainty = "" }), "alert/info[0]/certainty", "required"},
		{"certainty enumeration", info(func(i *Info) { i.Certainty = "Very likely" }), "alert/info[0]/certainty", "Observed, Likely, Possible, Unlikely, Unknown"},
		{"effective is a CAP time", info(func(i *Info) { i.Effective = "tomorrow" }), "alert/info[0]/effective", "YYYY-MM-DD"},
		{"onset is a CAP time", info(func(i *Info) { i.Onset = "2026-11-25T09:00:00Z" }), "alert/info[0]/onset", `"Z"`},
		{"expires is a CAP time", info(func(i *Info) { i.Expires = "2026-11-28" }), "alert/info[0]/expires", "YYYY-MM-DD"},
		{"expires not before effective", info(func(i *Info) { i.Expires = "2026-11-25T09:59:59-08:00" }), "alert/info[0]/expires", "before effective"},
		{"expires not before sent", info(func(i *Info) { i.Effective, i.Expires = "", "2026-11-25T17:59:59-00:00" }), "alert/info[0]/expires", "before sent"},
		{"eventCode valueName required", info(func(i *Info) { i.EventCode = append(i.EventCode, NamedValue{Value: "X"}) }), "alert/info[0]/eventCode[1]/valueName", "required"},
		{"parameter valueName required", info(func(i *Info) { i.Parameter[0].ValueName = "" }), "alert/info[0]/parameter[0]/valueName", "required"},
		{"resourceDesc required", info(func(i *Info) { i.Resource[0].ResourceDesc = "" }), "alert/info[0]/resource[0]/resourceDesc", "required"},
		{"mimeType required", info(func(i *Info) { i.Resource[0].MimeType = "" }), "alert/info[0]/resource[0]/mimeType", "required"},
		{"size in bytes", info(func(i *Info) { i.Resource[0].Size = "1.5kB" }), "alert/info[0]/resource[0]/size", "whole number"},
		{"areaDesc required", area(func(a *Area) { a.AreaDesc = "" }), "alert/info[0]/area[0]/areaDesc", "required"},
		{"polygon closed", area(func(a *Area) { a.Polygon[0] = "47.53,-122.26 47.53,-122.14 47.41,-122.19 47.50,-122.26" }), "alert/info[0]/area[0]/polygon[0]", "polygon is not closed"},
		{"polygon of 4 points", area(func(a *Area) { a.Polygon[0] = "47.53,-122.26 47.53,-122.14 47.53,-122.26" }), "alert/info[0]/area[0]/polygon[0]", "at least 4"},
		{"polygon empty", area(func(a *Area) { a.Polygon[0] = "" }), "alert/info[0]/area[0]/polygon[0]", "0 points"},
		{"polygon latitude range", area(func(a *Area) { a.Polygon[0] = "47.5,-122.2 90.5,-122.1 47.4,-122.1 47.5,-122.2" }), "alert/info[0]/area[0]/polygon[0]", "point 1: latitude \"90.5\""},
		{"polygon longitude range", area(func(a *Area) { a.Polygon[0] = "47.5,-122.2 47.5,-180.01 47.4,-122.1 47.5,-122.2" }), "alert/info[0]/area[0]/polygon[0]", "longitude"},
		{"polygon numbers finite", area(func(a *Area) { a.Polygon[0] = "47.5,-122.2 NaN,-122.1 47.4,-122.1 47.5,-122.2" }), "alert/info[0]/area[0]/polygon[0]", "latitude \"NaN\""},
		{"polygon lat,lon pairs", area(func(a *Area) { a.Polygon[0] = "47.5 -122.2 47.5 -122.1 47.4 -122.1 47.5 -122.2" }), "alert/info[0]/area[0]/polygon[0]", "not a lat,lon pair"},
		{"polygon path in a later info and area", func(a *Alert) {
			a.Info = append(a.Info, a.Info[0])
			a.Info[1].Area = []Area{a.Info[0].Area[0], {AreaDesc: "x", Polygon: []string{"1,1 2,2 3,3 4,4"}}}
		}, "alert/info[1]/area[1]/polygon[0]", "polygon is not closed"},
		{"circle radius not negative", area(func(a *Area) { a.Circle[0] = "47.48,-122.20 -1" }), "alert/info[0]/area[0]/circle[0]", "radius"},
		{"circle centre in range", area(func(a *Area) { a.Circle[0] = "-91,0 1" }), "alert/info[0]/area[0]/circle[0]", "latitude"},
		{"circle has a radius", area(func(a *Area) { a.Circle[0] = "47.48,-122.20" }), "alert/info[0]/area[0]/circle[0]", "lat,lon radius"},
		{"geocode valueName required", area(func(a *Area) { a.Geocode[0].ValueName = "" }), "alert/info[0]/area[0]/geocode[0]/valueName", "required"},
		{"altitude numeric", area(func(a *Area) { a.Altitude = "high" }), "alert/info[0]/area[0]/altitude", "not a decimal"},
		{"ceiling numeric", area(func(a *Area) { a.Ceiling = "Inf" }), "alert/info[0]/area[0]/ceiling", "not a decimal"},
		{"ceiling requires altitude", area(func(a *Area) { a.Altitude = "" }), "alert/info[0]/area[0]/ceiling", "requires altitude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAlert()
			tt.mutate(a)
			ps := a.Validate()
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
			}
			if ps[0].Path != tt.path || !strings.Contains(ps[0].Message, tt.fragment) {
				t.Errorf("got %v, want path %s and a message containing %q", ps[0], tt.path, tt.fragment)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	a := &Alert{Info: []Info{{}}}
	want := []string{
		"alert/identifier", "alert/sender", "alert/sent", "alert/status", "alert/msgType", "alert/scope",
		"alert/info[0]/category", "alert/info[0]/event", "alert/info[0]/urgency", "alert/info[0]/severity", "alert/info[0]/certainty",
	}
	ps := a.Validate()
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("paths:\n got %v\nwant %v", got, want)
	}
}

func TestProblemsAsError(t *testing.T) {
	ps := Problems{{Path: "alert/identifier", Message: "required"}, {Path: "alert/sent", Message: "required"}}
	err := ps.Err()
	var got Problems
	if !errors.As(err, &got) || len(got) != 2 {
		t.Fatalf("errors.As(%v) = %v", err, got)
	}
	if want := "alert/identifier: required; alert/sent: required"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	b, err := json.Marshal(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"alert/identifier","message":"required"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}
