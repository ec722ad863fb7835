package geo

import (
	"math"
	"math/big"

	"github.com/paulmach/orb"
)

// ccwErrBound bounds the rounding error of orientDet relative to its
// magnitude sum (Shewchuk, "Adaptive Precision Floating-Point Arithmetic and
// Fast Robust Geometric Predicates", 1997): beyond it the sign is certain.
const ccwErrBound = (3 + 16*0x1p-53) * 0x1p-53

// orientDet is twice the signed area of triangle abc (positive when a, b, c
// turn counter-clockwise), in floating point, with the sum of the magnitudes
// of its two products for error estimation and whether both products are
// exactly zero.
func orientDet(a, b, c orb.Point) (det, mag float64, zero bool) {
	acx, bcy := a[0]-c[0], b[1]-c[1]
	acy, bcx := a[1]-c[1], b[0]-c[0]
	l, r := acx*bcy, acy*bcx
	// A difference of floats is zero only if they are equal, so this is
	// exact (unlike l == 0, which underflow can cause).
	zero = (acx == 0 || bcy == 0) && (acy == 0 || bcx == 0)
	return l - r, math.Abs(l) + math.Abs(r), zero
}

// orient returns +1 if a, b, c turn counter-clockwise, -1 if clockwise and 0
// if they are collinear. It is exact for finite inputs: the floating-point
// determinant decides when its error bound allows, exact rationals otherwise.
func orient(a, b, c orb.Point) int {
	det, mag, zero := orientDet(a, b, c)
	switch {
	case zero: // shared vertices, axis-parallel edges: common in boundary data
		return 0
	// Below 2^-900 products may underflow and the error bound no longer holds.
	case mag > 0x1p-900 && math.Abs(det) > ccwErrBound*mag:
		if det > 0 {
			return 1
		}
		return -1
	}
	return orientExact(a, b, c)
}

func orientExact(a, b, c orb.Point) int {
	rat := func(f float64) *big.Rat {
		r := new(big.Rat)
		r.SetFloat64(f) // leaves r zero for non-finite f, which validation rules out
		return r
	}
	sub := func(x, y float64) *big.Rat { return new(big.Rat).Sub(rat(x), rat(y)) }
	l := new(big.Rat).Mul(sub(a[0], c[0]), sub(b[1], c[1]))
	r := new(big.Rat).Mul(sub(a[1], c[1]), sub(b[0], c[0]))
	return l.Cmp(r)
}

// onSegment reports whether c, known to be collinear with a and b, lies on
// the closed segment ab.
func onSegment(a, b, c orb.Point) bool {
	return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
}

// segmentsIntersect reports whether closed segments ab and cd share a point.
func segmentsIntersect(a, b, c, d orb.Point) bool {
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return o1 == 0 && onSegment(a, b, c) || o2 == 0 && onSegment(a, b, d) ||
		o3 == 0 && onSegment(c, d, a) || o4 == 0 && onSegment(c, d, b)
}

// segmentsCross reports whether ab and cd cross at a single point interior
// to both.
func segmentsCross(a, b, c, d orb.Point) bool {
	return orient(a, b, c)*orient(a, b, d) < 0 && orient(c, d, a)*orient(c, d, b) < 0
}

// project returns the parameter t in [0, 1] of the point of segment ab
// nearest to c, and the planar distance (in degrees) between them.
func project(a, b, c orb.Point) (t, dist float64) {
	dx, dy := b[0]-a[0], b[1]-a[1]
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = min(max(((c[0]-a[0])*dx+(c[1]-a[1])*dy)/l2, 0), 1)
	}
	q := lerp(a, b, t)
	return t, math.Hypot(c[0]-q[0], c[1]-q[1])
}

// lerp returns the point at parameter t of segment ab, exactly a and b at 0
// and 1.
func lerp(a, b orb.Point, t float64) orb.Point {
	switch t {
	case 0:
		return a
	case 1:
		return b
	}
	return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}
