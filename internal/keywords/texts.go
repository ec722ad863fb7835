package keywords

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Message ids: which reply to send. texts.yaml says when each one applies.
const (
	MsgJoined         = "joined"          // vars: sender, zip
	MsgJoinedNoZIP    = "joined_no_zip"   // vars: sender
	MsgUnknownZIP     = "unknown_zip"     // vars: sender, zip
	MsgStopped        = "stopped"         // vars: sender
	MsgStarted        = "started"         // vars: sender
	MsgHelp           = "help"            // vars: sender, contact
	MsgLangSet        = "lang_set"        // vars: sender, language
	MsgLangUnknown    = "lang_unknown"    // vars: sender
	MsgLangNoTexts    = "lang_no_texts"   // vars: sender, language, languages
	MsgUnknownCommand = "unknown_command" // vars: sender
	MsgAckRecorded    = "ack_recorded"    // vars: sender, hospital
	MsgAckUnknown     = "ack_unknown"     // vars: sender
)

var messageIDs = []string{
	MsgJoined, MsgJoinedNoZIP, MsgUnknownZIP, MsgStopped, MsgStarted,
	MsgHelp, MsgLangSet, MsgLangUnknown, MsgLangNoTexts, MsgUnknownCommand,
	MsgAckRecorded, MsgAckUnknown,
}

// Placeholder names a text may use, as {name}.
var placeholders = []string{"sender", "contact", "zip", "language", "languages", "hospital"}

// fallbackLanguage has every message, so every reply has a text.
const fallbackLanguage = "en"

//go:embed texts.yaml
var embeddedTexts []byte

// Texts are the replies to inbound keywords, per language. A Texts is
// read-only, so it is safe for concurrent use.
type Texts struct {
	byLang map[string]map[string]string // lower-case canonical tag -> id -> text
}

// LoadTexts returns the texts embedded from texts.yaml.
func LoadTexts() (*Texts, error) {
	t, err := parseTexts(embeddedTexts)
	if err != nil {
		return nil, fmt.Errorf("keywords: embedded texts.yaml: %w", err)
	}
	return t, nil
}

// ParseTexts reads texts in the format of texts.yaml: a map from language
// tag to a map from message id to text. It refuses unknown message ids and
// placeholders, so that a typo in a translation fails at start-up instead of
// reaching a resident, and it requires English to have every message.
func ParseTexts(data []byte) (*Texts, error) {
	t, err := parseTexts(data)
	if err != nil {
		return nil, fmt.Errorf("keywords: texts: %w", err)
	}
	return t, nil
}

func parseTexts(data []byte) (*Texts, error) {
	var raw map[string]map[string]string
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err // yaml's errors name the line
	}
	t := &Texts{byLang: make(map[string]map[string]string, len(raw))}
	for lang, msgs := range raw {
		tag, err := language.Parse(lang)
		if err != nil {
			return nil, fmt.Errorf("language %q: %w", lang, err)
		}
		key := strings.ToLower(tag.String())
		if _, dup := t.byLang[key]; dup {
			return nil, fmt.Errorf("language %q: listed twice (as %s)", lang, tag)
		}
		for id, text := range msgs {
			if !slices.Contains(messageIDs, id) {
				return nil, fmt.Errorf("%s: unknown message id %q", lang, id)
			}
			if err := checkText(text); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", lang, id, err)
			}
		}
		t.byLang[key] = msgs
	}
	for _, id := range messageIDs {
		if _, ok := t.byLang[fallbackLanguage][id]; !ok {
			return nil, fmt.Errorf("%s: no %q message (English must have all)", fallbackLanguage, id)
		}
	}
	return t, nil
}

// checkText refuses empty texts and braces that are not known placeholders.
func checkText(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("empty")
	}
	for rest := text; ; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			return nil
		}
		if rest[i] == '}' {
			return errors.New("'}' without '{'")
		}
		name, after, ok := strings.Cut(rest[i+1:], "}")
		if !ok {
			return errors.New("'{' without '}'")
		}
		if !slices.Contains(placeholders, name) {
			return fmt.Errorf("unknown placeholder {%s} (want one of %s)", name, strings.Join(placeholders, ", "))
		}
		rest = after
	}
}

// Has reports whether Herald has replies in lang (or its primary
// language): "es-MX" has Spanish's.
func (t *Texts) Has(lang string) bool {
	tag, err := language.Parse(lang)
	if err != nil {
		return false
	}
	base, _ := tag.Base()
	for l := range t.byLang {
		if lt, err := language.Parse(l); err == nil {
			if b, _ := lt.Base(); b == base {
				return true
			}
		}
	}
	return false
}

// Languages lists the languages Herald has replies in, sorted.
func (t *Texts) Languages() []string {
	out := make([]string, 0, len(t.byLang))
	for l := range t.byLang {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Reply returns message id in language lang with its {placeholders} filled
// from vars; a placeholder missing from vars becomes "". When lang has no
// such message, Reply tries lang without its last subtag ("es-MX" -> "es"),
// and so on, then English. It returns "" only for an unknown id.
func (t *Texts) Reply(lang, id string, vars map[string]string) string {
	l := strings.ToLower(strings.ReplaceAll(lang, "_", "-"))
	if tag, err := language.Parse(l); err == nil {
		l = strings.ToLower(tag.String()) // "spa" and "es" find the same texts
	}
	for l != "" {
		if text, ok := t.byLang[l][id]; ok {
			return expand(text, vars)
		}
		i := strings.LastIndexByte(l, '-')
		if i < 0 {
			break
		}
		l = l[:i]
	}
	if text, ok := t.byLang[fallbackLanguage][id]; ok {
		return expand(text, vars)
	}
	return ""
}

// expand fills placeholders in one pass, so braces inside a value are never
// taken for a placeholder. ParseTexts made sure every brace pair is one.
func expand(text string, vars map[string]string) string {
	var b strings.Builder
	for {
		before, after, ok := strings.Cut(text, "{")
		b.WriteString(before)
		if !ok {
			return b.String()
		}
		name, rest, _ := strings.Cut(after, "}")
		b.WriteString(vars[name])
		text = rest
	}
}
