package geo

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// idTable maps string ids to dense uint32 handles and back in 10 to 16
// bytes per id beyond the id's own bytes (against some 70 for a Go map of
// strings): each id is stored once, length-prefixed, in large byte chunks;
// a handle's id is found by its offset there, and an id's handle by an
// open-addressing hash table of handles tagged with hash bits, which
// compares ids only when the tags match.
//
// Writers must be serialised by the caller. Readers may resolve handles
// concurrently through an idView, which is never changed in a way they can
// see: chunk bytes once written are never rewritten, new entries are
// written before their handle is published, and compaction builds a new
// view rather than editing the old one. That is also what makes it safe to
// return ids as strings sharing the chunks' memory.
type idTable struct {
	seed    maphash.Seed
	v       atomic.Pointer[idView]
	slots   []uint32 // tag<<handleBits | handle+1, 0 for empty; len a power of two
	n       int      // ids
	fill    int      // bytes used in the current chunk
	cur     int      // index of the current chunk, -1 before the first
	live    int      // bytes of live ids, prefixes included
	garbage int      // bytes of deleted ids
}

// idView resolves handles to ids.
type idView struct {
	pages  [][]uint32 // handle -> offset of its id: chunk<<chunkBits | position
	chunks [][]byte
}

const (
	// handleBits is the width of a handle in a hash slot; the other bits
	// hold a tag, the top bits of the id's hash, so that most slots of a
	// probe are passed over without reading their id.
	handleBits = 27
	handleMask = 1<<handleBits - 1
	// MaxPointIndexIDs is how many ids a PointIndex can hold at once.
	MaxPointIndexIDs = handleMask - 1

	chunkBits = 20 // chunks of 1 MiB
	chunkSize = 1 << chunkBits
	pageBits  = 16 // pages of 64 Ki handles
	pageSize  = 1 << pageBits
)

func (t *idTable) init() {
	t.seed, t.cur = maphash.MakeSeed(), -1
	t.v.Store(&idView{})
}

// name returns the id of handle h. The string shares the chunk's memory,
// which is never modified once written.
func (v *idView) name(h uint32) string {
	off := v.pages[h>>pageBits][h&(pageSize-1)]
	c := v.chunks[off>>chunkBits]
	pos := int(off & (chunkSize - 1))
	n, k := binary.Uvarint(c[pos:])
	if n == 0 {
		return ""
	}
	return unsafe.String(&c[pos+k], int(n))
}

func (t *idTable) hash(id string) uint32 { return uint32(maphash.String(t.seed, id)) }

// lookup returns the handle of id.
func (t *idTable) lookup(id string) (uint32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	v := t.v.Load()
	mask := uint32(len(t.slots) - 1)
	hash := t.hash(id)
	tag := hash >> handleBits
	for i := hash & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>handleBits == tag && v.name(s&handleMask-1) == id {
			return s&handleMask - 1, true
		}
	}
}

// insert records id under handle h; id must not be present.
func (t *idTable) insert(id string, h uint32) {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	t.v.Store(t.append(t.v.Load(), id, h))
	t.place(t.hash(id), h)
	t.n++
}

func (t *idTable) place(hash, h uint32) {
	mask := uint32(len(t.slots) - 1)
	i := hash & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = hash>>handleBits<<handleBits | (h + 1)
}

// grow doubles the hash table, reading every id again to hash it (keeping
// hashes would cost 4 bytes an id). Ids are read in handle order, which is
// mostly the order they were written in, so the reads are sequential.
func (t *idTable) grow() {
	old := t.slots
	t.slots = make([]uint32, max(2*len(old), 1024))
	var live []uint64 // bitmap of handles
	for _, s := range old {
		if s != 0 {
			h := s&handleMask - 1
			for int(h>>6) >= len(live) {
				live = append(live, 0)
			}
			live[h>>6] |= 1 << (h & 63)
		}
	}
	v := t.v.Load()
	for w, word := range live {
		for ; word != 0; word &= word - 1 {
			h := uint32(w<<6 + bits.TrailingZeros64(word))
			t.place(t.hash(v.name(h)), h)
		}
	}
}

// append writes id's bytes after the current chunk's and points handle h
// at them in v, returning v or, if it needed a chunk or page more, a new
// view. Entries and bytes it writes are ones no reader of v looks at yet.
func (t *idTable) append(v *idView, id string, h uint32) *idView {
	size := uvarintLen(len(id)) + len(id)
	var off uint32
	if size > chunkSize/4 {
		// A long id gets a chunk of its own.
		c := binary.AppendUvarint(make([]byte, 0, size), uint64(len(id)))
		v = v.withChunk(append(c, id...))
		off = uint32(len(v.chunks)-1) << chunkBits
	} else {
		if t.cur < 0 || t.fill+size > chunkSize {
			v = v.withChunk(make([]byte, chunkSize))
			t.cur, t.fill = len(v.chunks)-1, 0
		}
		c := v.chunks[t.cur]
		k := binary.PutUvarint(c[t.fill:], uint64(len(id)))
		copy(c[t.fill+k:], id)
		off = uint32(t.cur)<<chunkBits | uint32(t.fill)
		t.fill += size
	}
	if page := int(h >> pageBits); page >= len(v.pages) {
		nv := &idView{pages: make([][]uint32, page+1), chunks: v.chunks}
		copy(nv.pages, v.pages)
		for p := len(v.pages); p <= page; p++ {
			nv.pages[p] = make([]uint32, pageSize)
		}
		v = nv
	}
	v.pages[h>>pageBits][h&(pageSize-1)] = off
	t.live += size
	return v
}

// withChunk returns a view with chunk c added.
func (v *idView) withChunk(c []byte) *idView {
	if len(v.chunks) >= 1<<(32-chunkBits) {
		// Offsets have room for 4096 chunks: 4 GiB of ids, more than
		// MaxPointIndexIDs ids of any sensible length.
		panic("geo: PointIndex id storage is full")
	}
	chunks := make([][]byte, len(v.chunks), len(v.chunks)+1)
	copy(chunks, v.chunks)
	return &idView{pages: v.pages, chunks: append(chunks, c)}
}

// remove forgets id, held by handle h. The handle still resolves to id
// until released, for readers that may still report it.
func (t *idTable) remove(id string, h uint32) {
	v := t.v.Load()
	mask := uint32(len(t.slots) - 1)
	i := t.hash(id) & mask
	for t.slots[i]&handleMask != h+1 {
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move later entries of the probe run into
	// the gap when their home slot allows, so lookups need no tombstones.
	for j := (i + 1) & mask; t.slots[j] != 0; j = (j + 1) & mask {
		home := t.hash(v.name(t.slots[j]&handleMask-1)) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = 0
	t.n--
}

// release records that removed handle h will be resolved no more: its id's
// bytes are garbage.
func (t *idTable) release(h uint32) {
	size := uvarintLen(len(t.v.Load().name(h)))
	size += len(t.v.Load().name(h))
	t.live -= size
	t.garbage += size
}

func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}

// compact copies the ids of the hash table into new chunks, once most
// chunk bytes are garbage, and publishes a view over them. The caller must
// make sure no reader can still resolve a released handle (see
// PointIndex.recycle). Readers holding the old view keep using it.
func (t *idTable) maybeCompact() {
	if t.garbage <= max(t.live, 4*chunkSize) {
		return
	}
	old := t.v.Load()
	nv := &idView{pages: make([][]uint32, len(old.pages))}
	for p := range nv.pages {
		nv.pages[p] = make([]uint32, pageSize)
	}
	t.cur, t.fill, t.live, t.garbage = -1, 0, 0, 0
	for _, s := range t.slots {
		if s != 0 {
			h := s&handleMask - 1
			nv = t.append(nv, old.name(h), h)
		}
	}
	t.v.Store(nv)
}

// sizeBytes returns the memory the table holds.
func (t *idTable) sizeBytes() int {
	v := t.v.Load()
	n := 4*cap(t.slots) + 24*cap(v.pages) + 24*cap(v.chunks)
	for _, p := range v.pages {
		n += 4 * cap(p)
	}
	for _, c := range v.chunks {
		n += cap(c)
	}
	return n
}
