package residents

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paulmach/orb"
)

// Index is the spatial index Follow keeps: residents by point, keyed by
// resident id (geo.PointIndex satisfies it). Put replaces an id's point;
// Delete of an absent id does nothing. If the index is read while Follow
// runs, it must be safe for concurrent use.
type Index interface {
	Put(id string, p orb.Point)
	Delete(id string)
}

// Follow keeps idx in step with the bucket until ctx ends: it loads every
// resident, calls ready (if not nil) once that initial load is in, then
// applies each put and delete as it happens, whoever makes it (this Store,
// another Store, another Herald process sharing the NATS).
//
// Residents with a point are put in idx at orb.Point{Lon, Lat}. Region-only
// residents are kept out of idx and listed by ByRegion instead. Opted-out
// residents are in neither, so plans and previews leave them out; the
// dispatcher still checks opt-out before each send, as a STOP may arrive in
// between.
//
// idx should start empty: Follow only adds and removes what the bucket
// says. ready runs on Follow's goroutine, so it should return quickly. One
// Follow runs per Store at a time. It returns ctx.Err() when ctx ends, or
// an error if the watch cannot start or stops.
func (s *Store) Follow(ctx context.Context, idx Index, ready func()) error {
	if !s.following.CompareAndSwap(false, true) {
		return errors.New("residents: Follow is already running on this Store")
	}
	defer s.following.Store(false)

	// A restarted Follow reloads everything, so start the region sets anew.
	s.mu.Lock()
	clear(s.byRegion)
	clear(s.regionOf)
	s.mu.Unlock()

	// With a snapshot that holds, load it and watch only what changed
	// since; else read every resident.
	var opts []jetstream.WatchOpt
	var rev, snapped uint64
	if s.snapshot != "" {
		start := time.Now()
		switch r, n, err := s.loadSnapshot(ctx, s.snapshot, idx); {
		case err == nil:
			rev, snapped = r, r
			opts = []jetstream.WatchOpt{jetstream.IncludeHistory(), jetstream.ResumeFromRevision(r + 1)}
			s.logger.Info("residents: index loaded from snapshot; catching up with the changes since", "residents", n, "revision", r, "took", time.Since(start).Round(time.Millisecond))
		case errors.Is(err, errNoSnapshot):
		default:
			s.logger.Warn("residents: snapshot not used; loading every resident from JetStream", "file", s.snapshot, "reason", err)
		}
	}
	w, err := s.kv.WatchAll(ctx, opts...)
	if err != nil {
		return fmt.Errorf("residents: watch %s: %w", Bucket, err)
	}
	defer func() {
		_ = w.Stop()
		// The watcher's delivery callback may be blocked sending to a full
		// channel; drain until Stop closes it so that callback can return.
		go func() {
			for range w.Updates() {
			}
		}()
	}()

	ranger, canSnap := idx.(Ranger)
	canSnap = canSnap && s.snapshot != ""
	snap := func(ctx context.Context) {
		if !canSnap || rev == snapped {
			return
		}
		start := time.Now()
		n, err := s.writeSnapshot(ctx, s.snapshot, ranger, rev)
		if err != nil {
			s.logger.Warn("residents: snapshot not written", "error", err)
			return
		}
		snapped = rev
		s.logger.Info("residents: index snapshot written", "residents", n, "revision", rev, "took", time.Since(start).Round(time.Millisecond))
	}
	tick := time.NewTicker(snapshotEvery)
	defer tick.Stop()
	loaded := false
	// stop leaves a snapshot for the next start (a few seconds at ten
	// million residents). The watch ends with ctx too, so either may be
	// seen first: both come here.
	stop := func() error {
		if loaded {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			snap(sctx)
			cancel()
		}
		return ctx.Err()
	}
	for {
		select {
		case <-ctx.Done():
			return stop()
		case <-tick.C:
			if loaded {
				snap(ctx)
			}
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return stop()
				}
				return fmt.Errorf("residents: watch of %s stopped", Bucket)
			}
			if e == nil { // end of the initial values
				if !loaded {
					loaded = true
					if ready != nil {
						ready()
					}
				}
				continue
			}
			s.apply(ctx, idx, e)
			rev = e.Revision()
		}
	}
}

// apply brings idx and the region sets up to date with one bucket entry.
// The lock covers only the region maps, never a call into idx.
func (s *Store) apply(ctx context.Context, idx Index, e jetstream.KeyValueEntry) {
	id := e.Key()
	r, ok := s.reachable(ctx, e)
	switch {
	case !ok:
		s.setRegion(id, "")
		idx.Delete(id)
	case r.HasPoint():
		s.setRegion(id, "")
		idx.Put(id, orb.Point{r.Lon, r.Lat})
	default:
		s.setRegion(id, r.Region)
		idx.Delete(id)
	}
}

// placement is what the index needs of a record: where the resident is
// and whether alerts may reach them. Decoding only this (no decryption of
// the number) is what keeps loading millions of residents quick; a record
// whose number does not decrypt is found when a send composes it.
type placement struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Region   string  `json:"region"`
	OptedOut bool    `json:"opted_out"`
	PhoneEnc present `json:"phone_enc"`
	Phone    present `json:"phone"`
}

// present is whether a JSON string field holds something, without copying
// it (the index never reads a number).
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = len(b) > 2 && b[0] == '"' // "" and null are absent
	return nil
}

// reachable decodes where the resident an entry holds is, if it is one
// alerts may reach: not deleted, not opted out.
func (s *Store) reachable(ctx context.Context, e jetstream.KeyValueEntry) (Resident, bool) {
	if e.Operation() != jetstream.KeyValuePut {
		return Resident{}, false
	}
	var p placement
	if err := json.Unmarshal(e.Value(), &p); err != nil || !p.PhoneEnc && !p.Phone {
		// One bad record must not stop alerts for everyone else; it stays
		// out of the index until it is rewritten.
		slog.WarnContext(ctx, "residents: skipping a record that does not decode", "id", e.Key(), "err", cmp.Or(err, errors.New("no phone number")))
		return Resident{}, false
	}
	return Resident{ID: e.Key(), Lat: p.Lat, Lon: p.Lon, Region: p.Region}, !p.OptedOut
}

// setRegion records that id is a region-only resident of region, or of
// none when region is "".
func (s *Store) setRegion(id, region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.regionOf[id]
	if had && old == region {
		return
	}
	if had {
		delete(s.byRegion[old], id)
		if len(s.byRegion[old]) == 0 {
			delete(s.byRegion, old)
		}
		delete(s.regionOf, id)
	}
	if region == "" {
		return
	}
	s.regionOf[id] = region
	set := s.byRegion[region]
	if set == nil {
		set = map[string]struct{}{}
		s.byRegion[region] = set
	}
	set[id] = struct{}{}
}

// ByRegion returns the ids, sorted, of the residents subscribed to the
// region by id rather than by a point, who have not opted out. Follow
// keeps it; it is empty until Follow's initial load.
func (s *Store) ByRegion(regionID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.byRegion[regionID]))
}
