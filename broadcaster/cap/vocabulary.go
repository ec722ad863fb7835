package cap

import "strings"

// The CAP 1.2 enumerations Herald branches on, as the specification spells
// them. Code outside this package compares against these constants, never
// against string literals, so a typo is a compile error.

// Status is <alert>/<status>.
type Status string

// Statuses.
const (
	StatusActual   Status = "Actual"
	StatusExercise Status = "Exercise"
	StatusSystem   Status = "System"
	StatusTest     Status = "Test"
	StatusDraft    Status = "Draft"
)

// MsgType is <alert>/<msgType>.
type MsgType string

// Message types.
const (
	MsgAlert  MsgType = "Alert"
	MsgUpdate MsgType = "Update"
	MsgCancel MsgType = "Cancel"
	MsgAck    MsgType = "Ack"
	MsgError  MsgType = "Error"
)

// Scope is <alert>/<scope>.
type Scope string

// Scopes.
const (
	ScopePublic     Scope = "Public"
	ScopeRestricted Scope = "Restricted"
	ScopePrivate    Scope = "Private"
)

// Urgency is <info>/<urgency>.
type Urgency string

// Urgencies, most urgent first.
const (
	UrgencyImmediate Urgency = "Immediate"
	UrgencyExpected  Urgency = "Expected"
	UrgencyFuture    Urgency = "Future"
	UrgencyPast      Urgency = "Past"
	UrgencyUnknown   Urgency = "Unknown"
)

// Severity is <info>/<severity>.
type Severity string

// Severities, most severe first.
const (
	SeverityExtreme  Severity = "Extreme"
	SeveritySevere   Severity = "Severe"
	SeverityModerate Severity = "Moderate"
	SeverityMinor    Severity = "Minor"
	SeverityUnknown  Severity = "Unknown"
)

// Certainty is <info>/<certainty>.
type Certainty string

// Certainties, most certain first.
const (
	CertaintyObserved Certainty = "Observed"
	CertaintyLikely   Certainty = "Likely"
	CertaintyPossible Certainty = "Possible"
	CertaintyUnlikely Certainty = "Unlikely"
	CertaintyUnknown  Certainty = "Unknown"
)

// Severities lists the CAP severities from least to most severe: the one
// order every filter and policy by severity uses.
var Severities = []Severity{SeverityUnknown, SeverityMinor, SeverityModerate, SeveritySevere, SeverityExtreme}

// Rank orders severities for comparison: Unknown (and anything that is not
// a CAP severity) is 0, Minor 1, up to Extreme 4. Case is ignored.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if strings.EqualFold(string(v), string(s)) {
			return i
		}
	}
	return 0
}

// Rank orders urgencies: Unknown 0, Past 1, up to Immediate 4.
func (u Urgency) Rank() int { return rank(urgencyOrder, u) }

// urgencies and certainties from least to most pressing.
var (
	urgencyOrder   = []Urgency{UrgencyUnknown, UrgencyPast, UrgencyFuture, UrgencyExpected, UrgencyImmediate}
	certaintyOrder = []Certainty{CertaintyUnknown, CertaintyUnlikely, CertaintyPossible, CertaintyLikely, CertaintyObserved}
)

// rank is v's place in order (0 for anything not in it).
func rank[T ~string](order []T, v T) int {
	for i, o := range order {
		if o == v {
			return i
		}
	}
	return 0
}

// most is the highest-ranked value of the infos, "" when there are none.
func most[T ~string](infos []Info, order []T, get func(*Info) T) T {
	var best T
	for i := range infos {
		if v := get(&infos[i]); best == "" || rank(order, v) > rank(order, best) {
			best = v
		}
	}
	return best
}

// MostSevere is the most serious <severity> across every <info>: every
// decision by severity (approval, hospitals' minimum, headers) uses it, so
// a second <info> cannot hide an Extreme alert.
func (a *Alert) MostSevere() Severity {
	return most(a.Info, Severities, func(i *Info) Severity { return i.Severity })
}

// MostUrgent is the most pressing <urgency> across every <info>.
func (a *Alert) MostUrgent() Urgency {
	return most(a.Info, urgencyOrder, func(i *Info) Urgency { return i.Urgency })
}

// MostCertain is the most certain <certainty> across every <info>.
func (a *Alert) MostCertain() Certainty {
	return most(a.Info, certaintyOrder, func(i *Info) Certainty { return i.Certainty })
}

// ParseSeverity spells s as CAP does, ignoring case (for settings such as
// a subscription's minimum); ok is false when s is not a CAP severity.
func ParseSeverity(s string) (sev Severity, ok bool) {
	for _, v := range Severities {
		if strings.EqualFold(string(v), s) {
			return v, true
		}
	}
	return "", false
}

// Exercise reports whether the status marks an exercise or test, which
// only participants receive.
func (s Status) Exercise() bool { return s == StatusExercise || s == StatusTest }

// References reports whether messages of this type must reference earlier
// alerts (Update, Cancel, Ack, Error).
func (t MsgType) References() bool {
	return t == MsgUpdate || t == MsgCancel || t == MsgAck || t == MsgError
}
