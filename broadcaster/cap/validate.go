package cap

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Problem is one way an alert breaks a CAP 1.2 rule. Path names the element
// with 0-based indices, e.g. "alert/info[1]/area[0]/polygon[0]".
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is every problem Validate found, in document order. A non-empty
// Problems is an error; use Err to get a nil error when it is empty.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.String()
	}
	return strings.Join(msgs, "; ")
}

// Err returns ps as an error, or nil when there are no problems. Returning
// Problems itself through an error interface would never be nil.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// The values CAP 1.2 allows, as the spec spells them.
var (
	statuses      = []Status{StatusActual, StatusExercise, StatusSystem, StatusTest, StatusDraft}
	msgTypes      = []MsgType{MsgAlert, MsgUpdate, MsgCancel, MsgAck, MsgError}
	scopes        = []Scope{ScopePublic, ScopeRestricted, ScopePrivate}
	categories    = []string{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	responseTypes = []string{"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}
	urgencies     = []Urgency{UrgencyImmediate, UrgencyExpected, UrgencyFuture, UrgencyPast, UrgencyUnknown}
	severities    = []Severity{SeverityExtreme, SeveritySevere, SeverityModerate, SeverityMinor, SeverityUnknown}
	certainties   = []Certainty{CertaintyObserved, CertaintyLikely, CertaintyPossible, CertaintyUnlikely, CertaintyUnknown}
)

// Validate checks a against the CAP 1.2 specification, including the rules
// its schema cannot express (closed polygons, references for updates, ...),
// and returns every problem, or nil when there is none.
func (a *Alert) Validate() Problems {
	var v validator
	v.token("alert/identifier", a.Identifier)
	v.token("alert/sender", a.Sender)
	v.required("alert/sent", a.Sent)
	sent, _ := v.time("alert/sent", a.Sent)
	enum(&v, "alert/status", a.Status, statuses)
	enum(&v, "alert/msgType", a.MsgType, msgTypes)
	enum(&v, "alert/scope", a.Scope, scopes)
	if a.Scope == ScopeRestricted && a.Restriction == "" {
		v.add("alert/restriction", "required when scope is Restricted")
	}
	if a.Scope == ScopePrivate && a.Addresses == "" {
		v.add("alert/addresses", "required when scope is Private")
	}
	switch {
	case a.References != "":
		if _, err := a.ParseReferences(); err != nil {
			v.add("alert/references", err.Error())
		}
	case a.MsgType.References():
		v.add("alert/references", "required when msgType is "+string(a.MsgType))
	}
	for i := range a.Info {
		v.info(fmt.Sprintf("alert/info[%d]", i), &a.Info[i], sent)
	}
	return v.problems
}

type validator struct{ problems Problems }

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, Problem{Path: path, Message: msg})
}

// required reports an empty s and tells whether s is there to check further.
func (v *validator) required(path, s string) bool {
	if s == "" {
		v.add(path, "required")
	}
	return s != ""
}

// token checks identifier and sender, which CAP keeps free of separators
// because references list them comma- and space-separated.
func (v *validator) token(path, s string) {
	if v.required(path, s) && strings.ContainsAny(s, " \t\r\n,<&") {
		v.add(path, fmt.Sprintf("%q must not contain spaces, commas, < or &", s))
	}
}

// enum checks that s is one of allowed (a method cannot be generic).
func enum[T ~string](v *validator, path string, s T, allowed []T) {
	if v.required(path, string(s)) && !slices.Contains(allowed, s) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		v.add(path, fmt.Sprintf("%q is not one of %s", s, strings.Join(names, ", ")))
	}
}

// time checks a dateTime if there is one, and returns it when valid.
func (v *validator) time(path, s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(s)
	if err != nil {
		v.add(path, err.Error())
		return time.Time{}, false
	}
	return t, true
}

// number checks a decimal if there is one, and tells whether it is valid.
func (v *validator) number(path, s string) bool {
	if s == "" {
		return false
	}
	if _, err := parseNumber(s); err != nil {
		v.add(path, fmt.Sprintf("%q is not a decimal number", s))
		return false
	}
	return true
}

// info checks one <info>; sent is the alert's sent time, zero if invalid.
func (v *validator) info(path string, in *Info, sent time.Time) {
	if in.Language != "" && !languageTag.MatchString(in.Language) {
		v.add(path+"/language", fmt.Sprintf("%q is not a language tag such as en-US", in.Language))
	}
	if len(in.Category) == 0 {
		v.add(path+"/category", "at least one category is required")
	}
	for j, c := range in.Category {
		enum(v, fmt.Sprintf("%s/category[%d]", path, j), c, categories)
	}
	v.required(path+"/event", in.Event)
	for j, r := range in.ResponseType {
		enum(v, fmt.Sprintf("%s/responseType[%d]", path, j), r, responseTypes)
	}
	enum(v, path+"/urgency", in.Urgency, urgencies)
	enum(v, path+"/severity", in.Severity, severities)
	enum(v, path+"/certainty", in.Certainty, certainties)

	v.valueNames(path+"/eventCode", in.EventCode)
	effective, hasEffective := v.time(path+"/effective", in.Effective)
	v.time(path+"/onset", in.Onset)
	if expires, ok := v.time(path+"/expires", in.Expires); ok {
		switch {
		case hasEffective && expires.Before(effective):
			v.add(path+"/expires", "is before effective")
		case !sent.IsZero() && expires.Before(sent):
			v.add(path+"/expires", "is before sent")
		}
	}

	v.valueNames(path+"/parameter", in.Parameter)
	for j, nv := range in.Parameter {
		if nv.ValueName == HANParameter {
			if _, err := ParseHANType(nv.Value); err != nil {
				v.add(fmt.Sprintf("%s/parameter[%d]/value", path, j), err.Error())
			}
		}
	}
	for j := range in.Resource {
		v.resource(fmt.Sprintf("%s/resource[%d]", path, j), &in.Resource[j])
	}
	for j := range in.Area {
		v.area(fmt.Sprintf("%s/area[%d]", path, j), &in.Area[j])
	}
}

// valueNames checks that each eventCode, parameter or geocode says what its
// value is; a value without its system's name cannot be interpreted.
func (v *validator) valueNames(path string, nvs []NamedValue) {
	for j, nv := range nvs {
		v.required(fmt.Sprintf("%s[%d]/valueName", path, j), nv.ValueName)
	}
}

func (v *validator) resource(path string, r *Resource) {
	v.required(path+"/resourceDesc", r.ResourceDesc)
	v.required(path+"/mimeType", r.MimeType)
	if r.Size != "" && strings.Trim(r.Size, "0123456789") != "" {
		v.add(path+"/size", fmt.Sprintf("%q is not a whole number of bytes", r.Size))
	}
}

func (v *validator) area(path string, ar *Area) {
	v.required(path+"/areaDesc", ar.AreaDesc)
	for k, p := range ar.Polygon {
		if _, err := ParsePolygon(p); err != nil {
			v.add(fmt.Sprintf("%s/polygon[%d]", path, k), err.Error())
		}
	}
	for k, c := range ar.Circle {
		if _, _, err := ParseCircle(c); err != nil {
			v.add(fmt.Sprintf("%s/circle[%d]", path, k), err.Error())
		}
	}
	v.valueNames(path+"/geocode", ar.Geocode)
	v.number(path+"/altitude", ar.Altitude)
	if v.number(path+"/ceiling", ar.Ceiling) && ar.Altitude == "" {
		v.add(path+"/ceiling", "requires altitude")
	}
}
