package keywords

import (
	"strings"
	"testing"

	"github.com/herald-alerts/herald/internal/render"
)

func texts(t testing.TB) *Texts {
	t.Helper()
	tx, err := LoadTexts()
	if err != nil {
		t.Fatalf("LoadTexts: %v", err)
	}
	return tx
}

// TestEmbeddedTextsFit checks every shipped text against the rules in
// texts.yaml: translated fully, GSM-7, one segment with a typical sender and
// contact, two at most with long ones.
func TestEmbeddedTextsFit(t *testing.T) {
	tx := texts(t)
	typical := map[string]string{"sender": "King County Health", "contact": "206-296-4600", "zip": "98101", "language": "es-MX"}
	long := map[string]string{
		"sender":  "Washington State Department of Health",
		"contact": "1-800-525-0127 or doh.wa.gov/emergencies",
		"zip":     "98101", "language": "zh-Hant-TW",
	}
	for lang, msgs := range tx.byLang {
		for _, id := range messageIDs {
			t.Run(lang+"/"+id, func(t *testing.T) {
				raw, ok := msgs[id]
				if !ok {
					t.Fatalf("no %q text: shipped languages must be complete", id)
				}
				if !render.IsGSM7(raw) {
					t.Errorf("%q is not GSM-7 (á í ó ú and the like turn the reply into UCS-2)", raw)
				}
				text := tx.Reply(lang, id, typical)
				if n, enc := render.Segments(text); n != 1 || enc != render.GSM7 {
					t.Errorf("with a typical sender: %d %v segments (%d chars), want 1 GSM-7: %q", n, enc, len([]rune(text)), text)
				}
				text = tx.Reply(lang, id, long)
				if n, _ := render.Segments(text); n > 2 {
					t.Errorf("with a long sender: %d segments, want at most 2: %q", n, text)
				}
			})
		}
	}
}

func TestShippedLanguages(t *testing.T) {
	tx := texts(t)
	for _, lang := range []string{"en", "es"} {
		if _, ok := tx.byLang[lang]; !ok {
			t.Errorf("no %s texts", lang)
		}
	}
}

func TestReplyFallback(t *testing.T) {
	tx := texts(t)
	en := tx.byLang["en"][MsgHelp]
	es := tx.byLang["es"][MsgHelp]
	tests := []struct {
		name, lang, id, want string
	}{
		{"english", "en", MsgHelp, en},
		{"spanish", "es", MsgHelp, es},
		{"regional spanish falls back to spanish", "es-MX", MsgHelp, es},
		{"case and underscore", "ES_mx", MsgHelp, es},
		{"three-letter code", "spa", MsgHelp, es},
		{"script and region", "es-Latn-US", MsgHelp, es},
		{"language without texts falls back to english", "fr", MsgHelp, en},
		{"regional english", "en-GB", MsgHelp, en},
		{"empty language", "", MsgHelp, en},
		{"not a tag", "!!", MsgHelp, en},
		{"unknown message", "es", "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tx.Reply(tt.lang, tt.id, nil); got != expand(tt.want, nil) {
				t.Errorf("Reply(%q, %q) = %q, want %q", tt.lang, tt.id, got, expand(tt.want, nil))
			}
		})
	}
}

func TestReplyPlaceholders(t *testing.T) {
	tx, err := ParseTexts([]byte(`en: {joined: "{sender}: ZIP {zip}, {language}. Call {contact}.", joined_no_zip: a, unknown_zip: a, stopped: a, started: a, help: a, lang_set: a, lang_unknown: a, lang_no_texts: a, unknown_command: a, ack_recorded: a, ack_unknown: a}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"all", map[string]string{"sender": "KCPH", "zip": "98101", "language": "en", "contact": "911"}, "KCPH: ZIP 98101, en. Call 911."},
		{"missing become empty", map[string]string{"sender": "KCPH"}, "KCPH: ZIP , . Call ."},
		{"nil vars", nil, ": ZIP , . Call ."},
		{"braces in a value stay", map[string]string{"sender": "{zip}", "zip": "1"}, "{zip}: ZIP 1, . Call ."},
		{"extra vars ignored", map[string]string{"other": "x"}, ": ZIP , . Call ."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tx.Reply("en", MsgJoined, tt.vars); got != tt.want {
				t.Errorf("Reply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTextsErrors(t *testing.T) {
	complete := func(lang string) string {
		var b strings.Builder
		b.WriteString(lang + ":\n")
		for _, id := range messageIDs {
			b.WriteString("  " + id + ": ok\n")
		}
		return b.String()
	}
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"not yaml", "en: [", "keywords: texts: yaml:"},
		{"not a map of maps", "en: hello", "cannot unmarshal"},
		{"no english", complete("es"), `en: no "joined" message`},
		{"english incomplete", "en: {joined: hi}", `en: no "joined_no_zip" message`},
		{"bad language tag", complete("en") + "not a tag!: {help: x}", `language "not a tag!"`},
		{"language twice", complete("en") + "es: {help: x}\nES: {help: y}", "listed twice"},
		{"unknown message id", complete("en") + "es: {helpp: x}", `es: unknown message id "helpp"`},
		{"empty text", complete("en") + "es: {help: ' '}", "es: help: empty"},
		{"unknown placeholder", complete("en") + "es: {help: '{name}'}", "es: help: unknown placeholder {name}"},
		{"unclosed brace", complete("en") + "es: {help: 'a {sender'}", "'{' without '}'"},
		{"stray closing brace", complete("en") + "es: {help: 'a } b'}", "'}' without '{'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTexts([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTexts error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ParseTexts([]byte(complete("en"))); err != nil {
		t.Errorf("complete English: %v", err)
	}
}

// FuzzParseTexts checks that accepted texts always give a reply.
func FuzzParseTexts(f *testing.F) {
	f.Add(embeddedTexts)
	f.Add([]byte("en: {joined: '{sender} {zip'}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := ParseTexts(data)
		if err != nil {
			return
		}
		vars := map[string]string{}
		for _, p := range placeholders {
			vars[p] = "x"
		}
		for lang := range tx.byLang {
			for _, id := range messageIDs {
				if tx.Reply(lang, id, vars) == "" {
					t.Fatalf("Reply(%q, %q) is empty", lang, id)
				}
			}
		}
	})
}
