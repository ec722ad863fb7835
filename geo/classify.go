package geo

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// The point grid: cells of pointCellDeg, each divided into subCells×subCells
// sub-cells. Coordinates are held as integers in units of PointPrecision
// (see Quantize), so a point's cell and sub-cell are exact integer
// arithmetic.
const (
	// pointCellDeg is the cell size, about 5 km: small enough that most
	// cells of a county are wholly inside or outside it, large enough that
	// the cells of a state number tens of thousands.
	pointCellDeg = 0.05
	gridCols     = 7200 // 360 / pointCellDeg
	gridRows     = 3600 // 180 / pointCellDeg
	cellUnits    = 500_000
	subCells     = 16 // per side: sub-cells of about 350 m
	subUnits     = cellUnits / subCells
	// cellPad widens a cell when classifying it so that rounding in the
	// integer-to-degree conversion cannot leave a point outside its cell.
	cellPad = 1e-9
)

// PointPrecision is the resolution, in degrees, at which point indexes
// store coordinates: about 1 cm.
const PointPrecision = 1e-7

// Quantize returns p as a point index stores it: each coordinate rounded to
// a multiple of PointPrecision. Indexes answer exactly for the rounded point.
func Quantize(p orb.Point) orb.Point {
	x, y := quantize(p)
	return dequantize(x, y)
}

func quantize(p orb.Point) (int32, int32) {
	return int32(math.Round(p[0] * 1e7)), int32(math.Round(p[1] * 1e7))
}

func dequantize(x, y int32) orb.Point { return orb.Point{float64(x) / 1e7, float64(y) / 1e7} }

// gridPos returns the cell column and row of a quantized point and its
// sub-cell column and row within the cell. Longitude 180 and latitude 90
// belong to the last column and row.
func gridPos(x, y int32) (col, row, sx, sy int) {
	ux, uy := int(x)+1_800_000_000, int(y)+900_000_000
	col, row = ux/cellUnits, uy/cellUnits
	sx, sy = ux%cellUnits/subUnits, uy%cellUnits/subUnits
	if col >= gridCols {
		col, sx = gridCols-1, subCells-1
	}
	if row >= gridRows {
		row, sy = gridRows-1, subCells-1
	}
	return
}

func cellKey(col, row int) uint32 { return uint32(row*gridCols + col) }

// morton interleaves the bits of two 4-bit sub-cell coordinates (x in the
// even bits), so that every quadrant of a cell, at any depth, is a
// contiguous run of sub-cell numbers.
func morton(sx, sy int) uint8 { return spread4[sx&15] | spread4[sy&15]<<1 }

// spread4[v] is v with a zero bit inserted above each of its 4 bits.
var spread4 = [16]uint8{0x00, 0x01, 0x04, 0x05, 0x10, 0x11, 0x14, 0x15, 0x40, 0x41, 0x44, 0x45, 0x50, 0x51, 0x54, 0x55}

// pointKey orders a point index: by cell (row-major) then sub-cell.
func pointKey(x, y int32) uint64 {
	col, row, sx, sy := gridPos(x, y)
	return uint64(cellKey(col, row))<<8 | uint64(morton(sx, sy))
}

// cellCol and cellRow give the grid column and row of a lon and lat, clamped.
func cellCol(lon float64) int {
	return min(max(int(math.Floor((lon+180)/pointCellDeg)), 0), gridCols-1)
}

func cellRow(lat float64) int {
	return min(max(int(math.Floor((lat+90)/pointCellDeg)), 0), gridRows-1)
}

// cellBound returns the lon/lat box of a grid cell, padded.
func cellBound(col, row int) orb.Bound {
	return orb.Bound{
		Min: orb.Point{float64(col)*pointCellDeg - 180, float64(row)*pointCellDeg - 90},
		Max: orb.Point{float64(col+1)*pointCellDeg - 180, float64(row+1)*pointCellDeg - 90},
	}.Pad(cellPad)
}

// subBound returns the box of the sub-cells [sx0, sx1) x [sy0, sy1) of a
// cell, padded.
func subBound(col, row, sx0, sy0, sx1, sy1 int) orb.Bound {
	x := float64(col)*pointCellDeg - 180
	y := float64(row)*pointCellDeg - 90
	const w = pointCellDeg / subCells
	return orb.Bound{
		Min: orb.Point{x + float64(sx0)*w, y + float64(sy0)*w},
		Max: orb.Point{x + float64(sx1)*w, y + float64(sy1)*w},
	}.Pad(cellPad)
}

type cellState uint8

const (
	cellOutside cellState = iota
	cellMixed             // the boundary may pass through: look closer
	cellInside
)

// shapeParts is a shape as a list of parts, whose union it is: polygons
// (drawn and geocoded) then circles. Parts are numbered in that order.
type shapeParts struct {
	polys   []*ppoly
	circles []circle
}

func (s *Shape) parts() shapeParts {
	sp := shapeParts{polys: slices.Clip(s.polys), circles: s.circles}
	for _, g := range s.regions {
		sp.polys = append(sp.polys, g.polys...)
	}
	sp.polys = append(sp.polys, s.tables...)
	return sp
}

func (sp *shapeParts) n() int { return len(sp.polys) + len(sp.circles) }

// contains reports whether part i contains p, boundary included.
func (sp *shapeParts) contains(i int32, p orb.Point) bool {
	if int(i) < len(sp.polys) {
		return sp.polys[i].locate(p) != outside
	}
	c := sp.circles[int(i)-len(sp.polys)]
	return c.bound.Contains(p) && haversineKm(c.Center, p) <= c.RadiusKm
}

// classifyBox tells where box b lies against part i: wholly inside, wholly
// outside, or crossed by (or too near) its boundary.
func (sp *shapeParts) classifyBox(i int32, b orb.Bound) cellState {
	if int(i) >= len(sp.polys) {
		c := sp.circles[int(i)-len(sp.polys)]
		if !b.Intersects(c.bound) {
			return cellOutside
		}
		lo, hi := boxDistKm(c.Center, b)
		switch {
		case hi <= c.RadiusKm-1e-6: // 1 mm for rounding
			return cellInside
		case lo <= c.RadiusKm+1e-6:
			return cellMixed
		}
		return cellOutside
	}
	pp := sp.polys[i]
	if !b.Intersects(pp.bound) {
		return cellOutside
	}
	for k := range pp.index.near(pp.edges, b.Min[1], b.Max[1]) {
		if e := pp.edges[k]; segmentMeetsBox(e.a, e.b, b) {
			return cellMixed
		}
	}
	// No edge enters the box, so it is on one side of every edge.
	if pp.locate(b.Center()) == inside {
		return cellInside
	}
	return cellOutside
}

// segmentMeetsBox reports whether segment ab has a point in box b (Liang-
// Barsky clipping). The caller pads b, so rounding here errs towards yes.
func segmentMeetsBox(a, c orb.Point, b orb.Bound) bool {
	t0, t1 := 0.0, 1.0
	for axis := range 2 {
		lo, hi, p, d := b.Min[axis], b.Max[axis], a[axis], c[axis]-a[axis]
		if d == 0 {
			if p < lo || p > hi {
				return false
			}
			continue
		}
		u0, u1 := (lo-p)/d, (hi-p)/d
		if u0 > u1 {
			u0, u1 = u1, u0
		}
		t0, t1 = max(t0, u0), min(t1, u1)
		if t0 > t1 {
			return false
		}
	}
	return true
}

// cellGrid classifies the grid cells of a window against a shape, and
// remembers for each mixed cell which parts make it so: a point of a mixed
// cell is in the shape exactly when it is in one of those parts, since no
// part contains the cell and the other parts miss it.
type cellGrid struct {
	sp             shapeParts
	c0, r0, nc, nr int
	state          []cellState // row-major, nc*nr
	mixed          []uint64    // cell index << 32 | part, sorted
}

// maxGridCells bounds the dense classification grid; beyond it (shapes the
// size of a continent) cells are classified one by one as they are met.
const maxGridCells = 4 << 20

// classifyCells classifies the cells [c0, c1] x [r0, r1] against sp, or
// returns nil if that window is too large to classify densely.
func classifyCells(sp shapeParts, c0, c1, r0, r1 int) *cellGrid {
	g := &cellGrid{sp: sp, c0: c0, r0: r0, nc: c1 - c0 + 1, nr: r1 - r0 + 1}
	if g.nc*g.nr > maxGridCells {
		return nil
	}
	g.state = make([]cellState, g.nc*g.nr)
	for i, pp := range sp.polys {
		g.addPolygon(int32(i), pp)
	}
	for i, c := range sp.circles {
		g.addCircle(int32(len(sp.polys)+i), c)
	}
	slices.Sort(g.mixed)
	return g
}

func (g *cellGrid) mark(cell int, part int32, st cellState) {
	switch st {
	case cellMixed:
		g.mixed = append(g.mixed, uint64(cell)<<32|uint64(part))
		g.state[cell] = max(g.state[cell], cellMixed)
	case cellInside:
		g.state[cell] = cellInside
	}
}

// addPolygon classifies the cells under pp's bound, row by row: cells that
// an edge may pass through (by its extent within the row, padded) are
// mixed; between them, runs of cells untouched by the boundary are wholly
// inside or outside, as their first cell's centre is.
func (g *cellGrid) addPolygon(part int32, pp *ppoly) {
	pc0, pc1 := max(cellCol(pp.bound.Min[0]-cellPad), g.c0), min(cellCol(pp.bound.Max[0]+cellPad), g.c0+g.nc-1)
	pr0, pr1 := max(cellRow(pp.bound.Min[1]-cellPad), g.r0), min(cellRow(pp.bound.Max[1]+cellPad), g.r0+g.nr-1)
	if pc0 > pc1 || pr0 > pr1 {
		return
	}
	row := make([]cellState, pc1-pc0+1)
	for r := pr0; r <= pr1; r++ {
		clear(row)
		rb := cellBound(pc0, r)
		ylo, yhi := rb.Min[1], rb.Max[1]
		for k := range pp.index.near(pp.edges, ylo, yhi) {
			e := pp.edges[k]
			x0, x1 := e.a[0], e.b[0]
			if dy := e.b[1] - e.a[1]; dy != 0 {
				// The edge's longitudes within the row, at its clipped ends.
				t0 := min(max((ylo-e.a[1])/dy, 0), 1)
				t1 := min(max((yhi-e.a[1])/dy, 0), 1)
				x0, x1 = e.a[0]+t0*(e.b[0]-e.a[0]), e.a[0]+t1*(e.b[0]-e.a[0])
			}
			lo, hi := cellCol(min(x0, x1)-cellPad)-pc0, cellCol(max(x0, x1)+cellPad)-pc0
			for c := max(lo, 0); c <= min(hi, len(row)-1); c++ {
				row[c] = cellMixed
			}
		}
		base := (r - g.r0) * g.nc
		for c := 0; c < len(row); {
			if row[c] == cellMixed {
				g.mark(base+pc0+c-g.c0, part, cellMixed)
				c++
				continue
			}
			in := pp.locate(cellBound(pc0+c, r).Center()) == inside
			for ; c < len(row) && row[c] != cellMixed; c++ {
				if in {
					g.mark(base+pc0+c-g.c0, part, cellInside)
				}
			}
		}
	}
}

func (g *cellGrid) addCircle(part int32, c circle) {
	pc0, pc1 := max(cellCol(c.bound.Min[0]), g.c0), min(cellCol(c.bound.Max[0]), g.c0+g.nc-1)
	pr0, pr1 := max(cellRow(c.bound.Min[1]), g.r0), min(cellRow(c.bound.Max[1]), g.r0+g.nr-1)
	for r := pr0; r <= pr1; r++ {
		for col := pc0; col <= pc1; col++ {
			g.mark((r-g.r0)*g.nc+col-g.c0, part, g.sp.classifyBox(part, cellBound(col, r)))
		}
	}
}

// mixedParts returns the parts that make cell (col, row) mixed, given
// *cursor at or before the cell's first entry in g.mixed (cells are visited
// in increasing order), and advances the cursor past them.
func (g *cellGrid) mixedParts(col, row int, cursor *int, buf []int32) []int32 {
	cell := uint64((row-g.r0)*g.nc + col - g.c0)
	buf = buf[:0]
	for *cursor < len(g.mixed) && g.mixed[*cursor]>>32 < cell {
		*cursor++
	}
	for ; *cursor < len(g.mixed) && g.mixed[*cursor]>>32 == cell; *cursor++ {
		if p := int32(g.mixed[*cursor]); len(buf) == 0 || buf[len(buf)-1] != p {
			buf = append(buf, p)
		}
	}
	return buf
}

// classifyCell classifies one cell against all parts, for windows too
// large for a cellGrid, and returns the parts that make it mixed.
func (sp *shapeParts) classifyCell(col, row int, buf []int32) (cellState, []int32) {
	b := cellBound(col, row)
	buf = buf[:0]
	for i := range int32(sp.n()) {
		switch sp.classifyBox(i, b) {
		case cellInside:
			return cellInside, buf[:0]
		case cellMixed:
			buf = append(buf, i)
		}
	}
	if len(buf) > 0 {
		return cellMixed, buf
	}
	return cellOutside, buf
}
