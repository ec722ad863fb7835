package residents

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/test/natstest"
)

// raw is what the bucket holds under id.
func raw(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	e, err := s.kv.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.Value()
}

func TestStoredForm(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r, err := s.Put(ctx, Resident{Phone: "+12065550100", Lat: 47.6, Lon: -122.3})
	if err != nil {
		t.Fatal(err)
	}
	first := raw(t, s, r.ID)
	if bytes.Contains(first, []byte("2065550100")) {
		t.Fatalf("the number is stored in clear: %s", first)
	}
	var fields map[string]any
	if err := json.Unmarshal(first, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["phone"]; ok {
		t.Fatalf("record has a phone field: %s", first)
	}
	sealed, err := base64.StdEncoding.DecodeString(fields["phone_enc"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// version | 96-bit nonce | ciphertext | 128-bit tag
	if want := 1 + 12 + len(r.Phone) + 16; sealed[0] != phoneKeyV1 || len(sealed) != want {
		t.Fatalf("phone_enc: version %d, %d bytes; want %d, %d", sealed[0], len(sealed), phoneKeyV1, want)
	}

	// A fresh nonce per write: the same number never looks the same twice.
	if _, err := s.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	var again map[string]any
	_ = json.Unmarshal(raw(t, s, r.ID), &again)
	if again["phone_enc"] == fields["phone_enc"] {
		t.Fatal("two writes gave the same ciphertext")
	}

	st, err := s.kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.History() != 1 || st.Values() != 1 {
		t.Fatalf("history %d, %d values: old ciphertexts linger", st.History(), st.Values())
	}
}

func TestCiphertextIsBoundToItsID(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a, err := s.Put(ctx, Resident{Phone: "+12065550100", Lat: 1, Lon: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Someone with write access copies a's record under b's id to have
	// b's alerts sent to a's phone.
	b := s.ID("+12065550101")
	if _, err := s.kv.Put(ctx, b, raw(t, s, a.ID)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(ctx, b)
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Get of a moved record = %v, want ErrWrongKey", err)
	}
	if strings.Contains(err.Error(), "555") {
		t.Fatalf("error shows the number: %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	ctx := context.Background()
	ns := natstest.Start(t)
	s, err := Open(ctx, Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Put(ctx, Resident{Phone: "+12065550100", Lat: 1, Lon: 1})
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte("o"), MinKeyLen)

	t.Run("Open refuses the bucket", func(t *testing.T) {
		_, err := Open(ctx, Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: other})
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "residents.key") {
			t.Fatalf("Open with another secret = %v, want ErrWrongKey naming residents.key", err)
		}
	})
	t.Run("a record does not decode", func(t *testing.T) {
		k, err := deriveKeys(other)
		if err != nil {
			t.Fatal(err)
		}
		wrong := &Store{kv: s.kv, keys: k}
		got, err := wrong.Get(ctx, r.ID)
		if !errors.Is(err, ErrWrongKey) || got.Phone != "" {
			t.Fatalf("Get with another key = %+v, %v; want ErrWrongKey and no phone", got, err)
		}
	})
}

// legacyID is a resident id as Herald made it before phones were
// encrypted: HMAC with the raw secret.
func legacyID(secret []byte, e164 string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(e164))
	return "r" + strings.ToLower(idEncoding.EncodeToString(mac.Sum(nil)[:15]))
}

// putLegacy writes a record the way Herald did before phones were
// encrypted.
func putLegacy(t *testing.T, kv jetstream.KeyValue, r Resident) string {
	t.Helper()
	r.ID = legacyID(testKey, r.Phone)
	b, err := json.Marshal(map[string]any{
		"id": r.ID, "phone": r.Phone, "lat": r.Lat, "lon": r.Lon, "region": r.Region,
		"language": r.Language, "opted_out": r.OptedOut, "created": r.Created, "updated": r.Updated,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), r.ID, b); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestOpenEncryptsClearTextRecords(t *testing.T) {
	ctx := context.Background()
	ns := natstest.Start(t)
	js := natstest.Connect(t, ns)
	// The bucket as the previous version made it: no key check.
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	stopped := putLegacy(t, kv, Resident{Phone: "+12065550100", Lat: 47.6, Lon: -122.3, Language: "es", OptedOut: true, Created: created, Updated: created})
	putLegacy(t, kv, Resident{Phone: "+12065550101", Region: "us-county-53033", Language: "en", Created: created, Updated: created})

	s, err := Open(ctx, Config{JS: js, Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want the 2 residents, moved, not copied", n, err)
	}
	if _, err := s.Get(ctx, stopped); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the clear-text record is still there: %v", err)
	}
	got, err := s.ByPhone(ctx, "+12065550100")
	if err != nil {
		t.Fatal(err)
	}
	if !got.OptedOut || !got.Created.Equal(created) || got.Language != "es" || got.Lat != 47.6 {
		t.Fatalf("moved resident = %+v", got)
	}
	if b := raw(t, s, got.ID); bytes.Contains(b, []byte("2065550100")) {
		t.Fatalf("moved record still has the number in clear: %s", b)
	}

	// The bucket is now marked: the next Open does not scan it again, and
	// a clear-text record written later (by a process of the previous
	// version) still reads, and is sealed on its next write.
	late := putLegacy(t, kv, Resident{Phone: "+12065550102", Lat: 1, Lon: 1, Language: "en", Created: created, Updated: created})
	s, err = Open(ctx, Config{JS: js, Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Get(ctx, late); err != nil || r.Phone != "+12065550102" {
		t.Fatalf("late clear-text record = %+v, %v", r, err)
	}
	if err := s.SetOptOut(ctx, late, true); err != nil {
		t.Fatal(err)
	}
	if b := raw(t, s, late); bytes.Contains(b, []byte("2065550102")) {
		t.Fatalf("a write did not seal the number: %s", b)
	}
	if r, err := s.Get(ctx, late); err != nil || r.Phone != "+12065550102" || !r.OptedOut {
		t.Fatalf("after the write = %+v, %v", r, err)
	}
}
