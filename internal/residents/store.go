package residents

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/channels/phone"
)

// Bucket is the JetStream KV bucket that holds residents, one key per
// resident id.
const Bucket = "HERALD_SUBSCRIBERS"

// keySubject is the subject of a resident's entry in the bucket's stream,
// less the key: Import writes there directly to pipeline its creates.
const keySubject = "$KV." + Bucket + "."

// MinKeyLen is the shortest secret Open accepts (256 bits).
const MinKeyLen = 32

// maxCASRetries bounds the read-modify-write loops: a conflict means
// another writer changed the same resident between our read and write.
const maxCASRetries = 8

// Store reads and writes residents. It is safe for concurrent use.
type Store struct {
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	keys keys
	macs sync.Pool // of hmac.New(sha256.New, keys.id), for ID

	following atomic.Bool
	// Region-only residents, kept by Follow: region id -> resident ids,
	// and resident id -> region id to undo it on delete.
	mu       sync.RWMutex
	byRegion map[string]map[string]struct{}
	regionOf map[string]string

	// snapshot is the file Follow keeps its index in ("" for none).
	snapshot string
	logger   *slog.Logger
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
	// Secret derives residents' ids and the encryption of their numbers
	// (at least MinKeyLen bytes).
	Secret []byte
	// Snapshot, when set, is the file where Follow keeps a snapshot of its
	// index, so a restart need not read every resident (see snapshot.go).
	Snapshot string
	// Logger reports snapshots; nil discards.
	Logger *slog.Logger
}

// Open creates the bucket, or updates its configuration, with the given
// number of replicas. secret is at least MinKeyLen random bytes, the same
// for every Herald process sharing the bucket: the key of resident ids
// (keyed hashes of phone numbers) and of the numbers' encryption at rest
// are derived from it.
//
// Open fails with ErrWrongKey if the bucket was written with another
// secret, rather than make ids that find nobody and numbers that do not
// decrypt. On a bucket written before numbers were encrypted, it first
// encrypts every record (see migrate).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	js, replicas := cfg.JS, cfg.Replicas
	secret := cfg.Secret
	if len(secret) < MinKeyLen {
		return nil, fmt.Errorf("residents: secret has %d bytes, want at least %d", len(secret), MinKeyLen)
	}
	k, err := deriveKeys(secret)
	if err != nil {
		return nil, err
	}
	migrate := false
	switch old, err := js.KeyValue(ctx, Bucket); {
	case errors.Is(err, jetstream.ErrBucketNotFound):
	case err != nil:
		return nil, fmt.Errorf("residents: look up bucket %s: %w", Bucket, err)
	default:
		st, err := old.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("residents: bucket %s status: %w", Bucket, err)
		}
		check, ok := st.Metadata()[metaKeyCheck]
		if ok && check != k.check {
			return nil, fmt.Errorf("residents: bucket %s: %w: it was written with another residents.key; "+
				"every Herald process sharing NATS needs the same one", Bucket, ErrWrongKey)
		}
		migrate = !ok
	}

	kvc := jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: residents who receive SMS alerts",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		// One revision: a deleted resident, or an old ciphertext, does not
		// linger in history.
		History: 1,
	}
	mark := func() {
		kvc.Metadata = map[string]string{metaKeyCheck: k.check}
	}
	if !migrate {
		mark()
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, kvc)
	if err != nil {
		return nil, fmt.Errorf("residents: create bucket %s: %w", Bucket, err)
	}
	s := &Store{
		js:       js,
		kv:       kv,
		keys:     k,
		byRegion: map[string]map[string]struct{}{},
		regionOf: map[string]string{},
		snapshot: cfg.Snapshot,
		logger:   cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
	}
	if migrate {
		// Marked only once done, so an interrupted migration resumes on
		// the next start.
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
		mark()
		if _, err := js.CreateOrUpdateKeyValue(ctx, kvc); err != nil {
			return nil, fmt.Errorf("residents: mark bucket %s: %w", Bucket, err)
		}
	}
	return s, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// idLen is len("r") + base32 of 15 bytes.
const idLen = 1 + 24

// ID returns the resident id of an E.164 number (as phone.Normalize
// returns it; other spellings give other ids).
func (s *Store) ID(e164 string) string {
	// An import computes a million of these: the keyed hash state is
	// reused rather than set up again for each.
	mac, _ := s.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, s.keys.id)
	}
	mac.Reset()
	mac.Write([]byte(e164))
	var sum [sha256.Size]byte
	id := "r" + strings.ToLower(idEncoding.EncodeToString(mac.Sum(sum[:0])[:15]))
	s.macs.Put(mac)
	return id
}

// validID reports whether id could be a resident id, so that malformed ids
// from outside are ErrNotFound rather than a KV key error.
func validID(id string) bool {
	if len(id) != idLen || id[0] != 'r' {
		return false
	}
	for _, c := range id[1:] {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// Put adds or updates the resident with r's phone number. It normalizes
// the phone (numbers without a country code are read as US ones) and the
// language, validates the rest (see Validate), and sets ID, Created and
// Updated. Updating an existing resident keeps its Created and OptedOut:
// a re-import must not resubscribe someone who sent STOP.
func (s *Store) Put(ctx context.Context, r Resident) (Resident, error) {
	r, err := normalize(r, phone.DefaultRegion)
	if err != nil {
		return Resident{}, fmt.Errorf("residents: %w", err)
	}
	r.ID = s.ID(r.Phone)
	for range maxCASRetries {
		now := time.Now().UTC()
		r.Updated = now
		old, rev, err := s.get(ctx, r.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			r.Created = now
			err = s.write(ctx, r, 0)
		case err != nil:
			return Resident{}, err
		default:
			r.Created, r.OptedOut = old.Created, old.OptedOut
			err = s.write(ctx, r, rev)
		}
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			return Resident{}, err
		}
		return r, nil
	}
	return Resident{}, fmt.Errorf("residents: put %s: too many concurrent updates", r)
}

// Get returns the resident with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Resident, error) {
	r, _, err := s.get(ctx, id)
	return r, err
}

// ByPhone returns the resident with the given number (E.164, or a US
// number in national form), ErrNotFound, or ErrInvalidPhone.
func (s *Store) ByPhone(ctx context.Context, e164 string) (Resident, error) {
	n, err := phone.Normalize(e164, phone.DefaultRegion)
	if err != nil {
		return Resident{}, fmt.Errorf("residents: %w: %w", ErrInvalidPhone, err)
	}
	return s.Get(ctx, s.ID(n))
}

// Delete removes the resident with the given id, or returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, rev, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	// The revision makes a concurrent delete report ErrNotFound to one of
	// the two callers instead of success to both.
	err = s.kv.Delete(ctx, id, jetstream.LastRevision(rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		if _, _, err := s.get(ctx, id); err != nil {
			return err
		}
		return s.kv.Delete(ctx, id) // updated meanwhile: still delete it
	}
	if err != nil {
		return fmt.Errorf("residents: delete %s: %w", id, err)
	}
	return nil
}

// SetOptOut records STOP (out) or START (!out) for the resident with the
// given id, or returns ErrNotFound.
func (s *Store) SetOptOut(ctx context.Context, id string, out bool) error {
	for range maxCASRetries {
		r, rev, err := s.get(ctx, id)
		if err != nil {
			return err
		}
		if r.OptedOut == out {
			return nil
		}
		r.OptedOut, r.Updated = out, time.Now().UTC()
		err = s.write(ctx, r, rev)
		if errors.Is(err, errConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("residents: opt-out %s: too many concurrent updates", id)
}

// Count returns the number of residents. It lists every key (not the
// values), so it takes time in proportion to the bucket's size, and a
// resident updated during the listing may be counted twice.
func (s *Store) Count(ctx context.Context) (int, error) {
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("residents: list %s: %w", Bucket, err)
	}
	n := 0
	for range keys.Keys() {
		n++
	}
	if err := ctx.Err(); err != nil {
		// The lister stops early, and silently, when ctx ends.
		return 0, fmt.Errorf("residents: list %s: %w", Bucket, err)
	}
	return n, nil
}

// errConflict means a compare-and-set write lost to another writer.
var errConflict = errors.New("conflict")

// get reads a resident and its revision.
func (s *Store) get(ctx context.Context, id string) (Resident, uint64, error) {
	if !validID(id) {
		return Resident{}, 0, ErrNotFound
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Resident{}, 0, ErrNotFound
	}
	if err != nil {
		return Resident{}, 0, fmt.Errorf("residents: get %s: %w", id, err)
	}
	r, _, err := s.decode(id, e.Value())
	if err != nil {
		return Resident{}, 0, fmt.Errorf("residents: %w", err)
	}
	return r, e.Revision(), nil
}

// write stores r if the key is still at revision rev (0: absent), else
// returns errConflict.
func (s *Store) write(ctx context.Context, r Resident, rev uint64) error {
	b, err := s.encode(r)
	if err != nil {
		return fmt.Errorf("residents: %w", err)
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, r.ID, b)
	} else {
		_, err = s.kv.Update(ctx, r.ID, b, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return errConflict
	case err != nil:
		return fmt.Errorf("residents: store %s: %w", r.ID, err)
	}
	return nil
}
