package zips

import (
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func table(t testing.TB) *Table {
	t.Helper()
	tab, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tab
}

func TestLen(t *testing.T) {
	if got, want := table(t).Len(), 33_791; got != want {
		t.Errorf("Len() = %d, want %d (the row count in data/README.md)", got, want)
	}
}

func TestLoadReturnsSameTable(t *testing.T) {
	if a, b := table(t), table(t); a != b {
		t.Error("Load parsed the table twice")
	}
}

func TestLookupKnown(t *testing.T) {
	tests := []struct {
		name, zip string
		lat, lon  float64
	}{
		{"Seattle downtown", "98101", 47.61, -122.33},
		{"Seattle ZIP+4", "98101-1234", 47.61, -122.33},
		{"New York Chelsea", "10001", 40.75, -74.00},
		{"leading zero, Puerto Rico", "00601", 18.18, -66.75},
		{"American Samoa, south and west of everything", "96799", -14.32, -170.75},
	}
	tab := table(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := tab.Lookup(tt.zip)
			if !ok {
				t.Fatalf("Lookup(%q) not found", tt.zip)
			}
			// orb points are lon, lat: a swap would land Seattle in Antarctica.
			if math.Abs(p.Lat()-tt.lat) > 0.02 || math.Abs(p.Lon()-tt.lon) > 0.02 {
				t.Errorf("Lookup(%q) = lat %v lon %v, want near lat %v lon %v", tt.zip, p.Lat(), p.Lon(), tt.lat, tt.lon)
			}
		})
	}
}

func TestLookupMissing(t *testing.T) {
	tests := []struct{ name, zip string }{
		{"empty", ""},
		{"unassigned", "00000"},
		{"unassigned high", "99999"},
		{"four digits", "9810"},
		{"six digits", "981011"},
		{"nine digits without hyphen", "981011234"},
		{"hyphen without plus four", "98101-"},
		{"short plus four", "98101-12"},
		{"long plus four", "98101-12345"},
		{"space instead of hyphen", "98101 1234"},
		{"letters in plus four", "98101-abcd"},
		{"letters", "abcde"},
		{"surrounding space", " 98101"},
		{"full-width digits", "９８１０１"},
		{"sign", "+9810"},
	}
	tab := table(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, ok := tab.Lookup(tt.zip); ok {
				t.Errorf("Lookup(%q) = %v, true; want not found", tt.zip, p)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, csv string
		want      map[string]orb.Point // nil when parse must fail
		wantErr   string
	}{
		{
			name: "unsorted rows",
			csv:  "zip,lat,lon\n10001,40.75,-73.99\n00601,18.18,-66.74\n",
			want: map[string]orb.Point{"00601": {-66.74, 18.18}, "10001": {-73.99, 40.75}},
		},
		{name: "empty", csv: "", wantErr: "header"},
		{name: "wrong header", csv: "zip,lon,lat\n", wantErr: "want zip,lat,lon"},
		{name: "short zip", csv: "zip,lat,lon\n601,18.18,-66.74\n", wantErr: `line 2: zip "601"`},
		{name: "zip plus four", csv: "zip,lat,lon\n00601-1234,18.18,-66.74\n", wantErr: "want 5 digits"},
		{name: "bad lat", csv: "zip,lat,lon\n00601,north,-66.74\n", wantErr: "zip 00601: lat:"},
		{name: "lat out of range", csv: "zip,lat,lon\n00601,91,-66.74\n", wantErr: "outside ±90"},
		{name: "lon out of range", csv: "zip,lat,lon\n00601,18,-181\n", wantErr: "outside ±180"},
		{name: "NaN", csv: "zip,lat,lon\n00601,NaN,-66.74\n", wantErr: "lat"},
		{name: "missing field", csv: "zip,lat,lon\n00601,18.18\n", wantErr: "wrong number of fields"},
		{name: "duplicate", csv: "zip,lat,lon\n00601,18,-66\n00601,18,-66\n", wantErr: "zip 00601: listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := parse(strings.NewReader(tt.csv))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if tab.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", tab.Len(), len(tt.want))
			}
			for zip, want := range tt.want {
				if got, ok := tab.Lookup(zip); !ok || got != want {
					t.Errorf("Lookup(%q) = %v, %v; want %v, true", zip, got, ok, want)
				}
			}
		})
	}
}

// FuzzLookup feeds Lookup what a resident might text after JOIN.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"98101", "98101-1234", "00000", "9810", "98101-", "", "٩٨١٠١"} {
		f.Add(s)
	}
	tab := table(f)
	f.Fuzz(func(t *testing.T, zip string) {
		p, ok := tab.Lookup(zip)
		if !ok {
			return
		}
		if len(zip) != 5 && len(zip) != 10 {
			t.Fatalf("Lookup(%q) accepted a %d-byte ZIP", zip, len(zip))
		}
		if q, _ := tab.Lookup(zip[:5]); q != p {
			t.Fatalf("Lookup(%q) = %v, but its 5-digit ZIP gives %v", zip, p, q)
		}
	})
}

func BenchmarkParseBundled(b *testing.B) {
	for b.Loop() {
		if _, err := parseBundled(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	tab := table(b)
	for b.Loop() {
		tab.Lookup("98101-1234")
	}
}
