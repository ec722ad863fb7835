package residents

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// A record in the bucket is the JSON of Resident with "phone" replaced by
// "phone_enc": standard base64 of
//
//	key version (1 byte) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// sealed with the resident id as additional data, so a ciphertext copied
// under another id does not open. Version 1 is the key derived with the
// label "herald residents phone v1"; a later key (rotation) gets a new
// version, and records name the key that opens them.
//
// Records written before phone numbers were encrypted hold "phone" in
// clear under an id made with the raw secret. They still decode; Open
// moves them, once, to their current id with the phone sealed (see
// migrate), and any later write of such a record seals it too.

// HKDF labels of the keys derived from the secret Store is opened with.
// Changing one changes every id, or makes every stored phone unreadable.
const (
	idLabel    = "herald residents id v1"
	phoneLabel = "herald residents phone v1"
	checkLabel = "herald residents key check v1"
)

// phoneKeyV1 is the version byte of phones sealed with the phoneLabel key.
const phoneKeyV1 = 1

// metaKeyCheck names the bucket metadata that holds a fingerprint of the
// key its records were written with. A bucket without it predates
// encryption and may hold clear-text records.
const metaKeyCheck = "herald_residents_key_check"

// keys are the independent keys derived from one secret.
type keys struct {
	id    []byte      // HMAC-SHA256 key of resident ids
	phone cipher.AEAD // seals phone numbers; nonces are random per Seal
	check string      // fingerprint kept in the bucket's metadata
}

// deriveKeys derives the keys with HKDF-SHA256. No salt: the secret is
// already uniformly random (32 bytes from crypto/rand), which is what the
// salt would otherwise make it.
func deriveKeys(secret []byte) (keys, error) {
	derive := func(label string, n int) ([]byte, error) {
		return hkdf.Key(sha256.New, secret, nil, label, n)
	}
	id, err := derive(idLabel, 32)
	if err != nil {
		return keys{}, fmt.Errorf("residents: derive id key: %w", err)
	}
	pk, err := derive(phoneLabel, 32)
	if err != nil {
		return keys{}, fmt.Errorf("residents: derive phone key: %w", err)
	}
	check, err := derive(checkLabel, 8)
	if err != nil {
		return keys{}, fmt.Errorf("residents: derive key check: %w", err)
	}
	block, err := aes.NewCipher(pk)
	if err != nil {
		return keys{}, fmt.Errorf("residents: phone cipher: %w", err)
	}
	// Random 96-bit nonces are safe for 2^32 seals per key: far more
	// writes than a residents bucket sees before a key rotation.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return keys{}, fmt.Errorf("residents: phone cipher: %w", err)
	}
	return keys{id: id, phone: aead, check: hex.EncodeToString(check)}, nil
}

// record is a resident as the bucket holds it.
type record struct {
	Resident
	// Phone shadows Resident.Phone in JSON (the shallower field wins), so
	// the number is never written in clear. Only records from before
	// encryption have it.
	Phone    string `json:"phone,omitempty"`
	PhoneEnc string `json:"phone_enc,omitempty"`
}

// encode and decode are the one place a resident becomes bytes in the
// bucket and back.
func (s *Store) encode(r Resident) ([]byte, error) {
	sealed := s.keys.phone.Seal([]byte{phoneKeyV1}, nil, []byte(r.Phone), []byte(r.ID))
	b, err := json.Marshal(record{Resident: r, PhoneEnc: base64.StdEncoding.EncodeToString(sealed)})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r, err)
	}
	return b, nil
}

// decode reads the record stored under id. legacy reports a record from
// before encryption, with the phone in clear. Errors name the id, never the number.
func (s *Store) decode(id string, b []byte) (r Resident, legacy bool, err error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		// json's messages name types and fields, not values.
		return Resident{}, false, fmt.Errorf("decode resident %s: %w", id, err)
	}
	r = rec.Resident
	r.ID = id // the key, not what the value claims: the ciphertext is bound to it
	switch {
	case rec.PhoneEnc != "":
		if r.Phone, err = s.open(id, rec.PhoneEnc); err != nil {
			return Resident{}, false, fmt.Errorf("decode resident %s: %w", id, err)
		}
		return r, false, nil
	case rec.Phone != "":
		r.Phone = rec.Phone
		return r, true, nil
	default:
		return Resident{}, false, fmt.Errorf("decode resident %s: no phone number", id)
	}
}

// open decrypts a phone sealed for id.
func (s *Store) open(id, enc string) (string, error) {
	sealed, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("phone_enc: %w", err)
	}
	if len(sealed) == 0 || sealed[0] != phoneKeyV1 {
		return "", errors.New("phone_enc: unknown key version (written by a newer Herald?)")
	}
	p, err := s.keys.phone.Open(nil, nil, sealed[1:], []byte(id))
	if err != nil {
		return "", fmt.Errorf("phone number does not decrypt: %w (or the record was altered or moved)", ErrWrongKey)
	}
	return string(p), nil
}

// migrate moves every clear-text record to its current id with the phone
// sealed. It runs once per bucket (Open then marks the bucket), so its
// full scan is not paid on every start. Herald processes of the previous
// version must be stopped first: a clear-text record one of them writes
// later still decodes and is sent to, but stays under its old id, where
// ByPhone and Put do not look.
//
// The moved records' old revisions are deleted, but nats-server only
// marks them so: their bytes may stay in the stream's block files until
// it compacts them. Records written since encryption never had the
// number in clear.
func (s *Store) migrate(ctx context.Context) error {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("residents: migrate: list %s: %w", Bucket, err)
	}
	defer func() { _ = lister.Stop() }()
	for id := range lister.Keys() {
		e, err := s.kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("residents: migrate: get %s: %w", id, err)
		}
		r, legacy, err := s.decode(id, e.Value())
		if err != nil {
			return fmt.Errorf("residents: migrate: %w", err)
		}
		if legacy {
			if err := s.move(ctx, r, e.Revision()); err != nil {
				return fmt.Errorf("residents: migrate %s: %w", id, err)
			}
		}
	}
	return ctx.Err() // the lister stops early, and silently, when ctx ends
}

// move rewrites a clear-text resident, read at revision rev, sealed under
// its current id, and deletes the original.
func (s *Store) move(ctx context.Context, r Resident, rev uint64) error {
	old := r.ID
	if r.ID = s.ID(r.Phone); r.ID == old {
		// Already at home: seal it in place, unless rewritten meanwhile.
		if err := s.write(ctx, r, rev); !errors.Is(err, errConflict) {
			return err
		}
		return nil
	}
	err := s.write(ctx, r, 0)
	if errors.Is(err, errConflict) {
		// Already there: moved by another process, or put since. That
		// record is newer, but a STOP must survive the move.
		if r.OptedOut {
			err = s.SetOptOut(ctx, r.ID, true)
		} else {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	err = s.kv.Delete(ctx, old, jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("delete the clear-text record: %w", err)
	}
	return nil
}
