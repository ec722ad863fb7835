// Package templates holds the alert templates officers start from in the
// console: the event, CAP codes and texts of a common public health alert
// in several languages, with fill-in fields ({{name}}) for what changes
// from one alert to the next. Herald ships a default set; YAML files in
// <data_dir>/templates/ add to it or replace a default with the same id.
//
// A template only pre-fills the console's form: the alert that is signed
// and submitted is the CAP the officer saw, checked by intake like any
// other. This package does not build or sign alerts.
package templates

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

//go:embed defaults/*.yaml
var defaults embed.FS

// Template is one alert template.
type Template struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// Event, Category, Urgency, Severity, Certainty and ResponseType are
	// the CAP <info> codes, the same in every language.
	Event        string   `yaml:"event" json:"event"`
	Category     []string `yaml:"category" json:"category"`
	ResponseType []string `yaml:"response_type" json:"response_type,omitempty"`
	Urgency      string   `yaml:"urgency" json:"urgency"`
	Severity     string   `yaml:"severity" json:"severity"`
	Certainty    string   `yaml:"certainty" json:"certainty"`
	// HANType is the CDC HAN message type the alert carries, if any.
	HANType string `yaml:"han_type" json:"han_type,omitempty"`
	// ExpiresIn is how long after sending the alert expires.
	ExpiresIn Duration `yaml:"expires_in" json:"expires_in"`
	Fields    []Field  `yaml:"fields" json:"fields"`
	// Texts are the words per language (BCP 47 tag).
	Texts map[string]Text `yaml:"texts" json:"texts"`
	// Source is where the template came from: "default" or a file name.
	Source string `yaml:"-" json:"source"`
}

// Field is a fill-in field: {{name}} in the texts.
type Field struct {
	Name    string `yaml:"name" json:"name"`
	Label   string `yaml:"label" json:"label"`
	Default string `yaml:"default" json:"default,omitempty"`
	Help    string `yaml:"help" json:"help,omitempty"`
}

// Text is a template's words in one language.
type Text struct {
	Headline    string `yaml:"headline" json:"headline"`
	Description string `yaml:"description" json:"description"`
	Instruction string `yaml:"instruction" json:"instruction,omitempty"`
	// WEA is the Wireless Emergency Alert text (CAP parameter CMAMtext, at
	// most 90 characters once filled), for officers who also send through
	// IPAWS; optional.
	WEA string `yaml:"wea" json:"wea,omitempty"`
}

// Duration is a time.Duration written as "48h" in YAML and as seconds in
// JSON (for the browser).
type Duration time.Duration

// UnmarshalYAML reads "48h", "90m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 48h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes whole seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%d", int64(time.Duration(d)/time.Second)), nil
}

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	fieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	placeholder  = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

// Load returns the default templates and those of dir's *.yaml files (dir
// may be absent), sorted by name. A file's template replaces a default
// with the same id. A bad file is an error naming it and the problem.
func Load(dir string) ([]Template, error) {
	byID := map[string]Template{}
	dflt, _ := fs.Glob(defaults, "defaults/*.yaml")
	for _, name := range dflt {
		b, _ := defaults.ReadFile(name)
		t, err := parse(b, "default")
		if err != nil {
			return nil, fmt.Errorf("default template %s: %w", name, err)
		}
		byID[t.ID] = t
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("templates %s: %w", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		t, err := parse(b, filepath.Base(f))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		byID[t.ID] = t
	}
	out := make([]Template, 0, len(byID))
	for _, t := range byID {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func parse(b []byte, source string) (Template, error) {
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return Template{}, err
	}
	t.Source = source
	return t, t.check()
}

// check applies the rules: a token-safe id, a name, declared fields only,
// and codes and texts that make a valid CAP 1.2 alert.
func (t *Template) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !idPattern.MatchString(t.ID) {
		bad("id %q: use lowercase letters, digits, - and _ (at most 64)", t.ID)
	}
	if strings.TrimSpace(t.Name) == "" {
		bad("name: required")
	}
	if t.ExpiresIn <= 0 {
		bad("expires_in: required, such as 24h")
	}
	if len(t.Texts) == 0 {
		bad("texts: at least one language")
	}
	declared := map[string]bool{}
	for i, f := range t.Fields {
		switch {
		case !fieldPattern.MatchString(f.Name):
			bad("fields[%d].name %q: use lowercase letters, digits and _ starting with a letter", i, f.Name)
		case declared[f.Name]:
			bad("fields[%d].name %q: declared twice", i, f.Name)
		case strings.TrimSpace(f.Label) == "":
			bad("fields[%d].label: required", i)
		}
		declared[f.Name] = true
	}
	langs := make([]string, 0, len(t.Texts))
	for lang := range t.Texts {
		langs = append(langs, lang)
	}
	slices.Sort(langs)
	for _, lang := range langs {
		tx := t.Texts[lang]
		for what, s := range map[string]string{"headline": tx.Headline, "description": tx.Description, "instruction": tx.Instruction, "wea": tx.WEA} {
			for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
				if !declared[m[1]] {
					bad("texts.%s.%s: {{%s}} is not a declared field", lang, what, m[1])
				}
			}
		}
		if strings.TrimSpace(tx.Headline) == "" || strings.TrimSpace(tx.Description) == "" {
			bad("texts.%s: headline and description are required", lang)
		}
		if n := utf8.RuneCountInString(t.Fill(tx.WEA, nil)); n > cap.WEAShortMax {
			bad("texts.%s.wea: %d characters with the fields' defaults; WEA allows %d", lang, n, cap.WEAShortMax)
		}
	}
	if len(errs) == 0 {
		if err := t.validCAP(langs); err != nil {
			bad("%v", err)
		}
	}
	return errors.Join(errs...)
}

// validCAP builds the alert the template would give (fields at their
// defaults, a placeholder area) and validates it as CAP 1.2, so a template
// with a bad code fails when it is loaded, not when an officer sends it.
func (t *Template) validCAP(langs []string) error {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := cap.Alert{Identifier: "template-check", Sender: "templates@herald.invalid", Sent: cap.FormatTime(now),
		Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: cap.ScopePublic}
	for _, lang := range langs {
		tx := t.Texts[lang]
		info := cap.Info{Language: lang, Category: t.Category, Event: t.Event, ResponseType: t.ResponseType,
			Urgency: cap.Urgency(t.Urgency), Severity: cap.Severity(t.Severity), Certainty: cap.Certainty(t.Certainty),
			Expires: cap.FormatTime(now.Add(time.Duration(t.ExpiresIn))), SenderName: "Herald",
			Headline: t.Fill(tx.Headline, nil), Description: t.Fill(tx.Description, nil), Instruction: t.Fill(tx.Instruction, nil),
			Area: []cap.Area{{AreaDesc: "check", Circle: []string{"47.6,-122.3 1"}}}}
		if t.HANType != "" {
			info.Parameter = append(info.Parameter, cap.NamedValue{ValueName: cap.HANParameter, Value: t.HANType})
		}
		if tx.WEA != "" {
			info.Parameter = append(info.Parameter, cap.NamedValue{ValueName: "CMAMtext", Value: t.Fill(tx.WEA, nil)})
		}
		a.Info = append(a.Info, info)
	}
	b, err := cap.Marshal(&a)
	if err != nil {
		return err
	}
	_, problems, err := cap.Check(b)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// Fill replaces {{name}} in s with values[name], or the field's default
// when values has none. The console does the same in the browser.
func (t *Template) Fill(s string, values map[string]string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if v, ok := values[name]; ok {
			return v
		}
		for _, f := range t.Fields {
			if f.Name == name {
				return cmp.Or(f.Default, "["+f.Label+"]")
			}
		}
		return m
	})
}
