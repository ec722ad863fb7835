// Package phone normalizes residents' phone numbers to E.164 and redacts
// them for logs, metrics and error messages.
//
// It uses github.com/nyaruka/phonenumbers (a port of Google's
// libphonenumber) and its bundled metadata. It does not look numbers up
// with a carrier, so "can receive SMS" is only as good as the metadata:
// numbers the metadata knows to be fixed-line, toll-free, premium-rate,
// shared-cost, pager, UAN or voicemail are refused; mobile, fixed-line-or-
// mobile (all of the US and Canada), VoIP, personal and unknown-type numbers
// are accepted. The provider has the last word (Twilio error 21614).
//
// No error or log value from this package contains the digits of a number.
package phone

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a
// country code when Normalize is given none.
const DefaultRegion = "US"

var (
	// ErrEmpty is returned for an empty number.
	ErrEmpty = errors.New("phone: empty number")
	// ErrInvalid is returned for a string that is not a valid number.
	ErrInvalid = errors.New("phone: not a valid number")
	// ErrNotMobile is returned for a valid number that cannot receive SMS
	// (a landline, toll-free, premium-rate or similar number).
	ErrNotMobile = errors.New("phone: number cannot receive SMS")
)

// Normalize parses raw (national or international notation; spaces, dots,
// dashes and brackets allowed) and returns it in E.164 ("+15551234567").
// Numbers without a country code are read in defaultRegion (ISO 3166
// alpha-2, e.g. "US", "CA", "GB"); empty means DefaultRegion. The error
// wraps ErrEmpty, ErrInvalid or ErrNotMobile and never contains the number.
func Normalize(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ErrEmpty
	}
	if defaultRegion == "" {
		defaultRegion = DefaultRegion
	}
	defaultRegion = strings.ToUpper(defaultRegion)
	if national, ok := nanpDigits(raw, defaultRegion); ok {
		return normalizeNANP(national)
	}
	return normalize(raw, defaultRegion)
}

func normalize(raw, defaultRegion string) (string, error) {
	num, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		// The library's parse errors describe the problem, never the input.
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalid
	}
	switch t := phonenumbers.GetNumberType(num); t {
	case phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
		phonenumbers.SHARED_COST, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL:
		return "", fmt.Errorf("%w (%s)", ErrNotMobile, typeName(t))
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// NANP numbers (+1: the US, Canada and the Caribbean) are most of what
// Herald imports, and the library's regular expressions cost tens of
// microseconds a number. Its verdict for a NANP number depends only on the
// leading digits of the national number: every NANP pattern in its
// metadata ends in free digits (\d{4} or [2-9]\d{6}). So the verdict is
// worked out once per NPA-NXX-X (the first 7 national digits) and reused;
// TestNANPMemoAgrees checks it against the library over random numbers of
// every area code.
var (
	nanpMemo     sync.Map // 7 national digits -> error (nil: valid, can receive SMS)
	nanpMemoSize atomic.Int64
)

// nanpMemoMax bounds the memo (at most 8M prefixes exist; a large import
// uses thousands).
const nanpMemoMax = 1 << 20

// nanpDigits returns the 10-digit national number of a NANP number written
// as +1 and 10 digits, or (in the US) as 10 digits or 1 and 10 digits, with
// the usual separators; ok is false for anything else.
func nanpDigits(raw, defaultRegion string) (string, bool) {
	var d [12]byte
	n, plus := 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return "", false
			}
			d[n] = c
			n++
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	switch {
	case n == 11 && d[0] == '1' && (plus || defaultRegion == "US"):
		return string(d[1:11]), true
	case n == 10 && !plus && defaultRegion == "US":
		return string(d[:10]), true
	}
	return "", false
}

func normalizeNANP(national string) (string, error) {
	e164 := "+1" + national
	key := national[:7]
	if err, ok := nanpMemo.Load(key); ok {
		if err == nil {
			return e164, nil
		}
		return "", err.(error)
	}
	_, err := normalize(e164, DefaultRegion)
	if nanpMemoSize.Load() < nanpMemoMax {
		nanpMemo.Store(key, err)
		nanpMemoSize.Add(1)
	}
	if err != nil {
		return "", err
	}
	return e164, nil
}

func typeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return "fixed line"
	case phonenumbers.TOLL_FREE:
		return "toll-free"
	case phonenumbers.PREMIUM_RATE:
		return "premium rate"
	case phonenumbers.SHARED_COST:
		return "shared cost"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "universal access number"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	}
	return "other"
}

// Redact masks an E.164 number for logs: it keeps the "+", the country
// calling code and the last digits of the national number, and replaces
// every other digit with "*":
//
//	+15551234567   -> +1******4567    (national number of 8+ digits: last 4 kept)
//	+442071838750  -> +44******8750
//	+3544211234    -> +354*****34     (national number under 8 digits: last 2 kept)
//
// At least half of the national number is always hidden. Input that is not
// E.164 (no "+", non-digits, no known country code) is masked entirely
// except for its last 2 digits when it has 6 or more, so Redact is safe on
// anything.
func Redact(e164 string) string {
	digits, ok := strings.CutPrefix(e164, "+")
	if ok && digits != "" && isDigits(digits) {
		for n := 1; n <= 3 && n < len(digits); n++ {
			if !isCountryCode(digits[:n]) {
				continue
			}
			nsn := digits[n:]
			keep := 2
			if len(nsn) >= 8 {
				keep = 4
			}
			if keep > len(nsn)/2 {
				keep = len(nsn) / 2
			}
			return "+" + digits[:n] + strings.Repeat("*", len(nsn)-keep) + nsn[len(nsn)-keep:]
		}
	}
	return maskAll(e164)
}

func maskAll(s string) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) >= 6 {
		return strings.Repeat("*", len(d)-2) + string(d[len(d)-2:])
	}
	return "[redacted]"
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isCountryCode reports whether cc (1-3 digits, no leading zero) is an
// assigned country calling code. Country codes are prefix-free, so the
// first match from the shortest prefix is the one.
func isCountryCode(cc string) bool {
	if cc[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(cc); i++ {
		n = n*10 + int(cc[i]-'0')
	}
	return phonenumbers.GetRegionCodeForCountryCode(n) != phonenumbers.UNKNOWN_REGION
}

// Number is an E.164 phone number that redacts itself when printed or
// logged: String, GoString, Format and LogValue all give Redact(n). Use
// E164 for the real value.
type Number string

// E164 returns the number itself.
func (n Number) E164() string { return string(n) }

// String returns the redacted number.
func (n Number) String() string { return Redact(string(n)) }

// GoString returns the redacted number, so %#v does not leak it either.
func (n Number) GoString() string { return `phone.Number("` + Redact(string(n)) + `")` }

// Format prints the redacted number for every verb (%s, %v, %q, %d, ...).
func (n Number) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, n.GoString())
		return
	}
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", Redact(string(n)))
		return
	}
	_, _ = fmt.Fprint(f, Redact(string(n)))
}

// LogValue implements slog.LogValuer.
func (n Number) LogValue() slog.Value { return slog.StringValue(Redact(string(n))) }

var _ slog.LogValuer = Number("")
