// Package residents keeps the people who receive alerts by SMS: their phone
// number, where they are (a point, or a region id), their language and
// whether they take part in exercises or have opted out. Residents live in
// the JetStream KV bucket HERALD_SUBSCRIBERS, keyed by a keyed hash of the
// phone number, so every Herald process sharing the NATS sees the same set.
//
// The package also parses resident CSV files (ParseCSV) and keeps a spatial
// index in step with the bucket (Store.Follow). It does not decide who is
// inside an alert's area (geo does, through the Index it is given), check
// that a region id exists, send messages, or enforce opt-out at send time
// (the dispatcher does).
//
// Phone numbers never appear in this package's errors or log values: a
// Resident logs and prints without its phone, and validation messages name
// the field, never its value. Nor are they stored in clear: the bucket
// holds them encrypted with AES-256-GCM (see record.go), and ids are keyed
// hashes, so the NATS servers' files and anyone who can read the bucket
// learn no number without the residents secret.
package residents

import (
	"errors"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/language"

	"github.com/herald-alerts/herald/channels/phone"
)

// DefaultLanguage is a resident's language when none is given.
const DefaultLanguage = "en"

// Errors callers branch on.
var (
	// ErrInvalid is wrapped by every validation error of Put and Validate;
	// errors.As to *FieldError tells which field.
	ErrInvalid = errors.New("invalid resident")
	// ErrInvalidPhone is wrapped, with phone's own error, when the phone
	// number does not normalize.
	ErrInvalidPhone = errors.New("invalid phone number")
	// ErrNotFound is returned for an id (or phone) that has no resident.
	ErrNotFound = errors.New("resident not found")
	// ErrWrongKey is wrapped when the bucket, or a record in it, was
	// written with another secret than the Store's (or was tampered with).
	ErrWrongKey = errors.New("wrong residents key")
)

// Resident is one person who receives alerts by SMS. A resident is placed
// either by a point (Lat, Lon) or, when Region is set, by a whole region;
// never both.
type Resident struct {
	// ID is "r" + lowercase base32 of HMAC-SHA256(id key, Phone)[:15],
	// the id key derived from the Store's secret: the same phone always
	// has the same id (a re-import updates, never duplicates), and the id
	// reveals nothing about the number.
	ID string `json:"id"`
	// Phone is the number in E.164.
	Phone string `json:"phone"`
	// Lat and Lon are the resident's point in degrees (their address or
	// ZIP centroid); both zero when Region is set.
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
	// Region is set when the resident subscribed to a region id instead of
	// a point.
	Region string `json:"region,omitempty"`
	// Language is a BCP 47 tag in canonical form; DefaultLanguage if none.
	Language string `json:"language,omitempty"`
	// Exercise marks a participant in exercises: Exercise and Test alerts
	// reach only them.
	Exercise bool `json:"exercise,omitempty"`
	// OptedOut is set by STOP: nothing is sent until START clears it.
	OptedOut bool      `json:"opted_out,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// HasPoint reports whether the resident is placed by a point rather than a
// region.
func (r Resident) HasPoint() bool { return r.Region == "" }

// LogValue implements slog.LogValuer. It never includes the phone number.
func (r Resident) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("id", r.ID)}
	if r.Region != "" {
		attrs = append(attrs, slog.String("region", r.Region))
	}
	attrs = append(attrs,
		slog.String("language", r.Language),
		slog.Bool("exercise", r.Exercise),
		slog.Bool("opted_out", r.OptedOut))
	return slog.GroupValue(attrs...)
}

// String describes the resident without the phone number, so a resident
// formatted into an error or a log line by mistake does not leak it.
func (r Resident) String() string { return "resident " + r.ID }

// GoString is String, for %#v.
func (r Resident) GoString() string { return r.String() }

// FieldError is one field that does not validate. Message says what is
// wrong and never quotes the value.
type FieldError struct {
	Field   string // "phone", "lat", "lon", "region", "language" or "exercise"
	Message string
	err     error // the cause (phone's error for the phone), may be nil
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap gives ErrInvalid and, for the phone, ErrInvalidPhone and phone's
// error.
func (e *FieldError) Unwrap() []error {
	errs := []error{ErrInvalid}
	if e.Field == "phone" {
		errs = append(errs, ErrInvalidPhone)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// Validate reports whether Put would accept r. The error joins a
// *FieldError per bad field.
func (r Resident) Validate() error {
	_, err := normalize(r, phone.DefaultRegion)
	return err
}

// regionID is the syntax of region ids (NATS-token safe).
var regionID = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// maxLanguage bounds a language tag; real ones are far shorter.
const maxLanguage = 64

// normalize returns r with its phone in E.164 and its language canonical,
// or the joined *FieldErrors of every bad field. Numbers without a country
// code are read in phoneRegion.
func normalize(r Resident, phoneRegion string) (Resident, error) {
	r, errs := check(r, phoneRegion)
	if errs != nil {
		return Resident{}, errors.Join(errs...)
	}
	return r, nil
}

// check is normalize with the problems as a list, one *FieldError each.
func check(r Resident, phoneRegion string) (Resident, []error) {
	var errs []error
	bad := func(field, msg string, cause error) {
		errs = append(errs, &FieldError{Field: field, Message: msg, err: cause})
	}

	if e164, err := phone.Normalize(r.Phone, phoneRegion); err != nil {
		bad("phone", phoneMessage(err), err)
	} else {
		r.Phone = e164
	}

	if r.Region == "" {
		if !inRange(r.Lat, 90) {
			bad("lat", "not a number in [-90,90]", nil)
		}
		if !inRange(r.Lon, 180) {
			bad("lon", "not a number in [-180,180]", nil)
		}
	} else {
		if !regionID.MatchString(r.Region) {
			bad("region", "not a region id (lowercase a-z, 0-9, _ and -)", nil)
		}
		if r.Lat != 0 || r.Lon != 0 {
			bad("region", "give a point (lat, lon) or a region, not both", nil)
		}
	}

	if r.Language == "" {
		r.Language = DefaultLanguage
	} else if tag, err := parseLanguage(r.Language); err != nil {
		bad("language", "not a BCP 47 tag", nil)
	} else {
		r.Language = tag
	}

	return r, errs
}

// phoneMessage words phone's error for a person, without the number.
func phoneMessage(err error) string {
	switch {
	case errors.Is(err, phone.ErrEmpty):
		return "missing"
	case errors.Is(err, phone.ErrNotMobile):
		return "number cannot receive SMS"
	default:
		return "not a valid number"
	}
}

func inRange(v, limit float64) bool {
	return !math.IsNaN(v) && v >= -limit && v <= limit
}

func parseLanguage(s string) (string, error) {
	if len(s) > maxLanguage {
		return "", errors.New("too long")
	}
	// A file of a million residents names a handful of languages: each is
	// parsed once.
	if tag, ok := languages.Load(s); ok {
		return tag.(string), nil
	}
	tag, err := language.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	if languagesSeen.Add(1) <= maxLanguagesMemo {
		languages.Store(s, tag.String())
	}
	return tag.String(), nil
}

// languages memoizes parseLanguage's valid answers, up to
// maxLanguagesMemo of them (outside input must not grow it without bound).
var (
	languages     sync.Map // as written -> canonical tag
	languagesSeen atomic.Int64
)

const maxLanguagesMemo = 4096
