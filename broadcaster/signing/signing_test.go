package signing

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

func newKey(t testing.TB) nkeys.KeyPair {
	t.Helper()
	seed, _, err := GenerateSeed()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ParseSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestVerify(t *testing.T) {
	kp, other := newKey(t), newKey(t)
	now := time.Unix(1_790_000_000, 0)
	body := []byte("<alert/>")
	good, err := Sign(kp, ActionSubmit, now, body)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := other.PublicKey()
	seedKP, _ := nkeys.CreateAccount()
	accountPub, _ := seedKP.PublicKey()

	tests := []struct {
		name   string
		h      func() Headers
		action string
		body   []byte
		at     time.Time
		want   error
	}{
		{"valid", func() Headers { return good }, ActionSubmit, body, now, nil},
		{"valid at edge of window", func() Headers { return good }, ActionSubmit, body, now.Add(MaxSkew), nil},
		{"stale", func() Headers { return good }, ActionSubmit, body, now.Add(MaxSkew + time.Second), ErrStale},
		{"from the future", func() Headers { return good }, ActionSubmit, body, now.Add(-MaxSkew - time.Second), ErrStale},
		{"tampered body", func() Headers { return good }, ActionSubmit, []byte("<alert />"), now, ErrBadSignature},
		{"other action", func() Headers { return good }, ActionPreview, body, now, ErrBadSignature},
		{"other key", func() Headers { h := good; h.Key = otherPub; return h }, ActionSubmit, body, now, ErrBadSignature},
		{"account key", func() Headers { h := good; h.Key = accountPub; return h }, ActionSubmit, body, now, ErrBadKey},
		{"missing signature", func() Headers { h := good; h.Signature = ""; return h }, ActionSubmit, body, now, ErrMissing},
		{"missing key", func() Headers { h := good; h.Key = ""; return h }, ActionSubmit, body, now, ErrMissing},
		{"timestamp changed", func() Headers { h := good; h.Timestamp = "1790000001"; return h }, ActionSubmit, body, now, ErrBadSignature},
		{"timestamp not a number", func() Headers { h := good; h.Timestamp = "yesterday"; return h }, ActionSubmit, body, now, ErrUnauthorized},
		{"signature not base64", func() Headers { h := good; h.Signature = "%%%"; return h }, ActionSubmit, body, now, ErrUnauthorized},
		{"signature truncated", func() Headers { h := good; h.Signature = h.Signature[:20]; return h }, ActionSubmit, body, now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.h(), tt.action, tt.body, tt.at)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("error %v does not wrap ErrUnauthorized", err)
			}
		})
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	kp := newKey(t)
	h, err := Sign(kp, ActionSubmit, time.Now(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	h.Set(hdr.Set)
	if got := FromGetter(hdr.Get); got != h {
		t.Fatalf("round trip: got %+v want %+v", got, h)
	}
}

func TestParseSeedRejectsNonUser(t *testing.T) {
	acc, _ := nkeys.CreateAccount()
	seed, _ := acc.Seed()
	if _, err := ParseSeed(seed); err == nil {
		t.Fatal("account seed accepted")
	}
	if _, err := ParseSeed([]byte("not a seed")); err == nil {
		t.Fatal("garbage accepted")
	}
}

// FuzzVerify feeds arbitrary headers and bodies: Verify must never panic and
// must never accept anything but the one genuine signature.
func FuzzVerify(f *testing.F) {
	// Fuzz workers are separate processes: the key must be the same in each.
	kp, err := nkeys.FromRawSeed(nkeys.PrefixByteUser, make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_790_000_000, 0)
	body := []byte("<alert/>")
	good, _ := Sign(kp, ActionSubmit, now, body)
	f.Add(good.Key, good.Timestamp, good.Signature, body)
	f.Add(good.Key, "0", good.Signature, []byte{})
	f.Add("U", "-1", "AAAA", []byte("x"))
	f.Fuzz(func(t *testing.T, key, ts, sig string, b []byte) {
		h := Headers{Key: key, Timestamp: ts, Signature: sig}
		_, err := Verify(h, ActionSubmit, b, now)
		if err == nil && (h != good || string(b) != string(body)) {
			// A different encoding of the same timestamp is the only other
			// acceptable form, and it changes the signed string.
			t.Fatalf("accepted forged submission %+v body %q", h, b)
		}
	})
}
