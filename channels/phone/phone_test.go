package phone

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, raw, region string
		want              string
		err               error
	}{
		{"us national", "(650) 253-0000", "", "+16502530000", nil},
		{"us dotted, explicit region", "650.253.0000", "US", "+16502530000", nil},
		{"us with 1 prefix", "1 650 253 0000", "us", "+16502530000", nil},
		{"already e164", "+16502530000", "", "+16502530000", nil},
		{"international with other default region", "+1 650 253 0000", "GB", "+16502530000", nil},
		{"gb mobile national", "07400 123456", "GB", "+447400123456", nil},
		{"gb mobile intl", "+44 7400 123456", "", "+447400123456", nil},
		{"gb landline", "020 7183 8750", "GB", "", ErrNotMobile},
		{"us toll-free", "1-800-253-0000", "", "", ErrNotMobile},
		{"empty", "  ", "", "", ErrEmpty},
		{"letters", "call me maybe", "", "", ErrInvalid},
		{"too short", "12345", "", "", ErrInvalid},
		{"invalid area code", "+1 011 253 0000", "", "", ErrInvalid},
		{"unknown country code", "+999 1234 5678", "", "", ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.raw, tc.region)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Normalize(%q) error = %v, want %v", tc.raw, err, tc.err)
				}
				if digits := onlyDigits(tc.raw); len(digits) >= 4 && strings.Contains(onlyDigits(err.Error()), digits) {
					t.Errorf("error %q echoes the number", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
			}
		})
	}
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+15551234567", "+1******4567"},
		{"+447400123456", "+44******3456"},
		{"+3544211234", "+354*****34"},
		{"+8613800138000", "+86*******8000"},
		{"+1234", "+1**4"},
		{"5551234567", "********67"},
		{"+", "[redacted]"},
		{"", "[redacted]"},
		{"+0123456789", "********89"},
		{"not a number", "[redacted]"},
	}
	for _, tc := range tests {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNumberNeverPrintsDigits(t *testing.T) {
	n := Number("+15551234567")
	for _, s := range []string{
		n.String(), fmt.Sprint(n), fmt.Sprintf("%s %v %q %#v %d", n, n, n, n, n),
		fmt.Sprintf("%+v", struct{ To Number }{n}),
	} {
		if strings.Contains(s, "555123") {
			t.Errorf("formatted number leaks digits: %q", s)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("send", "to", n)
	if strings.Contains(buf.String(), "555123") || !strings.Contains(buf.String(), "+1******4567") {
		t.Errorf("log = %s", buf.String())
	}
	if n.E164() != "+15551234567" {
		t.Errorf("E164() = %q", n.E164())
	}
}

// TestNANPMemoAgrees: the memo's verdict for a NANP number, worked out
// from another number with the same first 7 national digits, is the
// library's verdict for the number itself, over random numbers of every
// area code.
func TestNANPMemoAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	prefixes := 10_000
	if testing.Short() {
		prefixes = 2_000
	}
	for range prefixes {
		prefix := fmt.Sprintf("%03d%04d", 200+rng.IntN(800), rng.IntN(10_000))
		for range 4 {
			national := prefix + fmt.Sprintf("%03d", rng.IntN(1000))
			got, gotErr := Normalize("+1"+national, "")
			want, wantErr := normalize("+1"+national, DefaultRegion)
			if got != want || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("+1%s: memo says %q, %v; the library says %q, %v", national, got, gotErr, want, wantErr)
			}
		}
	}
}

func TestNANPDigits(t *testing.T) {
	tests := []struct {
		raw, region, want string
		ok                bool
	}{
		{"+12065550123", "", "2065550123", true},
		{"+1 (206) 555-0123", "GB", "2065550123", true},
		{"206.555.0123", "US", "2065550123", true},
		{"1-206-555-0123", "US", "2065550123", true},
		{"2065550123", "CA", "", false}, // left to the library
		{"+442071838750", "", "", false},
		{"+1206555012", "", "", false},
		{"+120655501234", "", "", false},
		{"206-555-0123 ext 4", "US", "", false},
		{"1+2065550123", "US", "", false},
	}
	for _, tt := range tests {
		region := tt.region
		if region == "" {
			region = DefaultRegion
		}
		got, ok := nanpDigits(tt.raw, region)
		if got != tt.want || ok != tt.ok {
			t.Errorf("nanpDigits(%q, %s) = %q, %v; want %q, %v", tt.raw, region, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{{"nanp", "+12065550123"}, {"other", "+447400123456"}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Normalize(bc.raw, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
