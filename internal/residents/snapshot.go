package residents

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/paulmach/orb"
)

// A snapshot is what Follow loaded, written to a file so that a restart
// reads it instead of every resident from JetStream (minutes at ten
// million), then catches up with the bucket's changes since: the watch
// resumes at the revision after the snapshot's.
//
// It is checked against the store before use: the file's checksum, the
// bucket's stream being the one it was taken from (its creation time), and
// the stream still holding every change after the snapshot's revision
// (nothing compacted away). Any doubt and the snapshot is ignored: Follow
// loads from JetStream as without one. It holds no phone number: ids,
// points and regions only, as the index does.
//
// Layout: magic, then uvarints (stream creation in Unix ns, revision,
// entries), the entries (kind byte; id; a point as two float64 bits or a
// region as a string), and a CRC-32C of everything before it.
const snapshotMagic = "herald-residents-index-1\n"

const (
	snapPoint  byte = 1
	snapRegion byte = 2
)

// errNoSnapshot: there is no snapshot file (a first start).
var errNoSnapshot = errors.New("no snapshot")

// Ranger lists an index's ids and points (geo.PointIndex does): what a
// snapshot is written from.
type Ranger interface {
	Len() int
	Range(fn func(id string, p orb.Point) bool)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// streamIdentity is the bucket's stream creation time and its first and
// last sequence now.
func (s *Store) streamIdentity(ctx context.Context) (created int64, first, last uint64, err error) {
	st, err := s.js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		return 0, 0, 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	return info.Created.UnixNano(), info.State.FirstSeq, info.State.LastSeq, nil
}

// writeSnapshot writes the index and the region sets as of revision rev
// to path, atomically (a temporary file renamed over the old one).
func (s *Store) writeSnapshot(ctx context.Context, path string, idx Ranger, rev uint64) (n int, err error) {
	created, _, _, err := s.streamIdentity(ctx)
	if err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".residents-snapshot-*")
	if err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	var buf [binary.MaxVarintLen64]byte
	uvarint := func(v uint64) { _, _ = w.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	str := func(s string) { uvarint(uint64(len(s))); _, _ = w.WriteString(s) }
	f64 := func(v float64) { binary.LittleEndian.PutUint64(buf[:8], math.Float64bits(v)); _, _ = w.Write(buf[:8]) }

	s.mu.RLock()
	regions := make(map[string]string, len(s.regionOf))
	for id, r := range s.regionOf {
		regions[id] = r
	}
	s.mu.RUnlock()
	// Follow, the index's only writer, is the caller: it cannot change
	// between Len and Range.
	points := idx.Len()

	_, _ = w.WriteString(snapshotMagic)
	uvarint(uint64(created))
	uvarint(rev)
	uvarint(uint64(points + len(regions)))
	written := 0
	idx.Range(func(id string, p orb.Point) bool {
		if written == points { // the count is in the header already
			return false
		}
		_ = w.WriteByte(snapPoint)
		str(id)
		f64(p[0])
		f64(p[1])
		written++
		return true
	})
	if written != points {
		return 0, errors.New("residents: snapshot: the index changed while it was written")
	}
	for id, r := range regions {
		_ = w.WriteByte(snapRegion)
		str(id)
		str(r)
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	binary.LittleEndian.PutUint32(buf[:4], crc.Sum32())
	if _, err := tmp.Write(buf[:4]); err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("residents: snapshot: %w", err)
	}
	return points + len(regions), nil
}

// loadSnapshot checks the snapshot at path against the store and, if it
// holds, puts its residents in idx and the region sets. It returns the
// revision the snapshot was taken at and how many residents it held.
func (s *Store) loadSnapshot(ctx context.Context, path string, idx Index) (rev uint64, n int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, errNoSnapshot
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	// First pass: the checksum, so nothing of a damaged file is applied.
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if st.Size() < int64(len(snapshotMagic))+4 {
		return 0, 0, errors.New("file too short")
	}
	crc := crc32.New(castagnoli)
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, st.Size()-4)); err != nil {
		return 0, 0, err
	}
	var tail [4]byte
	if _, err := f.ReadAt(tail[:], st.Size()-4); err != nil {
		return 0, 0, err
	}
	if binary.LittleEndian.Uint32(tail[:]) != crc.Sum32() {
		return 0, 0, errors.New("checksum does not match: damaged or truncated")
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, st.Size()-4), 1<<20)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return 0, 0, errors.New("not a residents snapshot of this version")
	}
	created, err1 := binary.ReadUvarint(r)
	rev, err2 := binary.ReadUvarint(r)
	count, err3 := binary.ReadUvarint(r)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, 0, fmt.Errorf("header: %w", err)
	}
	nowCreated, first, last, err := s.streamIdentity(ctx)
	switch {
	case err != nil:
		return 0, 0, err
	case int64(created) != nowCreated:
		return 0, 0, errors.New("the residents bucket was created anew since the snapshot")
	case rev > last:
		return 0, 0, fmt.Errorf("the snapshot is at revision %d but the bucket ends at %d", rev, last)
	case first > rev+1:
		return 0, 0, fmt.Errorf("the bucket no longer holds the changes after revision %d (it starts at %d)", rev, first)
	}
	str := func() (string, error) {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		if l > 1<<16 {
			return "", errors.New("string too long")
		}
		b := make([]byte, l)
		_, err = io.ReadFull(r, b)
		return string(b), err
	}
	// An index that can take every point at once (geo.PointIndex.Bulk)
	// gets them so: seconds instead of tens at ten million.
	bulk, canBulk := idx.(interface {
		Bulk(ids []string, pts []orb.Point) error
	})
	var ids []string
	var pts []orb.Point
	if canBulk {
		ids, pts = make([]string, 0, count), make([]orb.Point, 0, count)
	}
	var b8 [8]byte
	f64 := func() (float64, error) {
		_, err := io.ReadFull(r, b8[:])
		return math.Float64frombits(binary.LittleEndian.Uint64(b8[:])), err
	}
	for i := uint64(0); i < count; i++ {
		kind, err := r.ReadByte()
		if err != nil {
			return 0, 0, fmt.Errorf("entry %d: %w", i, err)
		}
		id, err := str()
		if err != nil {
			return 0, 0, fmt.Errorf("entry %d: %w", i, err)
		}
		switch kind {
		case snapPoint:
			lon, err1 := f64()
			lat, err2 := f64()
			if err := errors.Join(err1, err2); err != nil {
				return 0, 0, fmt.Errorf("entry %d: %w", i, err)
			}
			if canBulk {
				ids, pts = append(ids, id), append(pts, orb.Point{lon, lat})
			} else {
				idx.Put(id, orb.Point{lon, lat})
			}
		case snapRegion:
			region, err := str()
			if err != nil {
				return 0, 0, fmt.Errorf("entry %d: %w", i, err)
			}
			s.setRegion(id, region)
		default:
			return 0, 0, fmt.Errorf("entry %d: unknown kind %d", i, kind)
		}
	}
	if canBulk {
		if err := bulk.Bulk(ids, pts); err != nil {
			return 0, 0, err
		}
	}
	return rev, int(count), nil
}

// snapshotEvery is how often Follow writes a snapshot while residents
// change (and once more when it stops).
const snapshotEvery = 10 * time.Minute
