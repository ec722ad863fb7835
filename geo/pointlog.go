package geo

import (
	"slices"
)

// logRec is a change to a PointSet: handle h now at (x, y), or (tomb) no
// longer there. seq orders the changes.
type logRec struct {
	x, y int32
	h    uint32
	tomb bool
	seq  uint64
}

// pointLog holds changes not yet merged into the packed array, bucketed by
// bands of latitude so that a lookup reads only those under its shape.
type pointLog struct {
	bands [logBands][]logRec
	n     int
}

const (
	logBands     = 720 // of 0.25°
	logBandUnits = 2_500_000
)

func logBand(y int32) int { return min((int(y)+900_000_000)/logBandUnits, logBands-1) }

func newPointLog() *pointLog { return &pointLog{} }

func (l *pointLog) add(r logRec) {
	b := logBand(r.y)
	l.bands[b] = append(l.bands[b], r)
	l.n++
}

// collect appends the records inside window (x0, y0, x1, y1) to out.
func (l *pointLog) collect(win [4]int32, out []logRec) []logRec {
	if l.n == 0 {
		return out
	}
	for b := logBand(win[1]); b <= logBand(win[3]); b++ {
		for _, r := range l.bands[b] {
			if win[0] <= r.x && r.x <= win[2] && win[1] <= r.y && r.y <= win[3] {
				out = append(out, r)
			}
		}
	}
	return out
}

func (l *pointLog) sizeBytes() int {
	n := 0
	for _, b := range l.bands {
		n += 24 * cap(b)
	}
	return n + 24*logBands
}

// mergeLog returns base with log applied: entries killed by a tombstone
// dropped, inserts not killed later added.
func mergeLog(base *packed, log *pointLog) *packed {
	var recs []logRec
	for _, b := range log.bands {
		recs = append(recs, b...)
	}
	tombs, ins := resolveLog(recs)
	ins = sortRecs(ins)
	// Count the base entries the tombstones kill, to size the result.
	var killed []bool
	if len(tombs) > 0 {
		killed = make([]bool, base.len())
	}
	nk := 0
	for _, t := range tombs {
		key := uint32(pointKey(t.x, t.y) >> 8)
		ci := base.cellIndex(key)
		if ci == len(base.cells) || base.cells[ci] != key {
			continue
		}
		for i := base.start[ci]; i < base.start[ci+1]; i++ {
			if !killed[i] && base.h[i] == t.h && base.x[i] == t.x && base.y[i] == t.y {
				killed[i] = true
				nk++
				break
			}
		}
	}
	n := base.len() - nk + len(ins)
	out := &packed{x: make([]int32, 0, n), y: make([]int32, 0, n), h: make([]uint32, 0, n)}
	// Whole cells of base without changes are copied as they are; a cell
	// with inserts or tombstones is merged point by point.
	add := func(x, y int32, h uint32, cell uint32) {
		if len(out.cells) == 0 || out.cells[len(out.cells)-1] != cell {
			out.cells = append(out.cells, cell)
			out.start = append(out.start, uint32(len(out.h)))
		}
		out.x, out.y, out.h = append(out.x, x), append(out.y, y), append(out.h, h)
	}
	j := 0 // next insert
	for ci, cell := range base.cells {
		lo, hi := int(base.start[ci]), int(base.start[ci+1])
		for ; j < len(ins) && uint32(pointKey(ins[j].x, ins[j].y)>>8) < cell; j++ {
			add(ins[j].x, ins[j].y, ins[j].h, uint32(pointKey(ins[j].x, ins[j].y)>>8))
		}
		dirty := j < len(ins) && uint32(pointKey(ins[j].x, ins[j].y)>>8) == cell
		for i := lo; i < hi && !dirty && nk > 0; i++ {
			dirty = killed[i]
		}
		if !dirty {
			out.cells = append(out.cells, cell)
			out.start = append(out.start, uint32(len(out.h)))
			out.x, out.y, out.h = append(out.x, base.x[lo:hi]...), append(out.y, base.y[lo:hi]...), append(out.h, base.h[lo:hi]...)
			continue
		}
		for i := lo; i < hi; i++ {
			if nk > 0 && killed[i] {
				continue
			}
			k := pointKey(base.x[i], base.y[i])
			for ; j < len(ins) && pointKey(ins[j].x, ins[j].y) < k; j++ {
				add(ins[j].x, ins[j].y, ins[j].h, cell)
			}
			add(base.x[i], base.y[i], base.h[i], cell)
		}
	}
	for ; j < len(ins); j++ {
		add(ins[j].x, ins[j].y, ins[j].h, uint32(pointKey(ins[j].x, ins[j].y)>>8))
	}
	out.start = append(out.start, uint32(len(out.h)))
	out.cells, out.start = slices.Clone(out.cells), slices.Clone(out.start)
	return out
}
