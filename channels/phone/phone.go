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
