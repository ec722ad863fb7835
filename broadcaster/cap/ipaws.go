package cap

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The IPAWS-OPEN CAP profile (v1.0) values Herald checks. A profile adds
// to CAP; breaking it does not make an alert invalid CAP, so these are
// warnings for an officer who also sends through IPAWS.
const (
	ipawsCode        = "IPAWSv1.0"
	wmaShortMax      = 90  // CMAMtext
	wmaLongMax       = 360 // CMAMlongtext
	paramCMAMText    = "CMAMtext"
	paramCMAMLong    = "CMAMlongtext"
	sameValueName    = "SAME"
	ipawsEnglishLang = "en-US"
)

var (
	sameEvent   = regexp.MustCompile(`^[A-Z]{3}$`)
	sameGeocode = regexp.MustCompile(`^\d{6}$`)
)

// IPAWSWarnings reports, with element paths, what the IPAWS-OPEN CAP
// profile asks of a that a is missing: the IPAWSv1.0 code, an English
// info, an expiry, a SAME event code, SAME geocodes for every area, and,
// for Wireless Emergency Alerts, CMAMtext (at most 90 characters) or
// CMAMlongtext (at most 360) and an urgency, severity and certainty WEA
// allows.
func (a *Alert) IPAWSWarnings() Problems {
	var w Problems
	add := func(path, format string, args ...any) {
		w = append(w, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(a.Code, ipawsCode) {
		add("alert/code", "IPAWS requires <code>%s</code>", ipawsCode)
	}
	if strings.HasSuffix(a.Sent, "+00:00") {
		add("alert/sent", "write UTC as -00:00, as CAP and IPAWS do")
	}
	english := false
	for i := range a.Info {
		in := &a.Info[i]
		path := fmt.Sprintf("alert/info[%d]", i)
		if strings.EqualFold(in.Lang(), ipawsEnglishLang) {
			english = true
		}
		if in.Expires == "" {
			add(path+"/expires", "IPAWS requires an expiry")
		}
		if !slices.ContainsFunc(in.EventCode, func(v NamedValue) bool { return v.ValueName == sameValueName && sameEvent.MatchString(v.Value) }) {
			add(path+"/eventCode", "IPAWS requires a SAME event code (valueName SAME, three capital letters, e.g. BWW)")
		}
		short, long := in.WEA()
		switch n := utf8.RuneCountInString(short); {
		case short == "":
			add(path+"/parameter", "no CMAMtext: a Wireless Emergency Alert needs the officer's own text of at most %d characters", wmaShortMax)
		case n > wmaShortMax:
			add(path+"/parameter", "CMAMtext has %d characters; WEA allows %d", n, wmaShortMax)
		}
		if n := utf8.RuneCountInString(long); n > wmaLongMax {
			add(path+"/parameter", "CMAMlongtext has %d characters; WEA allows %d", n, wmaLongMax)
		}
		if in.Urgency != UrgencyImmediate && in.Urgency != UrgencyExpected {
			add(path+"/urgency", "%q does not qualify for WEA (Immediate or Expected)", in.Urgency)
		}
		if in.Severity != SeverityExtreme && in.Severity != SeveritySevere {
			add(path+"/severity", "%q does not qualify for WEA (Extreme or Severe)", in.Severity)
		}
		if in.Certainty != CertaintyObserved && in.Certainty != CertaintyLikely {
			add(path+"/certainty", "%q does not qualify for WEA (Observed or Likely)", in.Certainty)
		}
		for j, ar := range in.Area {
			if !slices.ContainsFunc(ar.Geocode, func(v NamedValue) bool { return v.ValueName == sameValueName && sameGeocode.MatchString(v.Value) }) {
				add(fmt.Sprintf("%s/area[%d]/geocode", path, j), "IPAWS requires SAME geocodes (valueName SAME, six digits) for every area")
			}
		}
	}
	if len(a.Info) > 0 && !english {
		add("alert/info", "IPAWS requires an <info> in %s", ipawsEnglishLang)
	}
	return w
}

// WEA limits: the characters of a Wireless Emergency Alert's text and of
// its long (4G/5G) text.
const (
	WEAShortMax = wmaShortMax
	WEALongMax  = wmaLongMax
)

// WEA returns the info's Wireless Emergency Alert texts, as the IPAWS
// profile carries them: parameters CMAMtext (at most 90 characters) and
// CMAMlongtext (at most 360); "" for one the info lacks.
func (in *Info) WEA() (short, long string) {
	for _, p := range in.Parameter {
		switch p.ValueName {
		case paramCMAMText:
			short = p.Value
		case paramCMAMLong:
			long = p.Value
		}
	}
	return short, long
}
