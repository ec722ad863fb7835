// Package originators holds the officers and agencies allowed to issue
// alerts: their public keys, roles and jurisdictions, read from the
// originators YAML file (see CONTRACT.md, "Originators").
//
// It answers "who is this key and what may they do"; it does not verify
// signatures (package signing) or decide whether an alert's area lies inside
// a jurisdiction (package intake, with geo).
package originators

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nkeys"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"go.yaml.in/yaml/v3"
)

// Role is what an originator may do.
type Role string

// Roles, as in the contract.
const (
	RoleIssuer       Role = "issuer"
	RoleApprover     Role = "approver"
	RoleExerciseOnly Role = "exercise_only"
)

// Originator is one authorized officer or agency.
type Originator struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Agency groups originators of one health department: its approvers
	// may update or cancel each other's alerts. Defaults to ID.
	Agency       string       `yaml:"agency"`
	PublicKey    string       `yaml:"public_key"`
	Roles        []Role       `yaml:"roles"`
	Jurisdiction Jurisdiction `yaml:"jurisdiction"`
	// Senders are the CAP <sender> values the originator's agency may use
	// (the agency's senders are those of all its originators). A sender
	// belongs to one agency; an agency that lists none is bound to the
	// first sender it uses (see intake).
	Senders []string `yaml:"senders"`
}

// Jurisdiction is where an originator may alert: a set of region ids and/or
// a GeoJSON area.
type Jurisdiction struct {
	Regions []string `yaml:"regions"`
	GeoJSON string   `yaml:"geojson"`
	// Area is the loaded GeoJSON (lon,lat), nil when none is configured.
	Area orb.MultiPolygon `yaml:"-"`
}

// Has reports whether o holds role r.
func (o *Originator) Has(r Role) bool {
	for _, have := range o.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// Set is an immutable, validated collection of originators.
type Set struct {
	byKey map[string]*Originator
	byID  map[string]*Originator
	// senders maps each configured CAP sender to its agency.
	senders map[string]string
	// agencySenders says which agencies configured senders at all.
	agencySenders map[string]bool
}

// SenderAgency is the agency a CAP sender is configured for.
func (s *Set) SenderAgency(sender string) (agency string, ok bool) {
	agency, ok = s.senders[sender]
	return agency, ok
}

// HasSenders reports whether agency configured its senders (otherwise it
// is bound to the first one it uses).
func (s *Set) HasSenders(agency string) bool { return s.agencySenders[agency] }

// ByKey finds the originator with public key pub.
func (s *Set) ByKey(pub string) (*Originator, bool) {
	o, ok := s.byKey[pub]
	return o, ok
}

// ByID finds the originator with id.
func (s *Set) ByID(id string) (*Originator, bool) {
	o, ok := s.byID[id]
	return o, ok
}

// Len is the number of originators.
func (s *Set) Len() int { return len(s.byID) }

// IDs lists originator ids, sorted.
func (s *Set) IDs() []string {
	ids := make([]string, 0, len(s.byID))
	for id := range s.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

var tokenSafe = regexp.MustCompile(`^[a-z0-9_-]+$`)

// RegionChecker says whether a region id exists; the geo registry fits.
type RegionChecker func(id string) bool

// Load reads and validates the originators file at path. GeoJSON
// jurisdictions are read relative to the file's folder. A missing file is an
// empty set (nobody may alert yet), not an error, so a fresh install starts.
func Load(path string, regionExists RegionChecker) (*Set, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return newSet(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("originators %s: %w", path, err)
	}
	s, err := Parse(data, filepath.Dir(path), regionExists)
	if err != nil {
		return nil, fmt.Errorf("originators %s: %w", path, err)
	}
	return s, nil
}

// Parse validates an originators document; dir resolves relative GeoJSON
// paths. Every problem is reported, joined.
func Parse(data []byte, dir string, regionExists RegionChecker) (*Set, error) {
	var doc struct {
		Originators []*Originator `yaml:"originators"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty document is an empty set.
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	s := newSet()
	var errs []error
	for i, o := range doc.Originators {
		where := fmt.Sprintf("originators[%d]", i)
		if o == nil {
			errs = append(errs, fmt.Errorf("%s: empty entry", where))
			continue
		}
		if o.ID != "" {
			where += " (" + o.ID + ")"
		}
		if !tokenSafe.MatchString(o.ID) {
			errs = append(errs, fmt.Errorf("%s: id must be lowercase [a-z0-9_-]", where))
		} else if s.byID[o.ID] != nil {
			errs = append(errs, fmt.Errorf("%s: duplicate id", where))
		}
		if !nkeys.IsValidPublicUserKey(o.PublicKey) {
			errs = append(errs, fmt.Errorf("%s: public_key is not an nkey user public key (U...); create one with `herald keys generate`", where))
		} else if other := s.byKey[o.PublicKey]; other != nil {
			errs = append(errs, fmt.Errorf("%s: public_key already used by %s", where, other.ID))
		}
		if len(o.Roles) == 0 {
			errs = append(errs, fmt.Errorf("%s: roles: at least one of issuer, approver, exercise_only", where))
		}
		for _, r := range o.Roles {
			switch r {
			case RoleIssuer, RoleApprover, RoleExerciseOnly:
			default:
				errs = append(errs, fmt.Errorf("%s: roles: unknown role %q", where, r))
			}
		}
		j := &o.Jurisdiction
		if len(j.Regions) == 0 && j.GeoJSON == "" {
			errs = append(errs, fmt.Errorf("%s: jurisdiction: needs regions and/or geojson", where))
		}
		for _, id := range j.Regions {
			if regionExists != nil && !regionExists(id) {
				errs = append(errs, fmt.Errorf("%s: jurisdiction.regions: unknown region %q", where, id))
			}
		}
		if j.GeoJSON != "" {
			p := j.GeoJSON
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			area, err := loadArea(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: jurisdiction.geojson: %w", where, err))
			}
			j.Area = area
		}
		if o.Agency == "" {
			o.Agency = o.ID
		}
		for _, sender := range o.Senders {
			switch other, taken := s.senders[sender]; {
			case sender == "" || strings.ContainsAny(sender, " \t\r\n,<&"):
				errs = append(errs, fmt.Errorf("%s: senders: %q is not a CAP sender (no spaces, commas, < or &)", where, sender))
			case taken && other != o.Agency:
				errs = append(errs, fmt.Errorf("%s: senders: %q already belongs to agency %s; a sender belongs to one agency", where, sender, other))
			default:
				s.senders[sender] = o.Agency
				s.agencySenders[o.Agency] = true
			}
		}
		if o.ID != "" && s.byID[o.ID] == nil {
			s.byID[o.ID] = o
		}
		if o.PublicKey != "" && s.byKey[o.PublicKey] == nil {
			s.byKey[o.PublicKey] = o
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func newSet() *Set {
	return &Set{byKey: map[string]*Originator{}, byID: map[string]*Originator{}, senders: map[string]string{}, agencySenders: map[string]bool{}}
}

// loadArea reads a Polygon or MultiPolygon from a GeoJSON geometry, Feature
// or FeatureCollection.
func loadArea(path string) (orb.MultiPolygon, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var mp orb.MultiPolygon
	add := func(g orb.Geometry) error {
		switch g := g.(type) {
		case orb.Polygon:
			mp = append(mp, g)
		case orb.MultiPolygon:
			mp = append(mp, g...)
		default:
			return fmt.Errorf("%s: geometry %T is not a Polygon or MultiPolygon", path, g)
		}
		return nil
	}
	if fc, err := geojson.UnmarshalFeatureCollection(data); err == nil && len(fc.Features) > 0 {
		for _, f := range fc.Features {
			if err := add(f.Geometry); err != nil {
				return nil, err
			}
		}
	} else if f, err := geojson.UnmarshalFeature(data); err == nil && f.Geometry != nil {
		if err := add(f.Geometry); err != nil {
			return nil, err
		}
	} else if g, err := geojson.UnmarshalGeometry(data); err == nil {
		if err := add(g.Geometry()); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("%s: not a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection", path)
	}
	if len(mp) == 0 {
		return nil, fmt.Errorf("%s: no polygons", path)
	}
	return mp, nil
}

// Store holds the current Set and swaps it atomically on reload, so a
// removed or rotated key stops working at once.
type Store struct {
	path   string
	exists RegionChecker
	cur    atomic.Pointer[Set]
}

// Config is what a Store needs.
type Config struct {
	// Path is the originators file; "" means nobody may issue alerts.
	Path string
	// RegionExists refuses jurisdictions naming unknown regions.
	RegionExists RegionChecker
}

// New loads the file.
func New(cfg Config) (*Store, error) {
	st := &Store{path: cfg.Path, exists: cfg.RegionExists}
	if err := st.Reload(); err != nil {
		return nil, err
	}
	return st, nil
}

// Reload re-reads the file; on error the previous set stays in force.
func (st *Store) Reload() error {
	if st.path == "" {
		return nil
	}
	s, err := Load(st.path, st.exists)
	if err != nil {
		return err
	}
	st.cur.Store(s)
	return nil
}

// Path is the file the store reads.
func (st *Store) Path() string { return st.path }

// Current is the set in force.
func (st *Store) Current() *Set { return st.cur.Load() }
