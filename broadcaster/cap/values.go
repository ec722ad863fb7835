package cap

import (
	"fmt"
	"strings"
	"time"
)

// timeLayout is CAP 1.2's dateTime: seconds precision and an explicit
// numeric offset (the schema's pattern \d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d).
const timeLayout = "2006-01-02T15:04:05-07:00"

// ParseTime parses a CAP dateTime such as "2026-11-25T10:00:00-08:00". CAP
// requires the offset: "Z", a missing offset and fractional seconds are
// errors.
func ParseTime(s string) (time.Time, error) {
	switch {
	case strings.HasSuffix(s, "Z"):
		// The spec writes UTC as -00:00; +00:00 passes its schema too.
		return time.Time{}, fmt.Errorf("time %q: CAP does not allow \"Z\"; write UTC as -00:00 or +00:00", s)
	case len(s) == len("2006-01-02T15:04:05"):
		return time.Time{}, fmt.Errorf("time %q has no offset; add one, e.g. -08:00", s)
	case len(s) != len(timeLayout):
		// time.Parse would accept fractional seconds, which CAP does not.
		return time.Time{}, fmt.Errorf("time %q is not YYYY-MM-DDThh:mm:ss±hh:mm", s)
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not YYYY-MM-DDThh:mm:ss±hh:mm", s)
	}
	return t, nil
}

// FormatTime writes t as a CAP dateTime in t's own offset, with UTC as
// "-00:00", as CAP 1.2 (3.3.2) writes it.
func FormatTime(t time.Time) string {
	if _, off := t.Zone(); off == 0 {
		return t.Format("2006-01-02T15:04:05") + "-00:00"
	}
	return t.Format(timeLayout)
}

// optionalTime parses s, or returns the zero time when s is empty.
func optionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return ParseTime(s)
}

// SentTime is the alert's <sent> time.
func (a *Alert) SentTime() (time.Time, error) { return ParseTime(a.Sent) }

// EffectiveTime is the info's <effective> time; zero when absent (CAP then
// means the alert's sent time).
func (i *Info) EffectiveTime() (time.Time, error) { return optionalTime(i.Effective) }

// OnsetTime is the info's <onset> time; zero when absent.
func (i *Info) OnsetTime() (time.Time, error) { return optionalTime(i.Onset) }

// ExpiresTime is the info's <expires> time; zero when absent.
func (i *Info) ExpiresTime() (time.Time, error) { return optionalTime(i.Expires) }

// Reference names an earlier alert, as listed in <references>.
type Reference struct {
	Sender, Identifier, Sent string
}

// ParseReferences splits <references> into its whitespace-separated
// "sender,identifier,sent" triples. It returns nil for an empty element.
func (a *Alert) ParseReferences() ([]Reference, error) {
	var refs []Reference
	for i, f := range strings.Fields(a.References) {
		parts := strings.Split(f, ",")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("reference %d %q is not sender,identifier,sent", i, f)
		}
		if _, err := ParseTime(parts[2]); err != nil {
			return nil, fmt.Errorf("reference %d: %w", i, err)
		}
		refs = append(refs, Reference{Sender: parts[0], Identifier: parts[1], Sent: parts[2]})
	}
	return refs, nil
}
