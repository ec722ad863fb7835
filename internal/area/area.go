// Package area turns a CAP alert's <area> elements into geometry: the union
// of every polygon, circle and geocode of every <info>, compiled against
// the region registry, and the regions it overlaps.
//
// Intake uses it to check jurisdiction, the planner to find recipients. It
// does not decide who may alert where.
package area

import (
	"errors"
	"fmt"

	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/geo"
)

// ErrNoArea means the alert names no area at all.
var ErrNoArea = errors.New("no <area>: Herald needs an area to know whom to alert")

// Resolved is an alert's area.
type Resolved struct {
	Shape   *geo.Shape
	Regions []*geo.Region
	// Parts are the alert's <area> elements one by one, so a check (the
	// jurisdiction) can name the one at fault.
	Parts []Part
	// Area is the geometry as read from the CAP, before compiling.
	Area geo.Area
}

// Part is one <area> element.
type Part struct {
	Path  string // "alert/info[0]/area[1]"
	Desc  string // its areaDesc
	Shape *geo.Shape
}

// RegionIDs lists the overlapped regions' ids, sorted.
func (r *Resolved) RegionIDs() []string {
	ids := make([]string, len(r.Regions))
	for i, reg := range r.Regions {
		ids[i] = reg.ID
	}
	return ids
}

// Problem is a geometry problem at a CAP element path, in the same form as
// cap.Problem so callers can report both together.
type Problem = cap.Problem

// Resolve compiles every <area> of every <info> of a. Problems carry the
// element path of the offending part; an alert without any area gets
// ErrNoArea.
func Resolve(reg *geo.Registry, a *cap.Alert) (*Resolved, cap.Problems, error) {
	var (
		g        geo.Area
		problems cap.Problems
		areas    int
		unplaced string // the first area with nothing Herald can place
		parts    []Part
		partArea []geo.Area
	)
	for i, info := range a.Info {
		for j, ar := range info.Area {
			areas++
			base := fmt.Sprintf("alert/info[%d]/area[%d]", i, j)
			bp, bc, bg := len(g.Polygons), len(g.Circles), len(g.Geocodes)
			for k, s := range ar.Polygon {
				ring, err := cap.ParsePolygon(s)
				if err != nil {
					problems = append(problems, Problem{Path: fmt.Sprintf("%s/polygon[%d]", base, k), Message: err.Error()})
					continue
				}
				if err := compileAlone(reg, geo.Area{Polygons: []orb.Polygon{{ring}}}); err != nil {
					problems = append(problems, Problem{Path: fmt.Sprintf("%s/polygon[%d]", base, k), Message: err.Error()})
					continue
				}
				g.Polygons = append(g.Polygons, orb.Polygon{ring})
			}
			for k, s := range ar.Circle {
				c, r, err := cap.ParseCircle(s)
				if err != nil {
					problems = append(problems, Problem{Path: fmt.Sprintf("%s/circle[%d]", base, k), Message: err.Error()})
					continue
				}
				circle := geo.Circle{Center: c, RadiusKm: r}
				if err := compileAlone(reg, geo.Area{Circles: []geo.Circle{circle}}); err != nil {
					problems = append(problems, Problem{Path: fmt.Sprintf("%s/circle[%d]", base, k), Message: err.Error()})
					continue
				}
				g.Circles = append(g.Circles, circle)
			}
			for k, gc := range ar.Geocode {
				code := geo.Geocode{Name: gc.ValueName, Value: gc.Value}
				if _, err := reg.Geocode(code.Name, code.Value); err != nil {
					// Geocodes Herald has no table for (e.g. a national
					// alerting system's own codes) only fail the alert when
					// nothing else in the area places it.
					if errors.Is(err, geo.ErrUnsupportedGeocode) {
						continue
					}
					problems = append(problems, Problem{Path: fmt.Sprintf("%s/geocode[%d]", base, k), Message: err.Error()})
					continue
				}
				g.Geocodes = append(g.Geocodes, code)
			}
			if len(g.Polygons) == bp && len(g.Circles) == bc && len(g.Geocodes) == bg {
				if unplaced == "" {
					unplaced = base
				}
				continue
			}
			parts = append(parts, Part{Path: base, Desc: ar.AreaDesc})
			partArea = append(partArea, geo.Area{Polygons: g.Polygons[bp:], Circles: g.Circles[bc:], Geocodes: g.Geocodes[bg:]})
		}
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	if areas == 0 {
		return nil, nil, ErrNoArea
	}
	if len(g.Polygons) == 0 && len(g.Circles) == 0 && len(g.Geocodes) == 0 {
		return nil, cap.Problems{{Path: unplaced, Message: "no polygon, circle or known geocode: Herald cannot place this area"}}, nil
	}
	shape, err := reg.Compile(g)
	if err != nil {
		return nil, cap.Problems{{Path: "alert/info", Message: err.Error()}}, nil
	}
	for i := range parts {
		if parts[i].Shape, err = reg.Compile(partArea[i]); err != nil {
			return nil, cap.Problems{{Path: parts[i].Path, Message: err.Error()}}, nil
		}
	}
	return &Resolved{Shape: shape, Regions: reg.Overlapping(shape), Parts: parts, Area: g}, nil, nil
}

// compileAlone checks one part on its own so that its problem can be
// reported at its own element path.
func compileAlone(reg *geo.Registry, a geo.Area) error {
	_, err := reg.Compile(a)
	return err
}
