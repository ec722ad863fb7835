package geo

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// Jurisdiction is where an originator may alert: the union of registry
// regions, named by id, and of extra polygons (for example a health
// district drawn in GeoJSON).
type Jurisdiction struct {
	Regions []string
	Area    orb.MultiPolygon
}

// Reach is a place where an area reaches land outside a jurisdiction.
type Reach struct {
	Region *Region // the region reached
	// Point is a point of the area in Region, farther than the tolerance
	// from the jurisdiction. It is a witness, not the farthest point.
	Point     orb.Point
	DistanceM float64 // Point's distance from the jurisdiction; +Inf if the jurisdiction is empty
}

func (r Reach) String() string {
	if math.IsInf(r.DistanceM, 1) {
		return fmt.Sprintf("%s (%s) at %s, outside an empty jurisdiction", r.Region.Name, r.Region.ID, fmtPoint(r.Point))
	}
	return fmt.Sprintf("%s (%s): %s is %.0f m outside the jurisdiction", r.Region.Name, r.Region.ID, fmtPoint(r.Point), r.DistanceM)
}

// ErrTooComplex means a jurisdiction check gave up: the area follows the
// jurisdiction's tolerance line so closely, for so long, that deciding
// would take too long. Callers should refuse the area.
var ErrTooComplex = errors.New("geo: area too complex to check against the jurisdiction")

// Outside reports the regions where shape s reaches land outside
// jurisdiction j by more than toleranceM metres, sorted by id; none when s is
// inside. Land is any region of the registry: parts of s in no region (open
// water, other countries) are never outside. See Reaches for the method and
// its guarantees.
func (r *Registry) Outside(s *Shape, j Jurisdiction, toleranceM float64) ([]*Region, error) {
	reaches, err := r.Reaches(s, j, toleranceM)
	out := make([]*Region, len(reaches))
	for i, x := range reaches {
		out[i] = x.Region
	}
	return out, err
}

// Reaches is Outside with, for each region, a witness: a point of s in the
// region and beyond the tolerance, for messages.
//
// A region R is reported when some point of s in R lies more than
// toleranceM metres (geodesic, on the sphere) from the jurisdiction J.
// Regions that are part of J are skipped, and so are those s does not
// overlap (see Overlapping: touching along an edge, or a sliver thinner than
// BoundaryTolerance, is not overlap), so an alert equal to J, or drawn along
// its border from inside, is accepted.
//
// Method, for each remaining R, with P the part of s in R: the distance to J
// changes no faster than the point moves (it is 1-Lipschitz), so a segment
// or cell whose centre is within toleranceM of J, less its half-length, is
// within toleranceM throughout, and one whose centre is in P and beyond
// toleranceM is a witness. Reaches bisects with that test
//
//  1. along the boundary of P: the pieces of s's edges inside R and of R's
//     edges inside s, cut exactly where the boundaries cross;
//  2. then over P's bound in lon/lat cells, which finds what the boundary
//     cannot show: an enclave of another region inside J, the middle of a
//     notch or hole of J wider than twice the tolerance.
//
// Guarantees: a region is reported only with a witness that is in s, in R,
// and more than toleranceM from J (within rounding: it may lie on the
// boundary of s or R). When a region is not reported, every point of P's
// boundary is within toleranceM+ε of J, and every point of P within
// toleranceM+2ε, where ε is the larger of toleranceM/16 and 0.5 m: the
// search stops refining there, so that an area drawn right along the
// tolerance line is decided quickly. Circles are checked as circumscribed
// polygons exceeding them by at most 0.1 m (3·10⁻⁷ of the radius beyond
// 340 km); distances are good to a millimetre or so at these ranges.
// Slivers of s thinner than BoundaryTolerance along a region's boundary are
// ignored, as in Overlapping.
//
// An error means a jurisdiction region id is unknown, a jurisdiction polygon
// or the tolerance is invalid, or (ErrTooComplex) the search was cut short;
// regions found before that are returned with it.
func (r *Registry) Reaches(s *Shape, j Jurisdiction, toleranceM float64) ([]Reach, error) {
	if !(toleranceM >= 0) || math.IsInf(toleranceM, 1) {
		return nil, fmt.Errorf("geo: jurisdiction tolerance %g m: want a finite number >= 0", toleranceM)
	}
	inJ := make(map[*Region]bool)
	var jparts []*ppoly
	for _, id := range j.Regions {
		g, ok := r.byID[id]
		if !ok {
			return nil, fmt.Errorf("geo: jurisdiction region %q is not a loaded region", id)
		}
		if !inJ[g] {
			inJ[g] = true
			jparts = append(jparts, g.polys...)
		}
	}
	for i, p := range j.Area {
		if len(p) == 0 {
			return nil, &GeometryError{Part: fmt.Sprintf("jurisdiction polygon[%d]", i), Reason: "no rings"}
		}
		for k, ring := range p {
			if err := checkRegionRing(ring); err != nil {
				return nil, &GeometryError{Part: fmt.Sprintf("jurisdiction polygon[%d]", i), Reason: fmt.Sprintf("ring %d: %v", k, err)}
			}
		}
		if pp := preparePolygon(p); len(pp.edges) > 0 {
			jparts = append(jparts, pp)
		}
	}
	var todo []*Region
	for _, g := range r.Overlapping(s) {
		if !inJ[g] {
			todo = append(todo, g)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	c := newOutsideCheck(s, jparts, toleranceM)
	var out []Reach
	for _, g := range todo {
		p, found, err := c.region(g)
		if err != nil {
			return out, fmt.Errorf("%w: region %s", err, g.ID)
		}
		if found {
			out = append(out, Reach{Region: g, Point: p, DistanceM: distToParts(p, jparts)})
		}
	}
	return out, nil
}

// distToParts is the distance in metres from p to the union of parts (0
// inside), +Inf if there are none. Parts are visited nearest first by their
// bounds, so far ones cost a bound test.
func distToParts(p orb.Point, parts []*ppoly) float64 {
	type cand struct {
		pp *ppoly
		lo float64
	}
	cands := make([]cand, 0, len(parts))
	for _, pp := range parts {
		if pp.locate(p) != outside {
			return 0
		}
		lo, _ := boxDistKm(p, pp.bound)
		cands = append(cands, cand{pp, lo * 1000})
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.lo, b.lo) })
	best := math.Inf(1)
	for _, c := range cands {
		if c.lo >= best {
			break
		}
		for _, e := range c.pp.edges {
			best = min(best, segmentDistKm(p, e.a, e.b)*1000)
		}
	}
	return best
}

// capM bounds the reach of the nearest-segment queries: cells and pieces
// larger than this are split rather than measured.
const capM = 5000

// jurSet is a jurisdiction prepared for distance queries.
type jurSet struct {
	parts []*ppoly
	edges *segGrid
}

func (j *jurSet) contains(p orb.Point) bool {
	for _, pp := range j.parts {
		if pp.locate(p) != outside {
			return true
		}
	}
	return false
}

// dist is the distance in metres from p to the jurisdiction (0 inside or on
// its boundary), or limit if it is at least limit.
func (j *jurSet) dist(p orb.Point, limit float64) float64 {
	if len(j.parts) == 0 {
		return math.Inf(1)
	}
	if j.contains(p) {
		return 0
	}
	return j.edges.nearest(p, limit)
}

// outsideCheck searches one shape against one jurisdiction.
type outsideCheck struct {
	j      jurSet
	sparts []*ppoly // s's polygons, circles as polygons, geocoded regions
	sbound orb.Bound
	t, eps float64
	steps  int // left before ErrTooComplex
	split  splitter
}

// maxSteps bounds the distance evaluations of one Reaches call.
const maxSteps = 1_000_000

func newOutsideCheck(s *Shape, jparts []*ppoly, t float64) *outsideCheck {
	c := &outsideCheck{t: t, eps: max(t/16, 0.5), steps: maxSteps}
	c.sparts = append(c.sparts, s.polys...)
	for _, ci := range s.circles {
		c.sparts = append(c.sparts, circumscribed(ci.Circle))
	}
	for _, g := range s.regions {
		c.sparts = append(c.sparts, g.polys...)
	}
	c.sparts = append(c.sparts, s.tables...)
	c.sbound = c.sparts[0].bound
	for _, pp := range c.sparts[1:] {
		c.sbound = c.sbound.Union(pp.bound)
	}
	// The jurisdiction matters only within reach of the shape.
	window := padMetres(c.sbound, capM+t+2*c.eps)
	var edges []edge
	for _, pp := range jparts {
		if pp.bound.Intersects(window) {
			c.j.parts = append(c.j.parts, pp)
			edges = append(edges, pp.edges...)
		}
	}
	c.j.edges = newSegGrid(edges, window, 0.01)
	if len(jparts) > 0 && len(c.j.parts) == 0 {
		// A jurisdiction out of reach: keep one part so that distances are
		// finite (capped) rather than those of an empty jurisdiction.
		c.j.parts = jparts[:1]
	}
	return c
}

// padMetres widens b by m metres in every direction.
func padMetres(b orb.Bound, m float64) orb.Bound {
	dLat := m / metresPerDegree
	lat := min(max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))+dLat, 89.9)
	dLon := min(dLat/math.Cos(lat*rad), 360)
	return orb.Bound{Min: orb.Point{b.Min[0] - dLon, b.Min[1] - dLat}, Max: orb.Point{b.Max[0] + dLon, b.Max[1] + dLat}}
}

// circumscribed returns a polygon containing disk c whose edges stay within
// about 0.1 m of its circle (with at most 4096 vertices: r·3·10⁻⁷ for radii
// r beyond 340 km).
func circumscribed(c Circle) *ppoly {
	r := c.RadiusKm * 1000
	// The sagitta of an n-gon is about r(π/n)²/2.
	n := int(math.Ceil(math.Pi / math.Sqrt(2*0.1/r)))
	n = min(max(n, 32), 4096)
	out := r / math.Cos(math.Pi/float64(n)) * (1 + 1e-9) // vertices beyond the circle so edges clear it
	ring := make(orb.Ring, n+1)
	for i := range n {
		ring[i] = destination(c.Center, 2*math.Pi*float64(i)/float64(n), out/1000+1e-5) // + 1 cm for rounding
	}
	ring[n] = ring[0]
	return preparePolygon(orb.Polygon{ring})
}

func (c *outsideCheck) inS(p orb.Point) bool {
	for _, pp := range c.sparts {
		if pp.locate(p) != outside {
			return true
		}
	}
	return false
}

// region searches s ∩ g for a point farther than the tolerance from the
// jurisdiction.
func (c *outsideCheck) region(g *Region) (orb.Point, bool, error) {
	p, found, err := c.regionBoundary(g)
	if found {
		return c.inward(p, g), true, nil
	}
	if err != nil {
		return p, false, err
	}
	// 2. The inside of s ∩ g.
	return c.search2D(g)
}

// inward returns a point near witness p, found on the boundary of s ∩ g,
// that is inside both and still beyond the tolerance, or p if there is none
// within a metre: a boundary point, computed, may be a rounding error
// outside, and is a poor example in a message.
func (c *outsideCheck) inward(p orb.Point, g *Region) orb.Point {
	for _, r := range [...]float64{1, 0.1, 0.01} {
		for k := range 8 {
			a := float64(k) * math.Pi / 4
			q := orb.Point{p[0] + math.Cos(a)*r/metresPerDegree/math.Cos(p[1]*rad), p[1] + math.Sin(a)*r/metresPerDegree}
			if c.inS(q) && g.contains(q) && c.j.dist(q, c.t+1) > c.t {
				return q
			}
		}
	}
	return p
}

// regionBoundary walks the boundary of s ∩ g (step 1 of Reaches).
func (c *outsideCheck) regionBoundary(g *Region) (orb.Point, bool, error) {
	pad := padMetres(g.Bound, 1)
	// 1. Pieces of s's edges inside g (or along g's boundary, same side).
	for _, sp := range c.sparts {
		if !sp.bound.Intersects(pad) {
			continue
		}
		for k := range sp.index.near(sp.edges, pad.Min[1], pad.Max[1]) {
			e := sp.edges[k]
			if !e.bound().Intersects(pad) {
				continue
			}
			if p, found, err := c.walkPieces(e, g.polys, func(rels []relation) bool {
				for _, rel := range rels {
					if rel == relInside || rel == relSame {
						return true
					}
				}
				return false
			}); found || err != nil {
				return p, found, err
			}
		}
	}
	// 1'. Pieces of g's edges inside s.
	spad := padMetres(c.sbound, 1)
	for _, gp := range g.polys {
		if !gp.bound.Intersects(spad) {
			continue
		}
		for k := range gp.index.near(gp.edges, spad.Min[1], spad.Max[1]) {
			e := gp.edges[k]
			if !e.bound().Intersects(spad) {
				continue
			}
			if p, found, err := c.walkPieces(e, c.sparts, func(rels []relation) bool {
				for _, rel := range rels {
					if rel == relInside {
						return true
					}
				}
				return false
			}); found || err != nil {
				return p, found, err
			}
		}
	}
	return orb.Point{}, false, nil
}

// walkPieces cuts e where others' boundaries meet it and walks the pieces
// that keep says belong to s ∩ g.
func (c *outsideCheck) walkPieces(e edge, others []*ppoly, keep func([]relation) bool) (orb.Point, bool, error) {
	var (
		witness orb.Point
		found   bool
		err     error
	)
	c.split.split(e, others, func(a, b orb.Point, rels []relation) bool {
		if keep(rels) {
			witness, found, err = c.walk(a, b)
		}
		return !found && err == nil
	})
	return witness, found, err
}

// walk bisects segment ab for a point farther than t from the jurisdiction.
// When it finds none, every point of ab is within t+ε.
func (c *outsideCheck) walk(a, b orb.Point) (orb.Point, bool, error) {
	length := pathLenM(a, b)
	type span struct{ u0, u1 float64 }
	stack := []span{{0, 1}}
	for len(stack) > 0 {
		sp := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.steps--; c.steps < 0 {
			return orb.Point{}, false, ErrTooComplex
		}
		m := lerp(a, b, (sp.u0+sp.u1)/2)
		half := length*(sp.u1-sp.u0)/2*(1+1e-6) + 1e-3
		d := c.j.dist(m, c.t+c.eps)
		switch {
		case d > c.t:
			return m, true, nil
		case d+half <= c.t+c.eps:
			continue
		case d == 0 && c.j.edges.nearest(m, min(half, capM)) >= half:
			continue // the whole span is inside the jurisdiction
		}
		mid := (sp.u0 + sp.u1) / 2
		stack = append(stack, span{sp.u0, mid}, span{mid, sp.u1})
	}
	return orb.Point{}, false, nil
}

// search2D bisects the bound of s ∩ g into cells for a point of s ∩ g
// farther than t from the jurisdiction. It relies on the boundary of s ∩ g
// being within t+ε (walked before): a cell whose every point is farther
// than t+ε then holds no boundary, so its centre tells whether it is in
// s ∩ g, and cells need not get smaller than ε.
func (c *outsideCheck) search2D(g *Region) (orb.Point, bool, error) {
	box := orb.Bound{
		Min: orb.Point{max(c.sbound.Min[0], g.Bound.Min[0]), max(c.sbound.Min[1], g.Bound.Min[1])},
		Max: orb.Point{min(c.sbound.Max[0], g.Bound.Max[0]), min(c.sbound.Max[1], g.Bound.Max[1])},
	}
	if !(box.Min[0] <= box.Max[0] && box.Min[1] <= box.Max[1]) {
		return orb.Point{}, false, nil
	}
	// The boundary of s ∩ g, to tell cells wholly outside it.
	var edges []edge
	window := box.Pad(1e-6)
	for _, pp := range append(append([]*ppoly(nil), c.sparts...), g.polys...) {
		if pp.bound.Intersects(window) {
			edges = append(edges, pp.edges...)
		}
	}
	boundary := newSegGrid(edges, window, 0.01)
	stack := []orb.Bound{box}
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.steps--; c.steps < 0 {
			return orb.Point{}, false, ErrTooComplex
		}
		m := b.Center()
		h := boxRadiusM(b)*(1+1e-6) + 1e-3
		in := c.inS(m) && g.contains(m)
		d := c.j.dist(m, c.t+2*c.eps)
		switch {
		case d > c.t && in:
			return m, true, nil
		case d+h <= c.t+2*c.eps:
			continue // near enough to the jurisdiction throughout
		case d == 0 && c.j.edges.nearest(m, min(h, capM)) >= h:
			continue // inside the jurisdiction throughout
		case !in && boundary.nearest(m, min(h, capM)) >= h:
			continue // outside s ∩ g throughout
		case h <= c.eps/2:
			// Every point is beyond t+ε, so no boundary of s ∩ g passes
			// here, and the centre is outside: so is the whole cell.
			continue
		}
		// Split across the long side only, so that thin cells (a shape
		// reaching just over a region's edge) do not multiply.
		w := (b.Max[0] - b.Min[0]) * math.Cos(m[1]*rad)
		ht := b.Max[1] - b.Min[1]
		mx, my := m[0], m[1]
		switch {
		case w > 2*ht:
			stack = append(stack, orb.Bound{Min: b.Min, Max: orb.Point{mx, b.Max[1]}}, orb.Bound{Min: orb.Point{mx, b.Min[1]}, Max: b.Max})
		case ht > 2*w:
			stack = append(stack, orb.Bound{Min: b.Min, Max: orb.Point{b.Max[0], my}}, orb.Bound{Min: orb.Point{b.Min[0], my}, Max: b.Max})
		default:
			stack = append(stack,
				orb.Bound{Min: b.Min, Max: orb.Point{mx, my}},
				orb.Bound{Min: orb.Point{mx, b.Min[1]}, Max: orb.Point{b.Max[0], my}},
				orb.Bound{Min: orb.Point{b.Min[0], my}, Max: orb.Point{mx, b.Max[1]}},
				orb.Bound{Min: orb.Point{mx, my}, Max: b.Max},
			)
		}
	}
	return orb.Point{}, false, nil
}
