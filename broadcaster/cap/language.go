package cap

import (
	"regexp"
	"strings"
)

// DefaultLanguage is what an <info> without <language> is in, per CAP.
const DefaultLanguage = "en-US"

// languageTag is the schema's xs:language: RFC 3066 syntax, which BCP 47
// tags also follow. It checks the shape, not the registry.
var languageTag = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)

// Lang is the info's language, DefaultLanguage when it has none.
func (i *Info) Lang() string {
	if i.Language == "" {
		return DefaultLanguage
	}
	return i.Language
}

// InfoFor returns the info for a reader of language lang (a BCP 47 tag):
// the one whose language matches exactly (ignoring case), else the first
// with the same primary subtag ("es" matches "es-US"), else the first info.
// It returns nil when the alert has no info.
func (a *Alert) InfoFor(lang string) *Info {
	if len(a.Info) == 0 {
		return nil
	}
	primary, _, _ := strings.Cut(lang, "-")
	match := &a.Info[0]
	samePrimary := false
	for i := range a.Info {
		have := a.Info[i].Lang()
		if strings.EqualFold(have, lang) {
			return &a.Info[i]
		}
		if havePrimary, _, _ := strings.Cut(have, "-"); !samePrimary && strings.EqualFold(havePrimary, primary) {
			match, samePrimary = &a.Info[i], true
		}
	}
	return match
}
