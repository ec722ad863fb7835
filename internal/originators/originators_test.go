package originators

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// userKey returns a new nkeys user public key (U...).
func userKey(t testing.TB) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// accountKey returns a valid nkeys public key that is not a user key (A...).
func accountKey(t testing.TB) string {
	t.Helper()
	kp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// entry renders one originator of an originators file.
func entry(id, key, roles, jurisdiction string) string {
	return fmt.Sprintf("  - id: %s\n    name: Officer %s\n    public_key: %s\n    roles: %s\n    jurisdiction: %s\n", id, id, key, roles, jurisdiction)
}

func doc(entries ...string) []byte {
	return []byte("originators:\n" + strings.Join(entries, ""))
}

func knownRegions(ids ...string) RegionChecker {
	return func(id string) bool { return slices.Contains(ids, id) }
}

const king = "{regions: [us-county-53033]}"

func TestParse(t *testing.T) {
	k1, k2, k3 := userKey(t), userKey(t), userKey(t)
	seed, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seedStr, _ := seed.Seed()

	tests := []struct {
		name    string
		data    []byte
		regions RegionChecker
		// wantErr lists substrings that must all appear in the error; nil
		// means Parse must succeed.
		wantErr []string
		// check inspects a successful set.
		check func(t *testing.T, s *Set)
	}{
		{
			name: "valid file",
			data: doc(
				entry("wa-king-health", k1, "[issuer]", king),
				entry("wa-doh_2", k2, "[approver, exercise_only]", "{regions: [us-county-53033, us-county-53061]}"),
			),
			regions: knownRegions("us-county-53033", "us-county-53061"),
			check: func(t *testing.T, s *Set) {
				if s.Len() != 2 {
					t.Fatalf("Len = %d, want 2", s.Len())
				}
				if got := s.IDs(); !slices.Equal(got, []string{"wa-doh_2", "wa-king-health"}) {
					t.Errorf("IDs = %v", got)
				}
				o, ok := s.ByKey(k1)
				if !ok || o.ID != "wa-king-health" || o.Name != "Officer wa-king-health" {
					t.Fatalf("ByKey(k1) = %+v, %v", o, ok)
				}
				if !o.Has(RoleIssuer) || o.Has(RoleApprover) {
					t.Errorf("roles of %s = %v", o.ID, o.Roles)
				}
				if !slices.Contains(o.Jurisdiction.Regions, "us-county-53033") || slices.Contains(o.Jurisdiction.Regions, "us-county-53061") {
					t.Errorf("jurisdiction of %s = %v", o.ID, o.Jurisdiction.Regions)
				}
				o2, ok := s.ByID("wa-doh_2")
				if !ok || o2.PublicKey != k2 || !o2.Has(RoleApprover) || !o2.Has(RoleExerciseOnly) || o2.Has(RoleIssuer) {
					t.Errorf("ByID(wa-doh_2) = %+v, %v", o2, ok)
				}
				if _, ok := s.ByKey(k3); ok {
					t.Error("ByKey of an unlisted key found an originator")
				}
				if _, ok := s.ByID("nobody"); ok {
					t.Error("ByID of an unlisted id found an originator")
				}
			},
		},
		{
			name: "empty document",
			data: nil,
			check: func(t *testing.T, s *Set) {
				if s.Len() != 0 || len(s.IDs()) != 0 {
					t.Errorf("Len = %d, IDs = %v; want an empty set", s.Len(), s.IDs())
				}
			},
		},
		{
			name: "empty list",
			data: []byte("originators: []\n"),
			check: func(t *testing.T, s *Set) {
				if s.Len() != 0 {
					t.Errorf("Len = %d, want 0", s.Len())
				}
			},
		},
		{
			name:    "unknown top-level field",
			data:    []byte("originatorz: []\n"),
			wantErr: []string{"originatorz"},
		},
		{
			name:    "unknown originator field",
			data:    doc(entry("a", k1, "[issuer]", king) + "    email: a@example.org\n"),
			wantErr: []string{"email"},
		},
		{
			name:    "bad id: uppercase",
			data:    doc(entry("WA-King", k1, "[issuer]", king)),
			wantErr: []string{"originators[0] (WA-King): id must be lowercase"},
		},
		{
			name:    "bad id: dot",
			data:    doc(entry("wa.king", k1, "[issuer]", king)),
			wantErr: []string{"originators[0] (wa.king): id must be lowercase"},
		},
		{
			name:    "bad id: missing",
			data:    doc(entry(`""`, k1, "[issuer]", king)),
			wantErr: []string{"originators[0]: id must be lowercase"},
		},
		{
			name:    "duplicate id",
			data:    doc(entry("wa", k1, "[issuer]", king), entry("wa", k2, "[issuer]", king)),
			wantErr: []string{"originators[1] (wa): duplicate id"},
		},
		{
			name:    "public key not an nkey",
			data:    doc(entry("wa", "UNOTAKEY", "[issuer]", king)),
			wantErr: []string{"originators[0] (wa): public_key is not an nkey user public key"},
		},
		{
			name:    "public key of an account, not a user",
			data:    doc(entry("wa", accountKey(t), "[issuer]", king)),
			wantErr: []string{"originators[0] (wa): public_key is not an nkey user public key"},
		},
		{
			name:    "seed instead of public key",
			data:    doc(entry("wa", string(seedStr), "[issuer]", king)),
			wantErr: []string{"originators[0] (wa): public_key is not an nkey user public key"},
		},
		{
			name:    "duplicate key",
			data:    doc(entry("first", k1, "[issuer]", king), entry("second", k1, "[issuer]", king)),
			wantErr: []string{"originators[1] (second): public_key already used by first"},
		},
		{
			name:    "unknown role",
			data:    doc(entry("wa", k1, "[issuer, admin]", king)),
			wantErr: []string{`originators[0] (wa): roles: unknown role "admin"`},
		},
		{
			name:    "no roles",
			data:    doc(entry("wa", k1, "[]", king)),
			wantErr: []string{"originators[0] (wa): roles: at least one of"},
		},
		{
			name:    "no jurisdiction",
			data:    doc(entry("wa", k1, "[issuer]", "{}")),
			wantErr: []string{"originators[0] (wa): jurisdiction: needs regions and/or geojson"},
		},
		{
			name:    "unknown region",
			data:    doc(entry("wa", k1, "[issuer]", "{regions: [us-county-53033, us-county-99999]}")),
			regions: knownRegions("us-county-53033"),
			wantErr: []string{`originators[0] (wa): jurisdiction.regions: unknown region "us-county-99999"`},
		},
		{
			name: "regions unchecked without a checker",
			data: doc(entry("wa", k1, "[issuer]", "{regions: [anything]}")),
			check: func(t *testing.T, s *Set) {
				if o, ok := s.ByID("wa"); !ok || !slices.Contains(o.Jurisdiction.Regions, "anything") {
					t.Errorf("ByID(wa) = %+v, %v", o, ok)
				}
			},
		},
		{
			name:    "empty entry",
			data:    []byte("originators:\n  -\n"),
			wantErr: []string{"originators[0]: empty entry"},
		},
		{
			name:    "not YAML",
			data:    []byte("originators: [\n"),
			wantErr: []string{"parse"},
		},
		{
			name: "all problems reported together",
			data: doc(
				entry("Bad", k1, "[issuer]", king),
				entry("ok", "nope", "[]", "{}"),
				entry("ok", k2, "[boss]", "{regions: [mars]}"),
			),
			regions: knownRegions("us-county-53033"),
			wantErr: []string{
				"originators[0] (Bad): id must be lowercase",
				"originators[1] (ok): public_key is not an nkey user public key",
				"originators[1] (ok): roles: at least one of",
				"originators[1] (ok): jurisdiction: needs regions",
				"originators[2] (ok): duplicate id",
				`originators[2] (ok): roles: unknown role "boss"`,
				`originators[2] (ok): jurisdiction.regions: unknown region "mars"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.data, t.TempDir(), tc.regions)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Parse succeeded, want an error with %q", tc.wantErr)
				}
				if s != nil {
					t.Errorf("Parse returned a set with its error")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, s)
		})
	}
}

func TestParseGeoJSONJurisdiction(t *testing.T) {
	key := userKey(t)
	abs, err := filepath.Abs(filepath.Join("testdata", "polygon.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		geojson  string
		polygons int    // polygons loaded, when valid
		wantErr  string // substring of the error, "" when valid
	}{
		{name: "Polygon", geojson: "polygon.geojson", polygons: 1},
		{name: "MultiPolygon", geojson: "multipolygon.geojson", polygons: 2},
		{name: "Feature", geojson: "feature.geojson", polygons: 1},
		{name: "FeatureCollection of Polygon and MultiPolygon", geojson: "featurecollection.geojson", polygons: 3},
		{name: "absolute path", geojson: abs, polygons: 1},
		{name: "missing file", geojson: "nowhere.geojson", wantErr: "nowhere.geojson"},
		{name: "not JSON", geojson: "garbage.geojson", wantErr: "not a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection"},
		{name: "Point geometry", geojson: "point.geojson", wantErr: "is not a Polygon or MultiPolygon"},
		{name: "FeatureCollection of a Point", geojson: "point_feature.geojson", wantErr: "is not a Polygon or MultiPolygon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := doc(entry("wa", key, "[issuer]", "{geojson: "+tc.geojson+"}"))
			// Relative paths resolve against dir, the originators file's folder.
			s, err := Parse(data, "testdata", nil)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Parse succeeded, want an error with %q", tc.wantErr)
				}
				for _, want := range []string{"originators[0] (wa): jurisdiction.geojson", tc.wantErr} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			o, _ := s.ByID("wa")
			area := o.Jurisdiction.Area
			if len(area) != tc.polygons {
				t.Fatalf("Area has %d polygons, want %d", len(area), tc.polygons)
			}
			// orb is lon,lat: every file's first ring starts at lon -122.4 or -122.0.
			if p := area[0][0][0]; p[0] > -121 || p[1] < 47 {
				t.Errorf("first point %v is not (lon, lat) near Seattle", p)
			}
		})
	}

	t.Run("relative to the file's folder via Load", func(t *testing.T) {
		dir := t.TempDir()
		poly, err := os.ReadFile(filepath.Join("testdata", "polygon.geojson"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "jurisdictions"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "jurisdictions", "wa.geojson"), poly, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "originators.yaml")
		if err := os.WriteFile(path, doc(entry("wa", key, "[issuer]", "{geojson: jurisdictions/wa.geojson}")), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path, nil)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if o, ok := s.ByID("wa"); !ok || len(o.Jurisdiction.Area) != 1 {
			t.Errorf("ByID(wa) = %+v, %v; want one polygon", o, ok)
		}
	})
}

func TestLoadMissingFileIsEmpty(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "originators.yaml"), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Len() != 0 {
		t.Errorf("Len = %d, want 0", s.Len())
	}
}

func TestStoreReload(t *testing.T) {
	alice, bob := userKey(t), userKey(t)
	path := filepath.Join(t.TempDir(), "originators.yaml")
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(doc(entry("alice", alice, "[issuer]", king), entry("bob", bob, "[issuer]", king)))

	st, err := New(Config{Path: path, RegionExists: knownRegions("us-county-53033")})
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	if st.Path() != path {
		t.Errorf("Path = %q, want %q", st.Path(), path)
	}
	if _, ok := st.Current().ByKey(bob); !ok {
		t.Fatal("bob's key does not resolve after NewStore")
	}

	steps := []struct {
		name      string
		data      []byte
		wantErr   bool
		wantAlice bool
		wantBob   bool
	}{
		{name: "invalid file keeps the old set", data: doc(entry("alice", alice, "[issuer]", king), entry("BOB", bob, "[issuer]", king)), wantErr: true, wantAlice: true, wantBob: true},
		{name: "unknown region keeps the old set", data: doc(entry("alice", alice, "[issuer]", "{regions: [mars]}")), wantErr: true, wantAlice: true, wantBob: true},
		{name: "valid file without bob swaps", data: doc(entry("alice", alice, "[issuer]", king)), wantAlice: true},
		{name: "broken YAML keeps the set without bob", data: []byte("originators: [\n"), wantErr: true, wantAlice: true},
		{name: "empty file removes everyone", data: []byte(""), wantAlice: false},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before := st.Current()
			write(step.data)
			err := st.Reload()
			if (err != nil) != step.wantErr {
				t.Fatalf("Reload error = %v, want error %v", err, step.wantErr)
			}
			if step.wantErr && st.Current() != before {
				t.Error("a failed Reload replaced the set in force")
			}
			if _, ok := st.Current().ByKey(alice); ok != step.wantAlice {
				t.Errorf("alice resolves = %v, want %v", ok, step.wantAlice)
			}
			if _, ok := st.Current().ByKey(bob); ok != step.wantBob {
				t.Errorf("bob resolves = %v, want %v", ok, step.wantBob)
			}
		})
	}
}

func TestNewStoreRefusesInvalidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "originators.yaml")
	if err := os.WriteFile(path, doc(entry("wa", "UNOTAKEY", "[issuer]", king)), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := New(Config{Path: path})
	if err == nil {
		t.Fatalf("NewStore succeeded with %v, want an error", st.Current().IDs())
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file %s: %v", path, err)
	}
}
